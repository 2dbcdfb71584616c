"""Operating points: thresholds chosen on validation scores, never on test data."""

import numpy as np
from sklearn.metrics import roc_curve


def _roc(y_true, y_score, pos_label):
    y_score = np.asarray(y_score)
    if y_score.ndim != 1:
        raise ValueError(
            f"y_score must be 1-D scores of the positive class; got shape {y_score.shape}. "
            "Pass predict_proba(X)[:, 1] (the column of the positive class)."
        )
    if pos_label not in np.unique(y_true):
        raise ValueError(f"y_true has no case of the positive class {pos_label!r}.")
    return roc_curve(y_true, y_score, pos_label=pos_label, drop_intermediate=False)


def _operating_point(y_true, y_score, min_sensitivity, pos_label):
    """(false positive rate, threshold) of the highest threshold meeting the target.

    Thresholds decrease along the ROC curve, so the first point whose
    sensitivity meets the target has the highest threshold and the lowest
    false positive rate among those that do.
    """
    fpr, tpr, thresholds = _roc(y_true, y_score, pos_label)
    first = np.flatnonzero(tpr >= min_sensitivity - 1e-12)[0]
    return fpr[first], thresholds[first]


def select_threshold(y_true, y_score, *, min_sensitivity=0.95, pos_label=1):
    """Highest threshold whose sensitivity on these scores is at least the target.

    Among thresholds meeting the sensitivity target it is the one with the
    highest specificity. Use validation scores (out-of-fold or a
    held-out set of patients), never the test set; apply the result with
    :class:`~sklearn.model_selection.FixedThresholdClassifier`. A case is
    called positive when its score is at least the threshold.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_score : array-like of shape (n_samples,)
        Score or probability of the positive class.
    min_sensitivity : float, default=0.95
    pos_label : int or str, default=1

    Returns
    -------
    threshold : float

    Examples
    --------
    >>> select_threshold([0, 0, 1, 1, 1], [0.1, 0.6, 0.4, 0.8, 0.9], min_sensitivity=1.0)
    0.4
    """
    _, threshold = _operating_point(y_true, y_score, min_sensitivity, pos_label)
    return float(threshold)


def specificity_at_sensitivity(y_true, y_score, *, min_sensitivity=0.95, pos_label=1):
    """Best specificity reachable with sensitivity at least ``min_sensitivity``.

    A threshold-free summary of a score for model selection: the
    specificity at :func:`select_threshold`'s operating point on the same data.

    Examples
    --------
    >>> specificity_at_sensitivity([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9], min_sensitivity=1.0)
    0.5
    """
    fpr, _ = _operating_point(y_true, y_score, min_sensitivity, pos_label)
    return float(1 - fpr)
