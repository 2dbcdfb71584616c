"""The one place skcxr imports scikit-learn's private API.

scikit-learn's parameter validation (``Interval``, ``StrOptions``,
``validate_params``, ...) is what its own estimators use, and skcxr's
estimators validate the same way: each declares ``_parameter_constraints``
and calls :func:`validate_estimator_params` first thing in ``fit`` (or
wherever it first uses its parameters); functions are decorated with
``validate_params``. It lives in a private module that a scikit-learn release
may move. Every skcxr module imports it from here, so such a move is mended
in one file.
"""

import numpy as np
from sklearn.utils._param_validation import (  # noqa: F401 - re-exported
    HasMethods,
    Hidden,
    Interval,
    InvalidParameterError,
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
    "InvalidParameterError",
    "Options",
    "RealNotInt",
    "StrOptions",
    "StrictInterval",
    "validate_estimator_params",
    "validate_parameter_constraints",
    "validate_params",
]


class StrictInterval(Interval):
    """scikit-learn's ``Interval`` constraint, refusing ``True`` and ``False``.

    ``Interval(Integral, 1, None, closed="left")`` takes ``True`` as 1; an image
    side, a pixel limit, a thread count or a threshold given as a bool is a
    mistake, not a number.
    """

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


def validate_estimator_params(estimator):
    """Check ``estimator``'s parameters against its ``_parameter_constraints``.

    What scikit-learn's estimators do at the start of ``fit``: a parameter of
    the wrong type or out of range is an ``InvalidParameterError`` (a
    ``ValueError`` and ``TypeError``) naming the parameter, the estimator,
    what it must be and what it got.

    Parameters
    ----------
    estimator : estimator
        With a ``_parameter_constraints`` dict and ``get_params``.
    """
    validate_parameter_constraints(estimator._parameter_constraints,
                                   estimator.get_params(deep=False),
                                   caller_name=type(estimator).__name__)
