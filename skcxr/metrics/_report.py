"""screening_report: the numbers a screening tool is judged by, with 95% CIs."""

import numbers

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_random_state

from .._compat import Interval, StrOptions, validate_params
from ._checks import (
    FINITE,
    POS_LABEL,
    check_both_classes,
    check_fraction,
    check_labels,
    check_probabilities,
    check_scores,
    resolve_pos_label,
)
from ._clinical import screening_rates, weighted_counts

_RATES = ("accuracy", "sensitivity", "specificity", "ppv", "npv", "f1")


def _weighted_rates(true_pos, pred_pos, weights):
    """Screening rates from per-case weights (bootstrap multiplicities); NaN if undefined."""
    tp, fp, tn, fn = weighted_counts(true_pos, pred_pos, weights)
    rates = screening_rates(tp, fp, tn, fn)
    rates["counts"] = {"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)}
    return rates


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


@validate_params(
    {
        "y_true": ["array-like"],
        "y_score": ["array-like"],
        "threshold": [FINITE],
        "pos_label": POS_LABEL,
        "groups": ["array-like", None],
        "n_bootstraps": [Interval(numbers.Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "output_dict": ["boolean"],
        "scores": [StrOptions({"probability", "decision"})],
    },
    prefer_skip_nested_validation=True,
)
def screening_report(
    y_true,
    y_score,
    *,
    threshold=0.5,
    pos_label=None,
    groups=None,
    n_bootstraps=1000,
    confidence=0.95,
    random_state=None,
    output_dict=False,
    scores="probability",
):
    """AUC and screening metrics at a threshold, with bootstrap intervals.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels; both classes must occur (on one class sensitivity or
        specificity is undefined: a ``ValueError``).
    y_score : array-like of shape (n_samples,)
        Probability of the positive class (``predict_proba(X)[:, 1]``), in
        [0, 1]; a score outside is a ``ValueError`` (logits thresholded at
        0.5 would be misread), unless ``scores="decision"``.
    threshold : float, default=0.5
        A case is called positive when its score is at least this. Choose
        it on validation data (:func:`select_threshold`), not on these labels.
        In [0, 1] for probabilities.
    pos_label : int, float, bool, str or None, default=None
        The diseased class. It must be one of the labels of ``y_true``
        (``"PNEUMONIA"`` for string labels); otherwise a ``ValueError``. None
        means 1, for labels 0/1, -1/1 or False/True only (as scikit-learn's
        ``roc_curve``); other labels must name it.
    groups : array-like of shape (n_samples,), default=None
        Patient ids. Resampling then draws patients, not images, so that
        several films of one patient do not narrow the intervals falsely.
    n_bootstraps : int, default=1000
        Resamples for the percentile intervals; 0 gives point estimates only.
    confidence : float, default=0.95
        Coverage of the intervals, in (0, 1): 0.95 for 95% intervals.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap, for repeatable intervals.
    output_dict : bool, default=False
        Return a dict instead of text.
    scores : {"probability", "decision"}, default="probability"
        What ``y_score`` holds: probabilities, checked to lie in [0, 1]; or
        any real-valued score (``decision_function``), with ``threshold``
        on its scale (e.g. 0.0 for a linear SVM).

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
    pos_label = resolve_pos_label(y_true, pos_label)
    confidence = check_fraction(confidence, "confidence", include_one=False)
    y_true = check_labels(y_true, pos_label)
    y_score = check_scores(y_score, y_true)
    check_both_classes(y_true, pos_label, "a screening report")
    if scores == "probability":
        check_probabilities(y_score, why=f" (they are called positive from {threshold:g})")
        if not 0 <= threshold <= 1:
            raise ValueError(
                f"threshold={threshold!r} is no probability: with scores='probability' it "
                "must be in [0, 1]."
            )
    true_pos, pred_pos = y_true == pos_label, y_score >= threshold
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != y_true.shape:
            raise ValueError(
                f"groups has shape {groups.shape}; expected {y_true.shape}, one patient "
                "id per case."
            )
        if groups.dtype.kind == "f" and np.isnan(groups).any():
            raise ValueError("groups contains NaN; every case needs a patient id.")
        try:
            groups = np.unique(groups, return_inverse=True)
        except TypeError:
            raise ValueError("groups mixes id types that cannot be compared.") from None

    point = _weighted_rates(true_pos, pred_pos, None)
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
        if n_bootstraps and low == high:
            # Every resample gave the same value (all 3 pneumonia films flagged, say): a
            # bootstrap cannot say how sure that is. A rate gets its exact interval; an AUC none.
            report[name].update(_exact_interval(name, point["counts"], confidence))
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


def _exact_interval(name, counts, confidence):
    """Clopper-Pearson two-sided interval of a rate from its counts (NaN for the AUC)."""
    from scipy.stats import beta

    tp, fp, tn, fn = (counts[k] for k in ("tp", "fp", "tn", "fn"))
    hits, total = {"accuracy": (tp + tn, tp + fp + tn + fn), "sensitivity": (tp, tp + fn),
                   "specificity": (tn, tn + fp), "ppv": (tp, tp + fp),
                   "npv": (tn, tn + fn)}.get(name, (None, 0))
    if hits is None or total == 0:
        return {"ci_low": float("nan"), "ci_high": float("nan"),
                "ci_method": "none (every resample gave the same value)"}
    alpha = 1 - confidence
    low = 0.0 if hits == 0 else float(beta.ppf(alpha / 2, hits, total - hits + 1))
    high = 1.0 if hits == total else float(beta.ppf(1 - alpha / 2, hits + 1, total - hits))
    return {"ci_low": low, "ci_high": high, "ci_method": "exact (Clopper-Pearson)"}


_LABELS = {
    "auc": "ROC AUC",
    "accuracy": "Accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "PPV (precision)",
    "npv": "NPV",
    "f1": "F1",
}


_REPORT_KEYS = ("auc", *_RATES, "counts", "threshold", "pos_label", "n_samples", "n_groups",
                "n_bootstraps", "confidence")


def format_screening_report(report):
    """Render :func:`screening_report`'s dict as a text table.

    Parameters
    ----------
    report : dict
        What ``screening_report(..., output_dict=True)`` returns.

    Returns
    -------
    text : str
        The table, one line per metric.
    """
    is_dict = isinstance(report, dict)
    missing = [key for key in _REPORT_KEYS if key not in report] if is_dict else None
    if not is_dict or missing:
        raise ValueError(
            "report must be the dict screening_report(..., output_dict=True) returns"
            + (f"; it lacks {missing}." if missing else f"; got {type(report).__name__}.")
        )
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
        ci = ""
        if report["n_bootstraps"]:
            ci = ("no interval: every resample gave the same value" if np.isnan(entry["ci_low"])
                  else f"[{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]")
            if entry.get("ci_method", "").startswith("exact"):
                ci += " exact (every resample agreed)"
        lines.append(f"{label:<17}{entry['value']:>8.3f}   {ci}")
    c = report["counts"]
    lines += [
        "",
        f"confusion: TP {c['tp']}  FN {c['fn']}  |  TN {c['tn']}  FP {c['fp']}",
    ]
    return "\n".join(lines)
