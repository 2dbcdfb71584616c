"""Pickles record the skcxr version that wrote them; loading under another one warns."""

import warnings

from .exceptions import InconsistentSkcxrVersionWarning

_KEY = "_skcxr_version"


def current_version():
    from . import __version__  # the package's version, read at pickling time

    return __version__


class VersionedPickleMixin:
    """Put first among the bases of every skcxr estimator that can be pickled."""

    def __getstate__(self):
        state = super().__getstate__()
        state[_KEY] = current_version()
        return state

    def __setstate__(self, state):
        original = state.pop(_KEY, "unknown (before 0.1.0.dev0 recorded it)")
        if original != current_version():
            warnings.warn(InconsistentSkcxrVersionWarning(
                estimator_name=type(self).__name__, current_version=current_version(),
                original_version=original), stacklevel=2)
        super().__setstate__(state)
