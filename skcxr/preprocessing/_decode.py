"""Turn one image (file, PIL image or array) into a resized 8-bit PIL image.

Every failure raises ``ValueError`` naming the item, so a batch loader can
report which file or index is bad instead of silently dropping it.
"""

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ._dicom import has_dicom_marker, has_dicom_suffix, read_dicom

RESIZE_MODES = ("stretch", "pad", "crop")
# Pillow's own bomb limit; images above it are refused before decoding.
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS
_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def describe(item, index):
    """Name an input item in an error message."""
    if isinstance(item, (str, os.PathLike)):
        return f"file {str(item)!r} (index {index})"
    if isinstance(item, Image.Image):
        return f"PIL image at index {index}"
    return f"array at index {index}"


def load_image(item, index, *, size, resize_mode, grayscale, max_pixels, dicom_voi_lut=False):
    """Decode, orient, convert and resize one image.

    Returns an array of shape (channels, height, width), dtype uint8.
    """
    what = describe(item, index)
    if isinstance(item, (str, os.PathLike)):
        image = _open_file(item, what, size=size, grayscale=grayscale, max_pixels=max_pixels,
                           dicom_voi_lut=dicom_voi_lut)
    elif isinstance(item, Image.Image):
        _check_pixels(item, what, max_pixels)
        image = ImageOps.exif_transpose(item)
    elif isinstance(item, np.ndarray):
        image = _array_to_image(item, what)
    else:
        raise ValueError(
            f"Item at index {index} is a {type(item).__name__}; expected a file "
            "path, a PIL image or a numpy array."
        )
    image = _to_8bit(image, what)
    image = image.convert("L" if grayscale else "RGB")
    image = _resize(image, size, resize_mode)
    array = np.asarray(image, dtype=np.uint8)
    return array[np.newaxis] if grayscale else array.transpose(2, 0, 1)


def _open_file(path, what, *, size, grayscale, max_pixels, dicom_voi_lut):
    if not Path(path).is_file():
        raise ValueError(f"Cannot read {what}: no such file.")
    if has_dicom_suffix(path):
        return _open_dicom(path, what, max_pixels, dicom_voi_lut)
    try:
        image = Image.open(path)
        _check_pixels(image, what, max_pixels)
        # JPEG can decode straight to a smaller scale: much faster for
        # full-size X-rays. Ask for the longest side in both dimensions so
        # an EXIF rotation cannot leave a side short.
        side = max(size)
        image.draft("L" if grayscale else "RGB", (side, side))
        image.load()
        return ImageOps.exif_transpose(image)
    except UnidentifiedImageError as exc:
        # Only files Pillow cannot identify are probed for the DICOM marker,
        # so ordinary images are opened once.
        if has_dicom_marker(path):
            return _open_dicom(path, what, max_pixels, dicom_voi_lut)
        raise ValueError(f"Cannot read {what}: not an image Pillow can identify.") from exc
    except Image.DecompressionBombError as exc:
        raise ValueError(f"Cannot read {what}: {exc}") from exc
    except (OSError, SyntaxError) as exc:
        # Pillow reports truncated and corrupt data as OSError/SyntaxError.
        raise ValueError(f"Cannot read {what}: corrupt or truncated image ({exc}).") from exc


def _open_dicom(path, what, max_pixels, voi_lut):
    image = read_dicom(path, what, voi_lut=voi_lut)
    _check_pixels(image, what, max_pixels)
    return image


def _check_pixels(image, what, max_pixels):
    width, height = image.size
    if max_pixels is not None and width * height > max_pixels:
        raise ValueError(
            f"Refusing {what}: {width}x{height} = {width * height} pixels exceeds "
            f"max_pixels={max_pixels} (possible decompression bomb)."
        )


def _array_to_image(array, what):
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(
            f"{what} has shape {array.shape}; expected (height, width) or "
            "(height, width, channels) with 1, 3 or 4 channels."
        )
    if min(array.shape[:2]) < 1:
        raise ValueError(f"{what} has shape {array.shape}: it holds no pixel.")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{what} contains NaN or infinite values.")
        if array.min() < 0 or array.max() > 1:
            raise ValueError(
                f"{what} is floating point with values in [{array.min():g}, "
                f"{array.max():g}]; float images must lie in [0, 1]."
            )
        array = np.round(array * 255).astype(np.uint8)
    elif array.dtype in (np.uint16, np.int32, np.int64, np.uint32) and array.ndim == 2:
        array = _scale_high_bit(array, what)
    elif array.dtype != np.uint8:
        raise ValueError(
            f"{what} has dtype {array.dtype}; expected uint8, uint16 (grayscale), "
            "bool or float in [0, 1]."
        )
    return Image.fromarray(np.ascontiguousarray(array))


def _to_8bit(image, what):
    """Map 16-bit, 32-bit integer and float images to 8 bits."""
    if image.mode not in _HIGH_BIT_MODES:
        return image
    if image.mode == "F":
        return _array_to_image(np.asarray(image, dtype=np.float32), what)
    return Image.fromarray(_scale_high_bit(np.asarray(image), what))


def _scale_high_bit(array, what):
    """Scale integer data by its inferred bit depth (8, 10, 12, 14 or 16).

    Files rarely record how many of 16 bits are used (12 is common for
    X-rays); the smallest depth that holds the maximum keeps the full
    grey range without stretching each image's own contrast.
    """
    low, high = int(array.min()), int(array.max())
    if low < 0 or high > 65535:
        raise ValueError(
            f"{what} has integer values in [{low}, {high}]; expected 0 to 65535."
        )
    bits = next(b for b in (8, 10, 12, 14, 16) if high < 2**b)
    scaled = array.astype(np.float32) * (255 / (2**bits - 1))
    return np.round(scaled).astype(np.uint8)


def _resize(image, size, mode):
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
