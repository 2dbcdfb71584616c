"""Scorers for GridSearchCV, cross_validate and TunedThresholdClassifierCV."""

import re

from sklearn.metrics import get_scorer as sklearn_get_scorer
from sklearn.metrics import make_scorer

from .._compat import validate_params
from ._checks import POS_LABEL, check_fraction
from ._clinical import (
    npv_score,
    ppv_score,
    screening_objective,
    sensitivity_score,
    specificity_score,
)
from ._threshold import specificity_at_sensitivity

_LABEL_METRICS = {
    "sensitivity": sensitivity_score,
    "specificity": specificity_score,
    "ppv": ppv_score,
    "npv": npv_score,
}
_AT_SENSITIVITY = re.compile(r"^specificity_at_sensitivity_(\d+)$")
_SCREENING_NAMES = [*_LABEL_METRICS, "specificity_at_sensitivity_<percent>"]


@validate_params({"pos_label": POS_LABEL}, prefer_skip_nested_validation=True)
def make_screening_scorer(min_sensitivity=0.95, *, pos_label=None):
    """Scorer maximised by the most specific threshold with enough sensitivity.

    Wraps :func:`screening_objective` for
    :class:`~sklearn.model_selection.TunedThresholdClassifierCV`.

    Parameters
    ----------
    min_sensitivity : float, default=0.95
        The sensitivity target, a fraction in (0, 1] (0.95, not 95).
    pos_label : int, float, bool, str or None, default=None
        The diseased class (``"PNEUMONIA"`` for string labels). None means 1,
        for labels 0/1, -1/1 or False/True only (as scikit-learn's
        ``roc_curve``); other labels must name it.

    Returns
    -------
    scorer : callable
        A scikit-learn scorer ``scorer(estimator, X, y)``.

    Examples
    --------
    >>> from sklearn.model_selection import TunedThresholdClassifierCV
    >>> scorer = make_screening_scorer(0.95, pos_label="PNEUMONIA")
    >>> # TunedThresholdClassifierCV(model, scoring=scorer, cv=StratifiedGroupKFold(5))
    """
    min_sensitivity = check_fraction(min_sensitivity, "min_sensitivity")
    return make_scorer(screening_objective, min_sensitivity=min_sensitivity, pos_label=pos_label)


@validate_params({"pos_label": POS_LABEL}, prefer_skip_nested_validation=True)
def get_screening_scorer(scoring, *, pos_label=None):
    """A scorer by name: skcxr's screening scorers and all of scikit-learn's.

    A superset of :func:`sklearn.metrics.get_scorer`: the screening names
    ``"sensitivity"``, ``"specificity"``, ``"ppv"``, ``"npv"`` and
    ``"specificity_at_sensitivity_<percent>"`` (threshold-free, from
    ``predict_proba``, e.g. ``"specificity_at_sensitivity_95"``) are built
    here with ``pos_label``; every other value (``"roc_auc"``, a callable,
    ``None``) is passed to :func:`sklearn.metrics.get_scorer` unchanged, so
    importing this function in place of scikit-learn's loses nothing.

    Parameters
    ----------
    scoring : str, callable or None
        Scorer name, or what :func:`sklearn.metrics.get_scorer` accepts.
    pos_label : int, float, bool, str or None, default=None
        The diseased class, for the screening names. scikit-learn's own scorers
        choose their positive class themselves, so for them any other value
        than None or 1 is a ``ValueError`` rather than silently ignored
        (build them with :func:`sklearn.metrics.make_scorer`). None means 1,
        for labels 0/1, -1/1 or False/True only (as scikit-learn's
        ``roc_curve``); other labels must name it.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, as scikit-learn's scorers.

    Examples
    --------
    >>> scorer = get_screening_scorer("specificity_at_sensitivity_95", pos_label="PNEUMONIA")
    >>> get_screening_scorer("roc_auc")
    make_scorer(roc_auc_score, response_method=('decision_function', 'predict_proba'))
    """
    if isinstance(scoring, str) and scoring in _LABEL_METRICS:
        # "warn": a fold where the metric is undefined (no diseased case for sensitivity)
        # scores 0.0 as before, but says so (UndefinedMetricWarning), as scikit-learn's do.
        return make_scorer(_LABEL_METRICS[scoring], pos_label=pos_label, zero_division="warn")
    match = _AT_SENSITIVITY.match(scoring) if isinstance(scoring, str) else None
    if match:
        percent = int(match.group(1))
        if not 0 < percent <= 100:
            raise ValueError(
                f"Scorer {scoring!r} asks for {percent}% sensitivity; the percentage must be "
                "in 1-100, e.g. 'specificity_at_sensitivity_95'."
            )
        return make_scorer(
            specificity_at_sensitivity, response_method="predict_proba",
            min_sensitivity=percent / 100, pos_label=pos_label,
        )
    if pos_label not in (None, 1):
        raise ValueError(
            f"pos_label={pos_label!r} applies only to skcxr's screening scorers "
            f"{_SCREENING_NAMES}; scikit-learn's scorer {scoring!r} chooses its positive "
            "class itself. Build it with sklearn.metrics.make_scorer(..., pos_label=...)."
        )
    try:
        return sklearn_get_scorer(scoring)
    except ValueError as exc:
        raise ValueError(
            f"Unknown scorer {scoring!r}: neither one of skcxr's screening scorers "
            f"{_SCREENING_NAMES} nor one of scikit-learn's "
            "(sklearn.metrics.get_scorer_names())."
        ) from exc


@validate_params({"pos_label": POS_LABEL}, prefer_skip_nested_validation=True)
def screening_scorers(*, pos_label=None, min_sensitivity=0.95):
    """A dict of scorers for multi-metric search: AUC and the clinical metrics.

    Parameters
    ----------
    pos_label : int, float, bool, str or None, default=None
        The diseased class (``"PNEUMONIA"`` for string labels). None means 1,
        for labels 0/1, -1/1 or False/True only (as scikit-learn's
        ``roc_curve``); other labels must name it.
    min_sensitivity : float, default=0.95
        Target of the ``"specificity_at_sensitivity_<percent>"`` entry, a
        fraction in (0, 1].

    Returns
    -------
    scorers : dict
        Name to scorer, for ``scoring=`` of a search or ``cross_validate``.

    Examples
    --------
    >>> sorted(screening_scorers(pos_label="PNEUMONIA"))  # doctest: +NORMALIZE_WHITESPACE
    ['npv', 'ppv', 'roc_auc', 'sensitivity', 'specificity', 'specificity_at_sensitivity_95']
    """
    min_sensitivity = check_fraction(min_sensitivity, "min_sensitivity")
    scorers = {"roc_auc": "roc_auc"}
    for name in _LABEL_METRICS:
        scorers[name] = get_screening_scorer(name, pos_label=pos_label)
    # Built here rather than by name so that a target such as 0.955 is kept exactly.
    scorers[f"specificity_at_sensitivity_{100 * min_sensitivity:g}"] = make_scorer(
        specificity_at_sensitivity, response_method="predict_proba",
        min_sensitivity=min_sensitivity, pos_label=pos_label,
    )
    return scorers
