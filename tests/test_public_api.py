"""What skcxr makes public: each public name listed once in docs/api.rst, none shadowing scikit-learn.

A public name is one in ``__all__`` of ``skcxr`` or of a public subpackage
(tests/public_api.py walks them). Internals that only the command line or the
tests use stay in private modules.
"""

import importlib
import pkgutil
import re
import types
import warnings

import pytest
from conftest import REPO_ROOT
from public_api import canonical_names, public_modules, public_names

API_RST = REPO_ROOT / "docs" / "api.rst"


def _documented():
    """``[(entry as written, resolved path)]`` of every autosummary entry of docs/api.rst."""
    entries, module, in_summary = [], None, False
    for line in API_RST.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match.group(1)
        elif line.startswith(".. autosummary::"):
            in_summary = True
        elif in_summary and re.match(r"   \w", line) and not line.strip().startswith(":"):
            entries.append((line.strip(), f"{module}.{line.strip()}"))
        elif line and not line.startswith(" "):
            in_summary = False
    return entries


def _resolve(path):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_all_matches_dir():
    # dir() of a lazy package lists its names and submodules; __all__ its names only.
    for module in public_modules():
        listed = {name for name in dir(module) if not name.startswith("_")}
        assert set(module.__all__) - {"__version__"} <= listed, module.__name__
        extra = {name for name in listed - set(module.__all__)
                 if not isinstance(getattr(module, name), types.ModuleType)}
        assert not extra, f"{module.__name__} offers {sorted(extra)} outside __all__"


def test_api_rst_lists_every_public_object_once():
    entries = _documented()
    assert entries, "no autosummary entry found in docs/api.rst"
    public = public_names()
    for written, path in entries:
        assert path in public, f"docs/api.rst lists {written!r} ({path}), which is not public"
    documented = [id(public[path]) for _, path in entries]
    repeated = sorted({path for _, path in entries if documented.count(id(public[path])) > 1})
    assert not repeated, f"docs/api.rst lists these objects more than once: {repeated}"
    missing = sorted(path for path, obj in canonical_names().items() if id(obj) not in documented)
    assert not missing, f"public names missing from docs/api.rst: {missing}"


def _sklearn_public_names():
    names = set()
    import sklearn

    for info in pkgutil.walk_packages(sklearn.__path__, "sklearn."):
        parts = info.name.split(".")
        # sklearn.externals vendors other projects (array_api_compat re-exports torch.export).
        if any(part.startswith("_") or part == "tests" for part in parts) or parts[1] == "externals":
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                module = importlib.import_module(info.name)
            except ImportError:  # an optional dependency of one module
                continue
        # __all__ is not always complete (sklearn.exceptions leaves out the documented
        # InconsistentVersionWarning): the public names a module defines count too.
        names.update(getattr(module, "__all__", ()))
        names.update(name for name, obj in vars(module).items()
                     if not name.startswith("_") and getattr(obj, "__module__", None) == info.name)
    return names


def test_no_public_name_shadows_a_scikit_learn_name():
    ours = {path.rpartition(".")[2] for path in public_names()} - {"__version__"}
    theirs = _sklearn_public_names()
    assert {"get_scorer", "get_data_home", "InconsistentVersionWarning"} <= theirs
    assert not ours & theirs, (
        f"{sorted(ours & theirs)} are scikit-learn names too: a user importing the wrong one "
        "gets no error, just other behaviour. Give skcxr's its own name.")


@pytest.mark.parametrize("path", sorted(public_names()))
def test_public_name_is_importable_from_its_module(path):
    assert _resolve(path) is public_names()[path]
