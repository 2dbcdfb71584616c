"""Pictures for the report as inline ``data:`` URLs: films, heatmap overlays, plots.

Figures are drawn on :class:`matplotlib.figure.Figure` objects directly,
without pyplot, so no GUI backend is touched and nothing global changes.
"""

import base64
import io

import numpy as np
from PIL import Image

from ..plot import plot_confusion_matrix, plot_precision_recall, plot_reliability, plot_roc


def _matplotlib():
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("The HTML report needs matplotlib: pip install 'skcxr[plot]'.") from exc
    return matplotlib, Figure


def png_data_url(image):
    """A PIL image as a ``data:image/png;base64,...`` URL."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def film_image(array):
    """A decoded film ``(channels, H, W)`` uint8 as a PIL image."""
    array = np.asarray(array)
    return Image.fromarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0))


def overlay_image(array, heatmap, *, max_alpha=0.55):
    """The film in grey with the heatmap in colour over it.

    The colour's opacity follows the heatmap, so where the network found no
    evidence the film shows through untouched.
    """
    matplotlib, _ = _matplotlib()
    grey = np.asarray(film_image(array).convert("RGB"), dtype=np.float32) / 255
    heat = np.clip(np.asarray(heatmap, dtype=np.float32), 0, 1)
    colour = matplotlib.colormaps["jet"](heat)[..., :3]
    alpha = (max_alpha * heat)[..., np.newaxis]
    blended = (1 - alpha) * grey + alpha * colour
    return Image.fromarray(np.round(blended * 255).astype(np.uint8))


def curve_figures(y_true, y_score, *, threshold, pos_label):
    """ROC, precision-recall, confusion matrix and reliability diagram, as ``(title, data URL)``."""
    _, Figure = _matplotlib()
    drawn = []
    for title, draw in (
        ("ROC curve", lambda ax: plot_roc(y_true, y_score, threshold=threshold,
                                          pos_label=pos_label, ax=ax)),
        ("Precision-recall curve", lambda ax: plot_precision_recall(
            y_true, y_score, threshold=threshold, pos_label=pos_label, ax=ax)),
        ("Confusion matrix", lambda ax: plot_confusion_matrix(
            y_true, y_score, threshold=threshold, pos_label=pos_label, ax=ax)),
        ("Reliability diagram", lambda ax: plot_reliability(
            y_true, y_score, pos_label=pos_label, ax=ax)),
    ):
        figure = Figure(figsize=(4.6, 4.2), dpi=100, layout="constrained")
        draw(figure.subplots())
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        drawn.append((title, "data:image/png;base64,"
                      + base64.b64encode(buffer.getvalue()).decode("ascii")))
    return drawn
