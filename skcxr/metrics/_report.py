"""screening_report: the numbers a screening tool is judged by, with 95% CIs."""

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_random_state

_RATES = ("accuracy", "sensitivity", "specificity", "ppv", "npv", "f1")


def _weighted_rates(true_pos, pred_pos, weights):
    """Screening rates from per-case weights (bootstrap multiplicities); NaN if undefined."""
    tp = np.sum(weights * (true_pos & pred_pos))
    fp = np.sum(weights * (~true_pos & pred_pos))
    tn = np.sum(weights * (~true_pos & ~pred_pos))
    fn = np.sum(weights * (true_pos & ~pred_pos))

    def ratio(a, b):
        return a / b if b else np.nan

    return {
        "accuracy": ratio(tp + tn, tp + tn + fp + fn),
        "sensitivity": ratio(tp, tp + fn),
        "specificity": ratio(tn, tn + fp),
        "ppv": ratio(tp, tp + fp),
        "npv": ratio(tn, tn + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "counts": {"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)},
    }


def _weighted_auc(true_pos, y_score, weights):
    keep = weights > 0
    if len(np.unique(true_pos[keep])) < 2:
        return np.nan
    return roc_auc_score(true_pos[keep], y_score[keep], sample_weight=weights[keep])


def _bootstrap_weights(n_samples, groups, rng):
    """Multiplicity of each case in one bootstrap resample (by patient if grouped)."""
    if groups is None:
        return np.bincount(rng.randint(n_samples, size=n_samples), minlength=n_samples)
    _, group_index = groups
    n_groups = group_index.max() + 1
    per_group = np.bincount(rng.randint(n_groups, size=n_groups), minlength=n_groups)
    return per_group[group_index]


def screening_report(
    y_true,
    y_score,
    *,
    threshold=0.5,
    pos_label=1,
    groups=None,
    n_bootstraps=1000,
    confidence=0.95,
    random_state=None,
    output_dict=False,
):
    """AUC and screening metrics at a threshold, with bootstrap intervals.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_score : array-like of shape (n_samples,)
        Score or probability of the positive class.
    threshold : float, default=0.5
        A case is called positive when its score is at least this. Choose
        it on validation data (:func:`select_threshold`), not on these labels.
    pos_label : int or str, default=1
        The diseased class.
    groups : array-like of shape (n_samples,), default=None
        Patient ids. Resampling then draws patients, not images, so that
        several films of one patient do not narrow the intervals falsely.
    n_bootstraps : int, default=1000
        Resamples for the percentile intervals; 0 gives point estimates only.
    confidence : float, default=0.95
        Coverage of the intervals.
    random_state : int, RandomState instance or None, default=None
    output_dict : bool, default=False
        Return a dict instead of text.

    Returns
    -------
    report : str or dict
        As a dict: ``{"auc": {"value", "ci_low", "ci_high"}, "accuracy": ...,
        "sensitivity", "specificity", "ppv", "npv", "f1", "counts": {"tp",
        "fp", "tn", "fn"}, "threshold", "n_samples", "n_groups", ...}``.
        A metric that is undefined in a resample (a class missing) is left
        out of that resample's interval; one undefined on the data is NaN.

    Examples
    --------
    >>> report = screening_report([0, 0, 1, 1], [0.2, 0.6, 0.7, 0.9], threshold=0.5,
    ...                           n_bootstraps=0, output_dict=True)
    >>> report["sensitivity"]["value"], report["specificity"]["value"]
    (1.0, 0.5)
    """
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=float)
    if y_score.ndim != 1 or y_true.shape != y_score.shape:
        raise ValueError(
            f"y_true and y_score must be 1-D of equal length; got shapes {y_true.shape} "
            f"and {y_score.shape}. Pass the positive class's column of predict_proba."
        )
    if len(np.unique(y_true)) > 2:
        raise ValueError("screening_report needs binary y_true.")
    true_pos, pred_pos = y_true == pos_label, y_score >= threshold
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != y_true.shape:
            raise ValueError(f"groups has shape {groups.shape}; expected {y_true.shape}.")
        groups = np.unique(groups, return_inverse=True)

    point = _weighted_rates(true_pos, pred_pos, np.ones(len(y_true)))
    point["auc"] = _weighted_auc(true_pos, y_score, np.ones(len(y_true)))
    rng = check_random_state(random_state)
    samples = {name: [] for name in ("auc", *_RATES)}
    for _ in range(n_bootstraps):
        weights = _bootstrap_weights(len(y_true), groups, rng)
        rates = _weighted_rates(true_pos, pred_pos, weights)
        rates["auc"] = _weighted_auc(true_pos, y_score, weights)
        for name in samples:
            samples[name].append(rates[name])
    tail = 100 * (1 - confidence) / 2
    report = {}
    for name in ("auc", *_RATES):
        values = np.asarray(samples[name], dtype=float)
        values = values[~np.isnan(values)]
        low, high = np.percentile(values, [tail, 100 - tail]) if len(values) else (np.nan, np.nan)
        report[name] = {"value": float(point[name]), "ci_low": float(low), "ci_high": float(high)}
    report.update(
        counts=point["counts"],
        threshold=float(threshold),
        pos_label=pos_label,
        n_samples=int(len(y_true)),
        n_groups=None if groups is None else int(len(groups[0])),
        n_bootstraps=int(n_bootstraps),
        confidence=float(confidence),
    )
    return report if output_dict else format_screening_report(report)


_LABELS = {
    "auc": "ROC AUC",
    "accuracy": "Accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "PPV (precision)",
    "npv": "NPV",
    "f1": "F1",
}


def format_screening_report(report):
    """Render :func:`screening_report`'s dict as a text table."""
    unit = "patients" if report["n_groups"] else "images"
    resampled = report["n_groups"] or report["n_samples"]
    lines = [
        f"Screening report: {report['n_samples']} images, threshold {report['threshold']:.4g}, "
        f"positive class {report['pos_label']!r}",
        f"{round(100 * report['confidence'])}% CI: {report['n_bootstraps']} bootstrap "
        f"resamples of {resampled} {unit}",
        "",
        f"{'metric':<17}{'value':>8}   {'CI':<17}",
    ]
    for name, label in _LABELS.items():
        entry = report[name]
        ci = (f"[{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]"
              if report["n_bootstraps"] else "")
        lines.append(f"{label:<17}{entry['value']:>8.3f}   {ci}")
    c = report["counts"]
    lines += [
        "",
        f"confusion: TP {c['tp']}  FN {c['fn']}  |  TN {c['tn']}  FP {c['fp']}",
    ]
    return "\n".join(lines)
