"""skcxr's public API, walked as a user sees it: ``skcxr`` and its public subpackages.

A public name is one in a public module's ``__all__``; the subpackages load
lazily (``skcxr/_lazy.py``) and ``dir(module)`` lists what they offer. Shared by
tests/test_public_api.py (what is public, and documented once) and
tests/test_numpydoc.py (how each public callable is documented).
"""

import importlib
import types


def public_modules():
    """``skcxr`` and every public subpackage (or module) it lists in ``dir()``."""
    import skcxr

    modules = [skcxr]
    for name in dir(skcxr):
        if not name.startswith("_") and isinstance(getattr(skcxr, name), types.ModuleType):
            modules.append(importlib.import_module(f"skcxr.{name}"))
    return modules


def public_names():
    """``{"skcxr.sub.name": object}`` for every name in a public module's ``__all__``."""
    found = {}
    for module in public_modules():
        for name in module.__all__:
            if not name.startswith("__"):
                found[f"{module.__name__}.{name}"] = getattr(module, name)
    return found


def canonical_names():
    """One path per public object: the subpackage's (``skcxr.screener.Screener``), not the
    top-level shortcut (``skcxr.Screener``), unless the object is public at the top only."""
    by_id = {}
    for path, obj in sorted(public_names().items(), key=lambda item: (item[0].count(".") == 1,
                                                                       item[0])):
        by_id.setdefault(id(obj), (path, obj))
    return dict(by_id.values())


def public_methods(cls):
    """Public methods and properties that skcxr defines on ``cls`` (or on a skcxr base).

    What ``cls`` inherits unchanged from scikit-learn, skorch or torch is documented
    there; a skcxr override of such a method is skcxr's to document.
    """
    found = []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner = next((base for base in cls.__mro__ if name in vars(base)), None)
        if owner is None or not owner.__module__.startswith("skcxr"):
            continue
        # Dataclass fields and plain class attributes are data, documented as attributes.
        if isinstance(vars(owner)[name], property) or callable(getattr(cls, name, None)):
            found.append(name)
    return found
