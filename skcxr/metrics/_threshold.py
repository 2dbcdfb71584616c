"""Operating points: thresholds chosen on validation scores, never on test data."""

import numpy as np
from sklearn.metrics import roc_curve

from .._compat import Interval, RealNotInt, validate_params
from ._checks import POS_LABEL, check_fraction, check_labels, check_scores, resolve_pos_label
from ._guarantee import guaranteed_operating_point

_PARAMS = {"y_true": ["array-like"], "y_score": ["array-like"], "pos_label": POS_LABEL}


def _roc(y_true, y_score, pos_label):
    y_true = check_labels(y_true, pos_label)
    y_score = check_scores(y_score, y_true)
    if not np.any(y_true == pos_label):
        raise ValueError(
            f"y_true has no case of the positive class {pos_label!r}: sensitivity is "
            "undefined, so no threshold can be chosen."
        )
    if np.all(y_true == pos_label):
        raise ValueError(
            f"y_true holds only the positive class {pos_label!r}: specificity is "
            "undefined, so no threshold can be chosen."
        )
    return roc_curve(y_true, y_score, pos_label=pos_label, drop_intermediate=False)


def _operating_point(y_true, y_score, min_sensitivity, pos_label):
    """(false positive rate, threshold) of the highest threshold meeting the target.

    Thresholds decrease along the ROC curve, so the first point whose
    sensitivity meets the target has the highest threshold and the lowest
    false positive rate among those that do.
    """
    min_sensitivity = check_fraction(min_sensitivity, "min_sensitivity")
    fpr, tpr, thresholds = _roc(y_true, y_score, pos_label)
    first = np.flatnonzero(tpr >= min_sensitivity - 1e-12)[0]
    return fpr[first], thresholds[first]


@validate_params({**_PARAMS, "confidence": [Interval(RealNotInt, 0, 1, closed="neither"), None]},
                 prefer_skip_nested_validation=True)
def select_threshold(y_true, y_score, *, min_sensitivity=0.95, pos_label=None, confidence=None):
    """Highest threshold whose sensitivity on these scores is at least the target.

    Among thresholds meeting the sensitivity target it is the one with the
    highest specificity. Use validation scores (out-of-fold or a
    held-out set of patients), never the test set; apply the result with
    :class:`~sklearn.model_selection.FixedThresholdClassifier`. A case is
    called positive when its score is at least the threshold.

    With ``confidence``, the target is a guarantee rather than an
    observation: the threshold is the highest whose one-sided
    Clopper-Pearson lower bound for sensitivity, at that confidence, reaches
    ``min_sensitivity`` (0.97 at 95% confidence needs about 100 positive
    films, none missed).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_score : array-like of shape (n_samples,)
        Score or probability of the positive class.
    min_sensitivity : float, default=0.95
        The sensitivity target, a fraction in (0, 1] (0.95, not 95).
    pos_label : int, float, bool, str or None, default=None
        The diseased class; it must be one of the labels of ``y_true``. None
        means 1, for labels 0/1, -1/1 or False/True only (as scikit-learn's
        ``roc_curve``); other labels must name it.
    confidence : float in (0, 1) or None, default=None
        Confidence of the lower bound that must reach the target (e.g. 0.95);
        None compares the observed sensitivity with the target.

    Returns
    -------
    threshold : float
        A case is flagged when its score is at least this.

    Raises
    ------
    InsufficientPositivesError
        With ``confidence``, when there are too few positive cases for the
        target: it says how many there are, how many the target needs and
        which target they support.

    Examples
    --------
    >>> select_threshold([0, 0, 1, 1, 1], [0.1, 0.6, 0.4, 0.8, 0.9], min_sensitivity=1.0)
    0.4
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    if confidence is not None:
        return guaranteed_threshold(y_true, y_score, min_sensitivity=min_sensitivity,
                                    confidence=confidence, pos_label=pos_label)["threshold"]
    _, threshold = _operating_point(y_true, y_score, min_sensitivity, pos_label)
    return float(threshold)


@validate_params({**_PARAMS, "confidence": [Interval(RealNotInt, 0, 1, closed="neither")]},
                 prefer_skip_nested_validation=True)
def guaranteed_threshold(y_true, y_score, *, min_sensitivity=0.97, confidence=0.95, pos_label=None):
    """The highest threshold whose lower confidence bound for sensitivity reaches the target, and its numbers.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_score : array-like of shape (n_samples,)
        Score or probability of the positive class.
    min_sensitivity : float, default=0.97
        The sensitivity the lower bound must reach.
    confidence : float, default=0.95
        One-sided confidence of the Clopper-Pearson bound.
    pos_label : int, float, bool, str or None, default=None
        The diseased class; it must be one of the labels of ``y_true``. None
        means 1, for labels 0/1, -1/1 or False/True only (as scikit-learn's
        ``roc_curve``); other labels must name it.

    Returns
    -------
    point : dict
        ``threshold``, ``detected`` and ``positives`` (films), the
        observed ``sensitivity`` and ``specificity`` at the threshold, and
        ``sensitivity_lower_bound``.

    Raises
    ------
    InsufficientPositivesError
        When the positives are too few for the target (see its message).

    Examples
    --------
    >>> point = guaranteed_threshold([0] * 5 + [1] * 120, [0.1] * 5 + [0.9] * 120)
    >>> point["threshold"], round(point["sensitivity_lower_bound"], 3)
    (0.9, 0.975)
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    min_sensitivity = check_fraction(min_sensitivity, "min_sensitivity")
    fpr, _, _ = _roc(y_true, y_score, pos_label)  # checks labels, scores and both classes
    true_pos = np.asarray(check_labels(y_true, pos_label)) == pos_label
    y_score = np.asarray(check_scores(y_score, y_true), dtype=float)
    threshold, detected, positives, bound = guaranteed_operating_point(
        true_pos, y_score, min_sensitivity, confidence, pos_label)
    negatives = ~true_pos
    return {
        "threshold": threshold, "detected": detected, "positives": positives,
        "sensitivity": detected / positives, "sensitivity_lower_bound": bound,
        "specificity": float(np.mean(y_score[negatives] < threshold)),
        "min_sensitivity": min_sensitivity, "confidence": confidence,
    }


@validate_params(_PARAMS, prefer_skip_nested_validation=True)
def specificity_at_sensitivity(y_true, y_score, *, min_sensitivity=0.95, pos_label=None):
    """Best specificity reachable with sensitivity at least ``min_sensitivity``.

    A threshold-free summary of a score for model selection: the
    specificity at :func:`select_threshold`'s operating point on the same data.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_score : array-like of shape (n_samples,)
        Score or probability of the positive class.
    min_sensitivity : float, default=0.95
        The sensitivity target, a fraction in (0, 1].
    pos_label : int, float, bool, str or None, default=None
        The diseased class; it must be one of the labels of ``y_true``. None
        means 1, for labels 0/1, -1/1 or False/True only (as scikit-learn's
        ``roc_curve``); other labels must name it.

    Returns
    -------
    specificity : float
        The specificity at the highest threshold that reaches the target.

    Examples
    --------
    >>> specificity_at_sensitivity([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], min_sensitivity=1.0)
    0.5
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    fpr, _ = _operating_point(y_true, y_score, min_sensitivity, pos_label)
    return float(1 - fpr)
