"""The import structure of skcxr, read from the source with ``ast`` (nothing is imported).

Two rules keep the subpackages separable:

* the graph of subpackages (``skcxr.X`` imports ``skcxr.Y``) has no cycle, so each
  can be read, tested and changed knowing only what lies below it;
* no module imports another subpackage's private module (``skcxr.a._b`` from outside
  ``skcxr.a``): what a subpackage offers the others is what its ``__init__`` exports.
  The top-level private modules in ``SHARED_PRIVATE`` are shared plumbing that any
  subpackage may import.

Every import counts, at module level or inside a function (a lazy import is still a
dependency), and ``if TYPE_CHECKING:`` blocks too.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skcxr"
SHARED_PRIVATE = {"skcxr._compat", "skcxr._lazy", "skcxr._versioning"}


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(path):
    return path.name == "__init__.py"


def _imports(path):
    """Absolute names of the modules ``path`` imports (``from a import b`` yields a and a.b)."""
    module = _module_name(path)
    package = module if _is_package(path) else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            found.add(source)
            # `from skcxr.screener import _card` imports the module skcxr.screener._card.
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "skcxr" or name.startswith("skcxr.")}


def _lazy_attributes(path):
    """``{name: module}`` of the names a package's ``attach(...)`` call loads on first use."""
    module = _module_name(path)
    found = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "attach":
            for keyword in node.keywords:
                if keyword.arg == "attributes" and isinstance(keyword.value, ast.Dict):
                    for key, names in zip(keyword.value.keys, keyword.value.values):
                        for name in names.elts:
                            found[name.value] = module + key.value
                if keyword.arg == "submodules" and isinstance(keyword.value, ast.List):
                    found.update({elt.value: f"{module}.{elt.value}" for elt in keyword.value.elts})
    return found


def _resolved(targets, lazy):
    """Imports with lazily attached names replaced by the modules that define them.

    ``from skcxr import fit_screener`` depends on ``skcxr.site._fit``, and
    ``from ..screener import Screener`` on ``skcxr.screener._screener``, which is
    the owning subpackage: only names reached through another package's
    ``attach`` are resolved, and only to tell which subpackage they come from.
    """
    out = set()
    for target in targets:
        package, _, name = target.rpartition(".")
        out.add(target)
        if name in lazy.get(package, {}):
            out.add(lazy[package][name])
    return out


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
LAZY = {name: _lazy_attributes(path) for name, path in MODULES.items() if path.name == "__init__.py"}
# What each module names in its imports (a package's own attach(...) names its private
# modules), and, for the graph, the modules that lazily attached names come from.
IMPORTS = {name: _imports(path) | set(LAZY.get(name, {}).values()) for name, path in MODULES.items()}
DEPENDS = {name: _resolved(targets, LAZY) for name, targets in IMPORTS.items()}


def _subpackage(module):
    """``skcxr.X`` for a module at or below it; None for the top-level package itself."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else None


def _is_private(module):
    """Whether ``module`` is private: ``skcxr.a._b`` (below a subpackage) or ``skcxr._b``."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1].startswith("_") and not parts[1].startswith("__"):
        return ".".join(parts[:2]) not in SHARED_PRIVATE
    return any(part.startswith("_") for part in parts[2:])


def test_modules_are_found():
    assert "skcxr.classifier._classifier" in MODULES and "skcxr.screener" in MODULES
    assert "skcxr.screener._card" in IMPORTS["skcxr.screener"]  # lazy attach counts


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_of_another_subpackages_private_module(module):
    own = _subpackage(module)
    offending = sorted(
        target for target in IMPORTS[module]
        if target in MODULES and _subpackage(target) != own and _is_private(target)
    )
    assert not offending, (
        f"{module} imports private modules of other subpackages: {offending}. "
        "Import the name from the owning subpackage's public __init__ instead "
        "(export it there if it is needed outside).")


def _subpackage_graph():
    graph = {}
    for module, targets in DEPENDS.items():
        source = _subpackage(module)
        # Top-level modules (skcxr/__init__, skcxr/__main__, skcxr/_compat...) sit above
        # or beside the subpackages; only subpackage-to-subpackage edges form the graph.
        if source is None or source.split(".")[1].startswith("_") or source not in MODULES:
            continue
        for target in targets:
            dest = _subpackage(target)
            if dest and dest != source and dest in MODULES and not dest.split(".")[1].startswith("_"):
                graph.setdefault(source, set()).add(dest)
    return graph


def _find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_subpackage_graph_has_no_cycle():
    graph = _subpackage_graph()
    assert "skcxr.screener" in graph  # the graph is not empty by mistake
    cycle = _find_cycle(graph)
    assert cycle is None, "subpackages import each other in a cycle: " + " -> ".join(cycle)


def test_find_cycle_finds_one():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}}) is None
