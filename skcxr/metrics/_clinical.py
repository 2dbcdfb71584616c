"""Screening metrics with clinical names, as scikit-learn metric functions.

Each takes ``(y_true, y_pred, *, pos_label=1, zero_division="warn")``.
When a metric's denominator is empty (no diseased case for sensitivity, no
healthy one for specificity, no positive call for PPV, no negative call for
NPV) it is undefined: scikit-learn's ``UndefinedMetricWarning`` is raised
and ``zero_division`` is returned (0.0 under ``"warn"``, as in
:func:`sklearn.metrics.recall_score`; pass ``np.nan`` to propagate it).
"""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning


def binary_counts(y_true, y_pred, *, pos_label=1):
    """Return ``(tp, fp, tn, fn)`` for a binary problem.

    Examples
    --------
    >>> binary_counts([0, 1, 1, 0], [1, 1, 0, 0])
    (1, 1, 1, 1)
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must be 1-D of equal length; got shapes "
            f"{y_true.shape} and {y_pred.shape}."
        )
    labels = np.unique(np.concatenate([y_true, y_pred]))
    if len(labels) > 2:
        raise ValueError(f"Expected binary labels; got {len(labels)}: {labels[:10]}.")
    if len(labels) == 2 and pos_label not in labels:
        raise ValueError(f"pos_label={pos_label!r} is not one of the labels {list(labels)}.")
    true_pos, pred_pos = y_true == pos_label, y_pred == pos_label
    tp = int(np.sum(true_pos & pred_pos))
    fp = int(np.sum(~true_pos & pred_pos))
    tn = int(np.sum(~true_pos & ~pred_pos))
    fn = int(np.sum(true_pos & ~pred_pos))
    return tp, fp, tn, fn


def _ratio(numerator, denominator, zero_division, name, empty):
    if denominator:
        return numerator / denominator
    if zero_division == "warn":
        warnings.warn(
            f"{name} is undefined: {empty}. Returning 0.0; set zero_division to choose.",
            UndefinedMetricWarning, stacklevel=3,
        )
        return 0.0
    return float(zero_division)


def sensitivity_score(y_true, y_pred, *, pos_label=1, zero_division="warn"):
    """Sensitivity (recall, true positive rate): TP / (TP + FN).

    The share of diseased cases the screen flags; what it must not miss.

    Examples
    --------
    >>> sensitivity_score([1, 1, 1, 0], [1, 1, 0, 0])
    0.666...
    """
    tp, fp, tn, fn = binary_counts(y_true, y_pred, pos_label=pos_label)
    return _ratio(tp, tp + fn, zero_division, "Sensitivity", "y_true has no positive case")


def specificity_score(y_true, y_pred, *, pos_label=1, zero_division="warn"):
    """Specificity (true negative rate): TN / (TN + FP).

    The share of healthy cases the screen leaves alone.

    Examples
    --------
    >>> specificity_score(["N", "N", "P", "N"], ["N", "P", "P", "N"], pos_label="P")
    0.666...
    """
    tp, fp, tn, fn = binary_counts(y_true, y_pred, pos_label=pos_label)
    return _ratio(tn, tn + fp, zero_division, "Specificity", "y_true has no negative case")


def ppv_score(y_true, y_pred, *, pos_label=1, zero_division="warn"):
    """Positive predictive value (precision): TP / (TP + FP)."""
    tp, fp, tn, fn = binary_counts(y_true, y_pred, pos_label=pos_label)
    return _ratio(tp, tp + fp, zero_division, "PPV", "no case was predicted positive")


def npv_score(y_true, y_pred, *, pos_label=1, zero_division="warn"):
    """Negative predictive value: TN / (TN + FN)."""
    tp, fp, tn, fn = binary_counts(y_true, y_pred, pos_label=pos_label)
    return _ratio(tn, tn + fn, zero_division, "NPV", "no case was predicted negative")


def screening_objective(y_true, y_pred, *, min_sensitivity=0.95, pos_label=1):
    """Specificity when sensitivity reaches ``min_sensitivity``, else a penalty.

    For threshold tuning: a threshold that meets the sensitivity target
    scores its specificity (0 to 1); one that misses it scores
    ``sensitivity - 1`` (below 0), so any threshold that meets the target
    beats every one that does not, and among those that miss, the nearest
    wins. Maximise it with
    :class:`~sklearn.model_selection.TunedThresholdClassifierCV`.

    Examples
    --------
    >>> screening_objective([1, 1, 0, 0], [1, 1, 1, 0], min_sensitivity=0.9)
    0.5
    >>> screening_objective([1, 1, 0, 0], [1, 0, 0, 0], min_sensitivity=0.9)
    -0.5
    """
    tp, fp, tn, fn = binary_counts(y_true, y_pred, pos_label=pos_label)
    sensitivity = tp / (tp + fn) if tp + fn else 1.0
    if sensitivity >= min_sensitivity:
        return tn / (tn + fp) if tn + fp else 1.0
    return sensitivity - 1.0
