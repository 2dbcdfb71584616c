"""Pictures for the report as inline ``data:`` URLs: films, heatmap overlays, plots.

Films are decoded again for display, at their own aspect ratio: the model's
input is stretched to a square, which would misshape a chest for a reader.
Figures are drawn on :class:`matplotlib.figure.Figure` objects directly,
without pyplot, so no GUI backend is touched and nothing global changes.
"""

import base64
import io
from pathlib import PurePath

import numpy as np
from PIL import Image

from ..plot import plot_confusion_matrix, plot_precision_recall, plot_reliability, plot_roc
from ..preprocessing import read_image

FILM_SIDE = 256  # pixels of a thumbnail's longer side: sharp at the page's 128 CSS px on HiDPI


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


def jpeg_data_url(image, quality=85):
    """A PIL image as a ``data:image/jpeg;base64,...`` URL.

    Thumbnails of films are photographs of a kind: JPEG keeps them a fifth
    of PNG's size, which counts in a page holding a hundred of them.
    """
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def display_film(path, loader, *, max_side=FILM_SIDE):
    """The file at ``path`` decoded for display at its own aspect ratio, or None.

    Decoded as the model's ``loader`` decodes (DICOM scaling, EXIF
    orientation, the same ``max_pixels`` limit) but not resized to the
    model's square: shrunk so that its longer side is ``max_side``. Colour
    stays colour, so a photograph the guard refused shows as one.

    Parameters
    ----------
    path : str
    loader : ImageLoader
        The screening model's loader.
    max_side : int, default=FILM_SIDE

    Returns
    -------
    image : PIL.Image.Image ("L" or "RGB") or None
        None when the file cannot be decoded: its row says why.
    """
    try:
        # Decoded in colour whatever the model reads: a refused photograph should look like one.
        image = read_image(path, max_side=max_side, max_pixels=loader.max_pixels,
                           dicom_voi_lut=loader.dicom_voi_lut)
    except Exception:  # noqa: BLE001 - a picture that cannot be drawn is left out, never fatal
        return None
    if image.mode == "RGB":
        pixels = np.asarray(image)
        if (pixels == pixels[..., :1]).all():  # grey films saved as RGB (R = G = B)
            image = image.convert("L")
    return image


def overlay_image(image, heatmap, *, max_alpha=0.55):
    """The film in grey with the heatmap in colour over it.

    The heatmap, computed on the model's square input, is stretched back to
    the film's own shape. The colour's opacity follows the heatmap, so where
    the network found no evidence the film shows through untouched.

    Parameters
    ----------
    image : PIL.Image.Image
        The film as :func:`display_film` gives it.
    heatmap : ndarray of shape (H, W)
        Values in [0, 1].
    max_alpha : float, default=0.55

    Returns
    -------
    overlay : PIL.Image.Image
    """
    matplotlib, _ = _matplotlib()
    grey = np.asarray(image.convert("L").convert("RGB"), dtype=np.float32) / 255
    heat = Image.fromarray(np.clip(np.asarray(heatmap, dtype=np.float32), 0, 1), mode="F")
    heat = np.clip(np.asarray(heat.resize(image.size, Image.Resampling.BILINEAR)), 0, 1)
    colour = matplotlib.colormaps["jet"](heat)[..., :3]
    alpha = (max_alpha * heat)[..., np.newaxis]
    blended = (1 - alpha) * grey + alpha * colour
    return Image.fromarray(np.round(blended * 255).astype(np.uint8))


def draw_curve_figures(y_true, y_score, *, threshold, pos_label, name=None):
    """ROC, precision-recall, confusion matrix and reliability diagram as matplotlib Figures.

    Parameters
    ----------
    y_true, y_score : array-like of shape (n_samples,)
    threshold : float
        The operating threshold, marked on the curves.
    pos_label : str
        The flagged class.
    name : str, default=None
        The model's name (a pretrained name or a file), in the legends;
        shortened to its file name and 20 characters, so that the legend
        keeps clear of the curve.

    Returns
    -------
    figures : list of (str, matplotlib.figure.Figure)
        Title and figure, in page order.
    """
    _, Figure = _matplotlib()
    name = _legend_name(name)
    drawn = []
    for title, draw in (
        ("ROC curve", lambda ax: plot_roc(y_true, y_score, threshold=threshold,
                                          pos_label=pos_label, name=name, ax=ax)),
        ("Precision-recall curve", lambda ax: plot_precision_recall(
            y_true, y_score, threshold=threshold, pos_label=pos_label, name=name, ax=ax)),
        ("Confusion matrix", lambda ax: plot_confusion_matrix(
            y_true, y_score, threshold=threshold, pos_label=pos_label, ax=ax)),
        ("Reliability diagram", lambda ax: plot_reliability(
            y_true, y_score, pos_label=pos_label, name=name, ax=ax)),
    ):
        figure = Figure(figsize=(4.6, 4.2), dpi=100, layout="constrained")
        draw(figure.subplots())
        drawn.append((title, figure))
    return drawn


def _legend_name(name, limit=20):
    if name is None:
        return None
    name = PurePath(str(name)).name or str(name)
    return name if len(name) <= limit else name[:limit - 1] + "…"


def curve_figures(y_true, y_score, *, threshold, pos_label, name=None):
    """:func:`draw_curve_figures` as ``(title, PNG data URL)`` pairs."""
    urls = []
    for title, figure in draw_curve_figures(y_true, y_score, threshold=threshold,
                                            pos_label=pos_label, name=name):
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        urls.append((title, "data:image/png;base64,"
                     + base64.b64encode(buffer.getvalue()).decode("ascii")))
    return urls
