"""Lazy package attributes (PEP 562), as SciPy and scikit-image load theirs.

``import skcxr`` then costs almost nothing: torch, torchvision, scikit-learn
and SciPy are imported when a name that needs them is first used, so
``skcxr --help`` and ``skcxr info`` start at once.
"""

import importlib
import sys


def attach(package, *, submodules=(), attributes=None):
    """``(__getattr__, __dir__, __all__)`` for a package whose names live in submodules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    submodules : sequence of str, default=()
        Subpackages reachable as attributes (``skcxr.metrics``).
    attributes : dict, default=None
        ``{relative module (e.g. "._card"): [names defined there]}``.

    Returns
    -------
    getattr, dir, all : callable, callable, list of str
        ``__all__`` lists the attributes, not the submodules.
    """
    where = {name: module for module, names in (attributes or {}).items() for name in names}
    submodules = set(submodules)

    def __getattr__(name):
        if name in where:
            value = getattr(importlib.import_module(where[name], package), name)
        elif name in submodules:
            value = importlib.import_module(f".{name}", package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)  # looked up once, then a plain attribute
        return value

    def __dir__():
        return sorted(set(where) | submodules)

    return __getattr__, __dir__, sorted(where)
