"""Plots of a screening model: ROC and PR curves with the operating point,
confusion matrix, reliability diagram and Grad-CAM overlays.

Built on scikit-learn's ``*Display`` classes; matplotlib is an optional
dependency (``pip install skcxr[plot]``).
"""

import numpy as np

from ..metrics import binary_counts


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Plotting needs matplotlib: pip install 'skcxr[plot]'."
        ) from exc
    return plt


def _operating_point(y_true, y_score, threshold, pos_label):
    y_pred = np.where(np.asarray(y_score) >= threshold, 1, 0)
    y_bin = (np.asarray(y_true) == pos_label).astype(int)
    tp, fp, tn, fn = binary_counts(y_bin, y_pred)
    sensitivity = tp / (tp + fn) if tp + fn else np.nan
    specificity = tn / (tn + fp) if tn + fp else np.nan
    precision = tp / (tp + fp) if tp + fp else np.nan
    return sensitivity, specificity, precision


def plot_roc(y_true, y_score, *, threshold=None, pos_label=1, name=None, ax=None):
    """ROC curve (:class:`~sklearn.metrics.RocCurveDisplay`), operating point marked.

    Returns
    -------
    display : sklearn.metrics.RocCurveDisplay
    """
    _pyplot()
    from sklearn.metrics import RocCurveDisplay

    display = RocCurveDisplay.from_predictions(y_true, y_score, pos_label=pos_label,
                                               name=name, ax=ax)
    if threshold is not None:
        sens, spec, _ = _operating_point(y_true, y_score, threshold, pos_label)
        display.ax_.plot(1 - spec, sens, "o", color="C3", markersize=8,
                         label=f"threshold {threshold:.3g}: sens {sens:.2f}, spec {spec:.2f}")
        display.ax_.legend(loc="lower right")
    return display


def plot_precision_recall(y_true, y_score, *, threshold=None, pos_label=1, name=None, ax=None):
    """Precision-recall curve (:class:`~sklearn.metrics.PrecisionRecallDisplay`), operating point marked."""
    _pyplot()
    from sklearn.metrics import PrecisionRecallDisplay

    display = PrecisionRecallDisplay.from_predictions(y_true, y_score, pos_label=pos_label,
                                                      name=name, ax=ax)
    if threshold is not None:
        sens, _, precision = _operating_point(y_true, y_score, threshold, pos_label)
        display.ax_.plot(sens, precision, "o", color="C3", markersize=8,
                         label=f"threshold {threshold:.3g}: recall {sens:.2f}, PPV {precision:.2f}")
        display.ax_.legend(loc="lower left")
    return display


def plot_confusion_matrix(y_true, y_score, *, threshold=0.5, pos_label=1, ax=None):
    """Confusion matrix at ``threshold`` (:class:`~sklearn.metrics.ConfusionMatrixDisplay`)."""
    _pyplot()
    from sklearn.metrics import ConfusionMatrixDisplay

    y_true = np.asarray(y_true)
    labels = np.unique(y_true)
    negative = [label for label in labels if label != pos_label]
    negative = negative[0] if negative else 0
    y_pred = np.where(np.asarray(y_score) >= threshold, pos_label, negative)
    display = ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=[negative, pos_label], ax=ax, colorbar=False)
    display.ax_.set_title(f"threshold {threshold:.3g}")
    return display


def plot_reliability(y_true, y_prob, *, n_bins=10, pos_label=1, name=None, ax=None):
    """Reliability diagram (:class:`~sklearn.calibration.CalibrationDisplay`)."""
    _pyplot()
    from sklearn.calibration import CalibrationDisplay

    return CalibrationDisplay.from_predictions(y_true, y_prob, n_bins=n_bins,
                                               pos_label=pos_label, name=name, ax=ax)


def plot_gradcam(images, heatmaps, *, titles=None, ncols=4, alpha=0.4, cmap="jet"):
    """A grid of X-rays with their Grad-CAM heatmaps overlaid.

    Parameters
    ----------
    images : ndarray of shape (n, 1, H, W) or (n, H, W)
    heatmaps : ndarray of shape (n, H, W)
        From :func:`skcxr.explain.gradcam`.
    titles : list of str, default=None
        One per image (e.g. true label, probability).

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    plt = _pyplot()
    images = np.asarray(images)
    if images.ndim == 4:
        images = images[:, 0]
    if images.shape != np.shape(heatmaps):
        raise ValueError(
            f"images {images.shape} and heatmaps {np.shape(heatmaps)} must have the same shape."
        )
    n = len(images)
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
