"""Screening metrics with clinical names, as scikit-learn metric functions.

Each takes ``(y_true, y_pred, *, pos_label=None, zero_division="warn")``.
When a metric's denominator is empty (no diseased case for sensitivity, no
healthy one for specificity, no positive call for PPV, no negative call for
NPV) it is undefined: scikit-learn's ``UndefinedMetricWarning`` is raised
and ``zero_division`` is returned (0.0 under ``"warn"``, as in
:func:`sklearn.metrics.recall_score`; it may also be 0.0, 1.0 or ``np.nan``,
which propagates). ``pos_label`` must name one of the labels; left out, it
is 1 for labels 0/1, -1/1 or False/True and must be given for any others
(``"NORMAL"``/``"PNEUMONIA"``, 1/2): a ``ValueError``, never a silent
sensitivity of 0 or the healthy class's numbers.
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from .._compat import validate_params
from ._checks import (
    POS_LABEL,
    ZERO_DIVISION,
    check_both_classes,
    check_fraction,
    check_labels,
    resolve_pos_label,
)


def weighted_counts(true_pos, pred_pos, weights=None):
    """``(tp, fp, tn, fn)`` of boolean masks; case ``i`` counts ``weights[i]`` times.

    The one place confusion counts are computed: :func:`binary_counts`, the
    bootstrap of :func:`screening_report` and the operating points of the
    plots all call it.
    """
    cells = (true_pos & pred_pos, ~true_pos & pred_pos, ~true_pos & ~pred_pos,
             true_pos & ~pred_pos)
    if weights is None:
        return tuple(int(np.count_nonzero(cell)) for cell in cells)
    return tuple(weights @ cell for cell in cells)


def screening_rates(tp, fp, tn, fn):
    """The screening rates of confusion counts; NaN where a denominator is 0."""

    def ratio(a, b):
        return a / b if b else np.nan

    return {
        "accuracy": ratio(tp + tn, tp + tn + fp + fn),
        "sensitivity": ratio(tp, tp + fn),
        "specificity": ratio(tn, tn + fp),
        "ppv": ratio(tp, tp + fp),
        "npv": ratio(tn, tn + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
    }


_LABEL_PARAMS = {"y_true": ["array-like"], "y_pred": ["array-like"], "pos_label": POS_LABEL}
_METRIC_PARAMS = {**_LABEL_PARAMS, "zero_division": ZERO_DIVISION}


@validate_params(_LABEL_PARAMS, prefer_skip_nested_validation=True)
def binary_counts(y_true, y_pred, *, pos_label=None):
    """Return ``(tp, fp, tn, fn)`` for a binary problem.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels, at most two distinct values together.
    pos_label : int, float, bool, str or None, default=None
        The diseased class. It must be one of the labels when both occur; when
        only one label occurs it must at least be of the same kind (string or
        number). None means 1, for labels 0/1, -1/1 or False/True only (as
        scikit-learn's ``roc_curve``); other labels must name it.

    Returns
    -------
    tp, fp, tn, fn : int
        True positives, false positives, true negatives, false negatives.

    Examples
    --------
    >>> binary_counts([0, 1, 1, 0], [1, 1, 0, 0])
    (1, 1, 1, 1)
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    y_true, y_pred = check_labels(y_true, pos_label, y_pred=y_pred)
    return weighted_counts(y_true == pos_label, y_pred == pos_label)


def _ratio(numerator, denominator, zero_division, name, empty):
    if denominator:
        return numerator / denominator
    if zero_division == "warn":
        warnings.warn(
            f"{name} is undefined: {empty}. Returning 0.0; set zero_division to choose.",
            UndefinedMetricWarning, stacklevel=4,  # past validate_params' wrapper
        )
        return 0.0
    return float(zero_division)


@validate_params(_METRIC_PARAMS, prefer_skip_nested_validation=True)
def sensitivity_score(y_true, y_pred, *, pos_label=None, zero_division="warn"):
    """Sensitivity (recall, true positive rate): TP / (TP + FN).

    The share of diseased cases the screen flags; what it must not miss.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    pos_label : int, float, bool, str or None, default=None
        The diseased class. None means 1, for labels 0/1, -1/1 or False/True
        only (as scikit-learn's ``roc_curve``); other labels must name it.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        What to return when the denominator is 0 (``"warn"``: 0.0 with an
        ``UndefinedMetricWarning``).

    Returns
    -------
    score : float
        The share of positive cases predicted positive.

    Examples
    --------
    >>> sensitivity_score([1, 1, 1, 0], [1, 1, 0, 0])
    0.666...
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    tp, fp, tn, fn = binary_counts(y_true, y_pred, pos_label=pos_label)
    return _ratio(tp, tp + fn, zero_division, "Sensitivity", "y_true has no positive case")


@validate_params(_METRIC_PARAMS, prefer_skip_nested_validation=True)
def specificity_score(y_true, y_pred, *, pos_label=None, zero_division="warn"):
    """Specificity (true negative rate): TN / (TN + FP).

    The share of healthy cases the screen leaves alone.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    pos_label : int, float, bool, str or None, default=None
        The diseased class. None means 1, for labels 0/1, -1/1 or False/True
        only (as scikit-learn's ``roc_curve``); other labels must name it.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        What to return when the denominator is 0 (``"warn"``: 0.0 with an
        ``UndefinedMetricWarning``).

    Returns
    -------
    score : float
        The share of negative cases predicted negative.

    Examples
    --------
    >>> specificity_score(["N", "N", "P", "N"], ["N", "P", "P", "N"], pos_label="P")
    0.666...
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    tp, fp, tn, fn = binary_counts(y_true, y_pred, pos_label=pos_label)
    return _ratio(tn, tn + fp, zero_division, "Specificity", "y_true has no negative case")


@validate_params(_METRIC_PARAMS, prefer_skip_nested_validation=True)
def ppv_score(y_true, y_pred, *, pos_label=None, zero_division="warn"):
    """Positive predictive value (precision): TP / (TP + FP).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    pos_label : int, float, bool, str or None, default=None
        The diseased class. None means 1, for labels 0/1, -1/1 or False/True
        only (as scikit-learn's ``roc_curve``); other labels must name it.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        What to return when the denominator is 0 (``"warn"``: 0.0 with an
        ``UndefinedMetricWarning``).

    Returns
    -------
    score : float
        The share of positive predictions that are positive cases.
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    tp, fp, tn, fn = binary_counts(y_true, y_pred, pos_label=pos_label)
    return _ratio(tp, tp + fp, zero_division, "PPV", "no case was predicted positive")


@validate_params(_METRIC_PARAMS, prefer_skip_nested_validation=True)
def npv_score(y_true, y_pred, *, pos_label=None, zero_division="warn"):
    """Negative predictive value: TN / (TN + FN).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    pos_label : int, float, bool, str or None, default=None
        The diseased class. None means 1, for labels 0/1, -1/1 or False/True
        only (as scikit-learn's ``roc_curve``); other labels must name it.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        What to return when the denominator is 0 (``"warn"``: 0.0 with an
        ``UndefinedMetricWarning``).

    Returns
    -------
    score : float
        The share of negative predictions that are negative cases.
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    tp, fp, tn, fn = binary_counts(y_true, y_pred, pos_label=pos_label)
    return _ratio(tn, tn + fn, zero_division, "NPV", "no case was predicted negative")


@validate_params(_LABEL_PARAMS, prefer_skip_nested_validation=True)
def screening_objective(y_true, y_pred, *, min_sensitivity=0.95, pos_label=None):
    """Specificity when sensitivity reaches ``min_sensitivity``, else a penalty.

    For threshold tuning: a threshold that meets the sensitivity target
    scores its specificity (0 to 1); one that misses it scores
    ``sensitivity - 1`` (below 0), so any threshold that meets the target
    beats every one that does not, and among those that miss, the nearest
    wins. Maximise it with
    :class:`~sklearn.model_selection.TunedThresholdClassifierCV`.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels; ``y_true`` must hold both classes.
    min_sensitivity : float, default=0.95
        The sensitivity target, in (0, 1].
    pos_label : int, float, bool, str or None, default=None
        The diseased class. None means 1, for labels 0/1, -1/1 or False/True
        only (as scikit-learn's ``roc_curve``); other labels must name it.

    Returns
    -------
    score : float
        The specificity (0 to 1) when the target is met, ``sensitivity - 1``
        (below 0) when it is not.

    Examples
    --------
    >>> screening_objective([1, 1, 0, 0], [1, 1, 1, 0], min_sensitivity=0.9)
    0.5
    >>> screening_objective([1, 1, 0, 0], [1, 0, 0, 0], min_sensitivity=0.9)
    -0.5
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    min_sensitivity = check_fraction(min_sensitivity, "min_sensitivity")
    tp, fp, tn, fn = binary_counts(y_true, y_pred, pos_label=pos_label)
    # Before: 1.0 (the best score) for a y_true of one class, silently.
    check_both_classes(np.asarray(y_true), pos_label, "the screening objective")
    sensitivity = tp / (tp + fn)
    if sensitivity >= min_sensitivity:
        return tn / (tn + fp)
    return sensitivity - 1.0
