"""Plots of a screening model: ROC and PR curves with the operating point,
confusion matrix, reliability diagram and Grad-CAM overlays.

Built on scikit-learn's ``*Display`` classes; matplotlib is an optional
dependency (``pip install skcxr[plot]``).
"""

from numbers import Integral, Real

import numpy as np

from .._compat import StrictInterval, validate_params
from ..metrics import binary_counts, check_labels, check_scores, resolve_pos_label

# Constraints for scikit-learn's ``validate_params``: a wrong argument is an
# error naming it and the function before anything is drawn.
FINITE = StrictInterval(Real, None, None, closed="neither")
POSITIVE_INT = StrictInterval(Integral, 1, None, closed="left")
_CURVE_PARAMS = {"y_true": ["array-like"], "y_score": ["array-like"], "threshold": [FINITE, None],
                 "name": [str, None], "ax": "no_validation"}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib: pip install 'skcxr[plot]'."
        ) from exc
    return plt


def _check_curve_input(y_true, y_score, pos_label, *, both_classes, score_name="y_score"):
    """Labels and scores checked as the metrics check them; a curve needs both classes."""
    y_true = check_labels(y_true, pos_label)
    y_score = check_scores(y_score, y_true, name=score_name)
    if both_classes and len(np.unique(y_true)) < 2:
        only = y_true[:1].tolist()[0]
        raise ValueError(
            f"y_true holds a single class ({only!r}); this curve needs cases of both classes."
        )
    return y_true, y_score


def _lay_out(display, ax):
    """Give a figure this module created a layout, so its labels are not cut when saved.

    A figure the caller passed an ``ax`` of is theirs to lay out.
    """
    if ax is None:
        display.figure_.set_layout_engine("constrained")
    return display


def _operating_point(y_true, y_score, threshold, pos_label):
    """Sensitivity, specificity and precision at ``threshold`` (NaN where undefined)."""
    tp, fp, tn, fn = binary_counts(y_true == pos_label, y_score >= threshold, pos_label=True)
    return _rate(tp, tp + fn), _rate(tn, tn + fp), _rate(tp, tp + fp)


def _rate(numerator, denominator):
    return numerator / denominator if denominator else np.nan


@validate_params(_CURVE_PARAMS, prefer_skip_nested_validation=True)
def plot_roc(y_true, y_score, *, threshold=None, pos_label=None, name=None, ax=None):
    """ROC curve (:class:`~sklearn.metrics.RocCurveDisplay`), operating point marked.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, two classes.
    y_score : array-like of shape (n_samples,)
        Finite scores or probabilities of the positive class.
    threshold : float, default=None
        Operating point to mark (a case is positive when its score is at
        least this); must be finite.
    pos_label : int, float, bool, str or None, default=None
        The diseased class; it must be one of the labels of ``y_true``. None
        means 1, for labels 0/1, -1/1 or False/True only (as scikit-learn's
        ``roc_curve``); other labels must name it.
    name : str, default=None
        Legend name of the curve.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure (constrained layout) when ``None``.

    Returns
    -------
    display : sklearn.metrics.RocCurveDisplay
        Its ``ax_`` and ``figure_`` hold the plot.
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    _pyplot()
    from sklearn.metrics import RocCurveDisplay

    y_true, y_score = _check_curve_input(y_true, y_score, pos_label, both_classes=True)
    display = RocCurveDisplay.from_predictions(y_true, y_score, pos_label=pos_label,
                                               name=name, ax=ax)
    if threshold is not None:
        sens, spec, _ = _operating_point(y_true, y_score, threshold, pos_label)
        display.ax_.plot(1 - spec, sens, "o", color="C3", markersize=8,
                         label=f"threshold {threshold:.3g}: sens {sens:.2f}, spec {spec:.2f}")
        display.ax_.legend(loc="lower right")
    return _lay_out(display, ax)


@validate_params(_CURVE_PARAMS, prefer_skip_nested_validation=True)
def plot_precision_recall(y_true, y_score, *, threshold=None, pos_label=None, name=None, ax=None):
    """Precision-recall curve (:class:`~sklearn.metrics.PrecisionRecallDisplay`), operating point.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels, two classes.
    y_score : array-like of shape (n_samples,)
        Finite scores or probabilities of the positive class.
    threshold : float, default=None
        Operating point to mark (a case is positive when its score is at
        least this); must be finite.
    pos_label : int, float, bool, str or None, default=None
        The diseased class; it must be one of the labels of ``y_true``. None
        means 1, for labels 0/1, -1/1 or False/True only (as scikit-learn's
        ``roc_curve``); other labels must name it.
    name : str, default=None
        Legend name of the curve.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure (constrained layout) when ``None``.

    Returns
    -------
    display : sklearn.metrics.PrecisionRecallDisplay
        Its ``ax_`` and ``figure_`` hold the plot.
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    _pyplot()
    from sklearn.metrics import PrecisionRecallDisplay

    y_true, y_score = _check_curve_input(y_true, y_score, pos_label, both_classes=True)
    display = PrecisionRecallDisplay.from_predictions(y_true, y_score, pos_label=pos_label,
                                                      name=name, ax=ax)
    if threshold is not None:
        sens, _, precision = _operating_point(y_true, y_score, threshold, pos_label)
        display.ax_.plot(sens, precision, "o", color="C3", markersize=8,
                         label=f"threshold {threshold:.3g}: recall {sens:.2f}, PPV {precision:.2f}")
        display.ax_.legend(loc="lower left")
    return _lay_out(display, ax)


@validate_params({**_CURVE_PARAMS, "threshold": [FINITE]}, prefer_skip_nested_validation=True)
def plot_confusion_matrix(y_true, y_score, *, threshold=0.5, pos_label=None, ax=None):
    """Confusion matrix at ``threshold`` (:class:`~sklearn.metrics.ConfusionMatrixDisplay`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels (one class is allowed).
    y_score : array-like of shape (n_samples,)
        Finite scores or probabilities of the positive class.
    threshold : float, default=0.5
        A case is called positive when its score is at least this.
    pos_label : int, float, bool, str or None, default=None
        The diseased class; with both classes in ``y_true`` it must be one of
        them. None means 1, for labels 0/1, -1/1 or False/True only (as
        scikit-learn's ``roc_curve``); other labels must name it.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure (constrained layout) when ``None``.

    Returns
    -------
    display : sklearn.metrics.ConfusionMatrixDisplay
        Its ``ax_`` and ``figure_`` hold the plot.
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    _pyplot()
    from sklearn.metrics import ConfusionMatrixDisplay

    y_true, y_score = _check_curve_input(y_true, y_score, pos_label, both_classes=False)
    negative = [label for label in np.unique(y_true).tolist() if label != pos_label]
    # With only diseased cases in y_true the negative label is unknown: name it by negation.
    negative = negative[0] if negative else f"not {pos_label}"
    display = ConfusionMatrixDisplay.from_predictions(
        y_true == pos_label, y_score >= threshold, labels=[False, True],
        display_labels=[str(negative), str(pos_label)], ax=ax, colorbar=False)
    display.ax_.set_title(f"threshold {threshold:.3g}")
    return _lay_out(display, ax)


@validate_params({"y_true": ["array-like"], "y_prob": ["array-like"], "n_bins": [POSITIVE_INT],
                  "name": [str, None], "ax": "no_validation"}, prefer_skip_nested_validation=True)
def plot_reliability(y_true, y_prob, *, n_bins=10, pos_label=None, name=None, ax=None):
    """Reliability diagram (:class:`~sklearn.calibration.CalibrationDisplay`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_prob : array-like of shape (n_samples,)
        Probabilities of the positive class, in [0, 1].
    n_bins : int, default=10
        Number of probability bins, at least 1.
    pos_label : int, float, bool, str or None, default=None
        The diseased class; with both classes in ``y_true`` it must be one of
        them. None means 1, for labels 0/1, -1/1 or False/True only (as
        scikit-learn's ``roc_curve``); other labels must name it.
    name : str, default=None
        Legend name of the curve.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure (constrained layout) when ``None``. The
        legend goes above the axes, where it hides no point.

    Returns
    -------
    display : sklearn.calibration.CalibrationDisplay
        Its ``ax_`` and ``figure_`` hold the plot.
    """
    pos_label = resolve_pos_label(y_true, pos_label)
    _pyplot()
    from sklearn.calibration import CalibrationDisplay

    y_true, y_prob = _check_curve_input(y_true, y_prob, pos_label, both_classes=False,
                                        score_name="y_prob")
    if y_prob.min() < 0 or y_prob.max() > 1:
        raise ValueError(
            f"y_prob must be probabilities in [0, 1]; got values in [{y_prob.min():g}, "
            f"{y_prob.max():g}]. Pass predict_proba(X)[:, 1], not decision scores."
        )
    display = CalibrationDisplay.from_predictions(y_true, y_prob, n_bins=n_bins,
                                                  pos_label=pos_label, name=name, ax=ax)
    # Above the axes: inside, wherever it went, it would hide the points of
    # some miscalibrated model (overconfident ones fall in the lower right).
    display.ax_.legend(loc="lower center", bbox_to_anchor=(0.5, 1.02), ncols=2,
                       borderaxespad=0, fontsize="small")
    return _lay_out(display, ax)


@validate_params({"images": ["array-like"], "heatmaps": ["array-like"],
                  "titles": ["array-like", None], "ncols": [POSITIVE_INT],
                  "alpha": [StrictInterval(Real, 0, 1, closed="both")], "cmap": "no_validation"},
                 prefer_skip_nested_validation=True)
def plot_gradcam(images, heatmaps, *, titles=None, ncols=4, alpha=0.4, cmap="jet"):
    """A grid of X-rays with their Grad-CAM heatmaps overlaid.

    Parameters
    ----------
    images : ndarray of shape (n, 1, H, W), (n, 3, H, W) or (n, H, W)
        The X-rays.
    heatmaps : ndarray of shape (n, H, W)
        From :func:`skcxr.explain.gradcam`.
    titles : list of str, default=None
        One per image (e.g. true label, probability).
    ncols : int, default=4
        Images per row.
    alpha : float, default=0.4
        Opacity of the heatmap, in [0, 1].
    cmap : str, default="jet"
        Colour map of the heatmap.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The grid, one image per axes.
    """
    plt = _pyplot()
    images, heatmaps = _check_gradcam_input(images, heatmaps)
    n = len(images)
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles has {len(titles)} entries for {n} images; give one per image.")
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 3 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray")
        ax.imshow(heatmaps[i], cmap=cmap, alpha=alpha, vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig


def _check_gradcam_input(images, heatmaps):
    """Images as (n, H, W) or (n, H, W, 3) for imshow, heatmaps (n, H, W), both non-empty."""
    images, heatmaps = np.asarray(images), np.asarray(heatmaps)
    if images.ndim == 4 and images.shape[1] in (1, 3):
        images = images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)
    elif images.ndim != 3:
        raise ValueError(
            f"images has shape {images.shape}; expected (n, 1, H, W), (n, 3, H, W) or (n, H, W)."
        )
    if heatmaps.ndim != 3 or images.shape[:3] != heatmaps.shape:
        raise ValueError(
            f"images {images.shape} and heatmaps {heatmaps.shape} must hold the same number "
            "of images of the same height and width; heatmaps are (n, H, W)."
        )
    if len(images) == 0:
        raise ValueError("images is empty: there is nothing to plot.")
    for array, name in ((images, "images"), (heatmaps, "heatmaps")):
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be numeric; got dtype {array.dtype}.")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
    return images, heatmaps
