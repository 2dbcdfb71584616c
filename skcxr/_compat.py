"""The one place skcxr imports scikit-learn's private API.

scikit-learn's parameter validation (``Interval``, ``StrOptions``,
``validate_params``, ...) is what its own estimators use, and skcxr's
estimators validate the same way; it lives in a private module that a
scikit-learn release may move. Every skcxr module imports it from here, so
such a move is mended in one file.
"""

from sklearn.utils._param_validation import (  # noqa: F401 - re-exported
    HasMethods,
    Hidden,
    Interval,
    Options,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)

__all__ = [
    "HasMethods",
    "Hidden",
    "Interval",
    "Options",
    "RealNotInt",
    "StrOptions",
    "validate_parameter_constraints",
    "validate_params",
]
