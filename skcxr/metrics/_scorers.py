"""Scorers for GridSearchCV, cross_validate and TunedThresholdClassifierCV."""

import re

from sklearn.metrics import make_scorer

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


def make_screening_scorer(min_sensitivity=0.95, *, pos_label=1):
    """Scorer maximised by the most specific threshold with enough sensitivity.

    Wraps :func:`screening_objective` for
    :class:`~sklearn.model_selection.TunedThresholdClassifierCV`.

    Examples
    --------
    >>> from sklearn.model_selection import TunedThresholdClassifierCV
    >>> scorer = make_screening_scorer(0.95, pos_label="PNEUMONIA")
    >>> # TunedThresholdClassifierCV(model, scoring=scorer, cv=StratifiedGroupKFold(5))
    """
    return make_scorer(screening_objective, min_sensitivity=min_sensitivity, pos_label=pos_label)


def get_scorer(name, *, pos_label=1):
    """A scorer by name: ``"sensitivity"``, ``"specificity"``, ``"ppv"``,
    ``"npv"`` or ``"specificity_at_sensitivity_<percent>"`` (threshold-free,
    from ``predict_proba``, e.g. ``"specificity_at_sensitivity_95"``).

    Examples
    --------
    >>> scorer = get_scorer("specificity_at_sensitivity_95", pos_label="PNEUMONIA")
    """
    if name in _LABEL_METRICS:
        return make_scorer(_LABEL_METRICS[name], pos_label=pos_label, zero_division=0.0)
    match = _AT_SENSITIVITY.match(name)
    if match:
        return make_scorer(
            specificity_at_sensitivity, response_method="predict_proba",
            min_sensitivity=int(match.group(1)) / 100, pos_label=pos_label,
        )
    known = [*_LABEL_METRICS, "specificity_at_sensitivity_<percent>"]
    raise ValueError(f"Unknown screening scorer {name!r}; known: {known}.")


def screening_scorers(*, pos_label=1, min_sensitivity=0.95):
    """A dict of scorers for multi-metric search: AUC and the clinical metrics.

    Examples
    --------
    >>> sorted(screening_scorers(pos_label="PNEUMONIA"))  # doctest: +NORMALIZE_WHITESPACE
    ['npv', 'ppv', 'roc_auc', 'sensitivity', 'specificity', 'specificity_at_sensitivity_95']
    """
    at_sensitivity = f"specificity_at_sensitivity_{round(100 * min_sensitivity)}"
    scorers = {"roc_auc": "roc_auc"}
    for name in (*_LABEL_METRICS, at_sensitivity):
        scorers[name] = get_scorer(name, pos_label=pos_label)
    return scorers
