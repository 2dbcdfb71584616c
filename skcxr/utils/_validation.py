"""Input checks for CXRClassifier: clear errors that name the problem."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import type_of_target

MIN_SIDE = 32


def check_image_batch(X, *, channels=None, size=None):
    """Return X as an image batch ``(n, channels, H, W)`` (uint8 or float).

    A 3-D array ``(n, H, W)`` gains a channel axis. Float data must be finite
    and lie in [0, 1] (what ``ImageLoader(dtype="float32")`` gives).
    ``channels`` and ``size`` (height, width), when given, are what a fitted
    network expects: a network fitted at one size scores other sizes
    wrongly, without failing.

    Parameters
    ----------
    X : array-like of shape (n_samples, channels, height, width) or (n_samples, height, width)
        The images, uint8 or floats in [0, 1], at least 32x32 pixels.
    channels : int, default=None
        The channels ``X`` must have (those of a fitted network).
    size : tuple of (height, width), default=None
        The size ``X`` must have.

    Returns
    -------
    X : ndarray of shape (n_samples, channels, height, width)
        The images: uint8 as given, or float32.

    Raises
    ------
    ValueError
        Naming what is wrong: dtype, shape (a channels-last batch included),
        image size, channels, values outside [0, 1], NaN or infinity.
    TypeError
        For a sparse matrix.
    """
    if sp.issparse(X):
        raise TypeError("Sparse input is not supported: X must be an image batch array.")
    if isinstance(X, (list, tuple)) and X and isinstance(X[0], str):
        raise ValueError(
            "X holds file paths; decode them first, e.g. "
            "make_pipeline(ImageLoader(size=224), CXRClassifier())."
        )
    X = np.asarray(X)
    if X.dtype.kind not in "uif" and X.dtype != np.bool_:
        raise ValueError(
            f"X has dtype {X.dtype}; expected uint8 images or floats in [0, 1] "
            "(use skcxr.preprocessing.ImageLoader to decode files)."
        )
    _check_layout(X.shape, channels)
    if X.ndim == 3:
        X = X[:, np.newaxis]
    if X.ndim != 4:
        raise ValueError(
            f"X has shape {X.shape}; expected an image batch (n_samples, channels, "
            "height, width) or (n_samples, height, width), as ImageLoader returns."
        )
    n, c, h, w = X.shape
    if n == 0:
        raise ValueError(f"X has shape {X.shape}: 0 samples.")
    if min(h, w) < MIN_SIDE:
        raise ValueError(
            f"X has images of {h}x{w} pixels; CXRClassifier needs at least "
            f"{MIN_SIDE}x{MIN_SIDE}."
        )
    if channels is not None and c != channels:
        raise ValueError(
            f"X has {c} channel(s) but the classifier was fitted on {channels}."
        )
    if size is not None and (h, w) != tuple(size):
        raise ValueError(
            f"X has images of {h}x{w} pixels but the classifier was fitted on "
            f"{size[0]}x{size[1]}; load them at the fitted size, e.g. "
            f"ImageLoader(size=({size[0]}, {size[1]}))."
        )
    if X.dtype == np.uint8:
        return X
    if X.dtype.kind == "f":
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinite values.")
        low, high = X.min(), X.max()
        if low < 0 or high > 1:
            raise ValueError(
                f"X is floating point with values in [{low:g}, {high:g}]; float "
                "images must lie in [0, 1] (uint8 images may be passed as they are)."
            )
        return X.astype(np.float32, copy=False)
    raise ValueError(
        f"X has dtype {X.dtype}; expected uint8 (0-255) or float in [0, 1]."
    )


# Trailing axis lengths that make a batch look channels-last (gray, RGB, RGBA).
_LAST_AXIS_CHANNELS = (1, 3, 4)


def _check_layout(shape, channels):
    """Refuse a batch that reads as channels-last, or as either layout.

    Such a trailing axis would be the images' width, far below ``MIN_SIDE``,
    so no valid batch is refused; the message says what the shape looks like
    instead of reporting images a few pixels wide.
    """
    if len(shape) not in (3, 4) or shape[-1] not in _LAST_AXIS_CHANNELS or 0 in shape[:1]:
        return
    if len(shape) == 3:
        raise ValueError(
            f"X has shape {shape}: a stack of {shape[0]} grayscale images {shape[2]} "
            "pixel(s) wide, or one channels-last (height, width, channels) image? "
            "CXRClassifier takes a batch (n_samples, channels, height, width), as "
            "ImageLoader returns; for one image pass np.moveaxis(X, -1, 0)[np.newaxis]."
        )
    expected = (1, 3) if channels is None else (channels,)
    looks = "is ambiguous: it also reads as" if shape[1] in expected else "looks"
    raise ValueError(
        f"X has shape {shape}, which {looks} channels-last (n_samples, height, width, "
        "channels); CXRClassifier takes channels-first batches (n_samples, channels, "
        "height, width). Pass np.moveaxis(X, -1, 1) if X is channels-last, or decode "
        "images with skcxr.preprocessing.ImageLoader."
    )


def check_binary_target(y, n_samples, *, allow_single_class=False):
    """Return y as a 1-D array of exactly two classes, matching X's length.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, 1)
        Labels of any type.
    n_samples : int
        The number of images they label.
    allow_single_class : bool, default=False
        Let ``y`` hold one of the two classes (for ``partial_fit``, where
        ``classes`` names both).

    Returns
    -------
    y : ndarray of shape (n_samples,)
        The labels.

    Raises
    ------
    ValueError
        When ``y`` is not one label per image, or not binary.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y has shape {y.shape}; expected one label per image.")
    if len(y) != n_samples:
        raise ValueError(f"X has {n_samples} images but y has {len(y)} labels.")
    try:
        kind = type_of_target(y, input_name="y")
        classes = np.unique(y)
    except TypeError:  # None among strings, say: sorting them fails inside numpy
        kinds = sorted({type(label).__name__ for label in y.ravel().tolist()})
        raise ValueError(f"y mixes labels of types that cannot be compared ({', '.join(kinds)}): "
                         "every image needs a label of one kind (a missing label is None?).") from None
    if len(classes) == 1 and not allow_single_class:
        raise ValueError(
            f"y has a single class ({classes[0]!r}); CXRClassifier needs both "
            "classes (e.g. NORMAL and PNEUMONIA) to learn."
        )
    if kind != "binary":
        raise ValueError(
            f"y is {kind} with {len(classes)} classes; CXRClassifier is a binary "
            f"classifier (e.g. NORMAL vs PNEUMONIA). Classes seen: {classes[:10]}."
        )
    return y
