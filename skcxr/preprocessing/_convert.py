"""From a decoded image to the model's input: 8 bits, one or three channels, the model's size.

The last step of every reading path (files, PIL images, arrays), so that a
film gets the same pixels however it reached the model.
"""

import math

import numpy as np
from PIL import Image

from ._errors import ItemError

RESIZE_MODES = ("stretch", "pad", "crop")
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def image_to_array(image, what, *, size, resize_mode, grayscale):
    """Convert a decoded image to the model's input: 8 bits, one or three channels, resized.

    The last step of :class:`ImageLoader` for every item, files and arrays alike.

    Parameters
    ----------
    image : PIL image
        As :func:`decode_source` returns it (any mode, 16-bit grey included).
    what : str
        How error messages name the image (``"file 'a.png'"``).
    size : tuple of (height, width)
        Output size in pixels.
    resize_mode : {"stretch", "pad", "crop"}
        As ``ImageLoader``'s.
    grayscale : bool
        One channel ("L"); otherwise three (RGB).

    Returns
    -------
    array : ndarray of shape (1 or 3, height, width), uint8
        The image as ``ImageLoader.transform`` gives it.
    """
    image = to_8bit(image, what)
    target = "L" if grayscale else "RGB"
    if image.mode != target:  # converting to the same mode would only copy
        image = image.convert(target)
    image = resize(image, size, resize_mode)
    array = np.asarray(image, dtype=np.uint8)
    return array[np.newaxis] if grayscale else array.transpose(2, 0, 1)


def array_to_image(array, what):
    """A numpy image, (height, width[, channels]), as a PIL image; refused when it is not one."""
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[2] not in (1, 3, 4):
        # An item is (height, width[, channels]) by contract; say what this looks like.
        raise ItemError(
            f"{what} has shape {array.shape}, which looks channels-first (channels, height, "
            "width); images in a list are read as (height, width) or (height, width, "
            "channels). Pass np.moveaxis(image, 0, -1)."
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ItemError(
            f"{what} has shape {array.shape}; expected (height, width) or "
            "(height, width, channels) with 1, 3 or 4 channels."
        )
    if min(array.shape[:2]) < 1:
        raise ItemError(f"{what} has shape {array.shape}: it holds no pixel.")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ItemError(f"{what} contains NaN or infinite values.")
        if array.min() < 0 or array.max() > 1:
            raise ItemError(
                f"{what} is floating point with values in [{array.min():g}, "
                f"{array.max():g}]; float images must lie in [0, 1]."
            )
        array = np.round(array * 255).astype(np.uint8)
    elif array.dtype in (np.uint16, np.int32, np.int64, np.uint32) and array.ndim == 2:
        array = scale_high_bit(array, what)
    elif array.dtype != np.uint8:
        raise ItemError(
            f"{what} has dtype {array.dtype}; expected uint8, uint16 (grayscale), "
            "bool or float in [0, 1]."
        )
    return Image.fromarray(np.ascontiguousarray(array))


# Rows converted at a time from a high-bit PIL image: a strip costs a few MB, where a
# whole 9000x9000 16-bit film as one array cost about 1 GB (a copy and float temporaries).
_STRIP_PIXELS = 1 << 20


def to_8bit(image, what):
    """Map 16-bit, 32-bit integer and float images to 8 bits."""
    if image.mode not in _HIGH_BIT_MODES:
        return image
    if image.mode == "F":
        return array_to_image(np.asarray(image, dtype=np.float32), what)
    low, high = image.getextrema()  # no copy of the pixels
    table = _scale_table(low, high, what)
    width, height = image.size
    out = np.empty((height, width), dtype=np.uint8)
    rows = max(1, _STRIP_PIXELS // width)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        out[top:bottom] = table[np.asarray(image.crop((0, top, width, bottom)))]
    return Image.fromarray(out)


def scale_high_bit(array, what):
    """Scale integer data by its inferred bit depth (8, 10, 12, 14 or 16).

    Files rarely record how many of 16 bits are used (12 is common for
    X-rays); the smallest depth that holds the maximum keeps the full
    grey range without stretching each image's own contrast.
    """
    return _scale_table(int(array.min()), int(array.max()), what)[array]


def _scale_table(low, high, what):
    """The 8-bit value of each integer 0..65535 at the bit depth ``high`` needs, as a table.

    A lookup gives exactly what scaling each pixel in float32 and rounding
    gave, without a float copy of the image.
    """
    low, high = int(low), int(high)
    if low < 0 or high > 65535:
        raise ItemError(
            f"{what} has integer values in [{low}, {high}]; expected 0 to 65535.",
            code="unreadable", reason=f"integer values in [{low}, {high}], outside 0 to 65535")
    bits = next(b for b in (8, 10, 12, 14, 16) if high < 2**b)
    scaled = np.arange(2**bits, dtype=np.float32) * (255 / (2**bits - 1))
    return np.round(scaled).astype(np.uint8)


def resize(image, size, mode):
    """``image`` at ``size`` (height, width) by ``mode``: "stretch", "pad" or "crop"."""
    height, width = size
    w, h = image.size
    if (w, h) == (width, height):
        return image
    if mode == "stretch":
        return image.resize((width, height), Image.Resampling.BILINEAR)
    if mode == "crop":
        scale = max(width / w, height / h)
        new = (max(width, math.ceil(w * scale)), max(height, math.ceil(h * scale)))
        image = image.resize(new, Image.Resampling.BILINEAR)
        left, top = (new[0] - width) // 2, (new[1] - height) // 2
        return image.crop((left, top, left + width, top + height))
    # "pad": fit the whole image, centred on a black canvas.
    scale = min(width / w, height / h)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    canvas = Image.new(image.mode, (width, height))
    canvas.paste(image.resize(new, Image.Resampling.BILINEAR),
                 ((width - new[0]) // 2, (height - new[1]) // 2))
    return canvas
