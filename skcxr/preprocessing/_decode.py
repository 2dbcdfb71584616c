"""Turn one image (file, PIL image or array) into a resized 8-bit PIL image.

Every failure raises ``ValueError`` naming the item, so a batch loader can
report which file or index is bad instead of silently dropping it.
"""

import errno
import math
import os
import re
import stat
import threading
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ._dicom import has_dicom_marker, has_dicom_suffix, read_dicom
from ._errors import ItemError

RESIZE_MODES = ("stretch", "pad", "crop")
# Pillow's own bomb limit is the default; ``max_pixels`` then replaces it (see _open_pillow).
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS
# warnings.catch_warnings swaps the process-wide filter list; our decoding
# threads take turns so that none restores a list another has changed.
_PILLOW_WARNINGS_LOCK = threading.Lock()
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

    Returns an array of shape (channels, height, width), dtype uint8. Any
    failure is a ``ValueError`` naming the item.
    """
    what = describe(item, index)
    if not isinstance(item, (str, os.PathLike, Image.Image, np.ndarray)):
        raise ItemError(
            f"Item at index {index} is a {type(item).__name__}; expected a file "
            "path, a PIL image or a numpy array."
        )
    try:
        return _load_image(item, what, size=size, resize_mode=resize_mode,
                           grayscale=grayscale, max_pixels=max_pixels,
                           dicom_voi_lut=dicom_voi_lut)
    except (ItemError, ImportError, MemoryError):
        raise
    except Exception as exc:
        # Pillow and numpy fail on odd data with many exception types, some
        # without naming anything; the item must be named, the cause kept.
        raise ItemError(f"Cannot read {what}: {type(exc).__name__}: {exc}") from exc


def _load_image(item, what, *, size, resize_mode, grayscale, max_pixels, dicom_voi_lut):
    if isinstance(item, (str, os.PathLike)):
        image = _open_file(item, what, size=size, grayscale=grayscale, max_pixels=max_pixels,
                           dicom_voi_lut=dicom_voi_lut)
    elif isinstance(item, Image.Image):
        _check_pixels(item, what, max_pixels)
        image = ImageOps.exif_transpose(item)
    else:
        image = _array_to_image(item, what)
    image = _to_8bit(image, what)
    image = image.convert("L" if grayscale else "RGB")
    image = _resize(image, size, resize_mode)
    array = np.asarray(image, dtype=np.uint8)
    return array[np.newaxis] if grayscale else array.transpose(2, 0, 1)


def _open_file(path, what, *, size, grayscale, max_pixels, dicom_voi_lut):
    _check_is_file(path, what)
    if has_dicom_suffix(path):
        return _open_dicom(path, what, max_pixels, dicom_voi_lut)
    try:
        image = _open_pillow(path, what, max_pixels)
        # JPEG can decode straight to a smaller scale: much faster for
        # full-size X-rays. Ask for the longest side in both dimensions so
        # an EXIF rotation cannot leave a side short.
        side = max(size)
        image.draft("L" if grayscale else "RGB", (side, side))
        _load(image, what, max_pixels)
        return ImageOps.exif_transpose(image)
    except UnidentifiedImageError as exc:
        # Only files Pillow cannot identify are probed for the DICOM marker,
        # so ordinary images are opened once.
        if has_dicom_marker(path):
            return _open_dicom(path, what, max_pixels, dicom_voi_lut)
        raise ItemError(f"Cannot read {what}: not an image Pillow can identify.") from exc
    except PermissionError as exc:
        raise ItemError(f"Cannot read {what}: permission denied.") from exc
    except (ItemError, MemoryError):
        raise
    except Exception as exc:
        # Pillow reports truncated and corrupt data as OSError and SyntaxError
        # mostly, but also ValueError, struct.error, IndexError, ...
        raise ItemError(f"Cannot read {what}: corrupt or truncated image ({exc}).") from exc


def _check_is_file(path, what):
    """A ValueError that says what the path is when it is not a readable regular file."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            raise ItemError(
                f"Cannot read {what}: broken symbolic link (to {os.readlink(path)!r})."
            ) from None
        raise ItemError(f"Cannot read {what}: no such file.") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ItemError(f"Cannot read {what}: symbolic link loop.") from None
        raise ItemError(f"Cannot read {what}: {exc.strerror or exc}.") from None
    if stat.S_ISDIR(mode):
        raise ItemError(f"Cannot read {what}: it is a directory, not an image file.")
    if not stat.S_ISREG(mode):
        # A FIFO or device would block or stream forever.
        raise ItemError(f"Cannot read {what}: not a regular file.")


def _open_pillow(path, what, max_pixels):
    """``Image.open`` (header only) with ``max_pixels`` as the one size limit.

    Pillow warns above its global ``Image.MAX_IMAGE_PIXELS`` and refuses twice
    that. Its warning is silenced here, for this call only, because the check
    that follows applies ``max_pixels`` instead; the global stays untouched.
    """
    with _PILLOW_WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(path)
        except Image.DecompressionBombError as exc:
            raise _bomb_error(exc, what, max_pixels) from exc
    try:
        _check_pixels(image, what, max_pixels)
    except ItemError:
        image.close()
        raise
    return image


def _load(image, what, max_pixels):
    """Decode; some formats (TIFF) repeat Pillow's size check here."""
    if Image.MAX_IMAGE_PIXELS is None or math.prod(image.size) <= Image.MAX_IMAGE_PIXELS:
        image.load()
        return
    # Only images max_pixels allowed above Pillow's limit get here: rare, so
    # serialising them under the lock costs nothing in practice.
    with _PILLOW_WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise _bomb_error(exc, what, max_pixels) from exc


def _bomb_error(exc, what, max_pixels):
    """Pillow's hard limit (twice MAX_IMAGE_PIXELS) met: refuse in max_pixels' terms."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    pixels = f"{int(found.group(1))} pixels" if found else "more pixels than Pillow allows"
    hard_limit = 2 * Image.MAX_IMAGE_PIXELS
    if max_pixels is not None and max_pixels <= hard_limit:
        return ItemError(
            f"Refusing {what}: {pixels} exceeds max_pixels={max_pixels} (possible "
            "decompression bomb)."
        )
    return ItemError(
        f"Cannot read {what}: {pixels} is above Pillow's hard limit of {hard_limit} "
        f"(twice PIL.Image.MAX_IMAGE_PIXELS), which max_pixels={max_pixels} cannot lift: "
        "skcxr leaves that global alone. Raise PIL.Image.MAX_IMAGE_PIXELS yourself if "
        "you trust this file."
    )


def _open_dicom(path, what, max_pixels, voi_lut):
    # The size is checked from the header inside, before the pixels are decoded.
    return read_dicom(path, what, voi_lut=voi_lut,
                      check_size=lambda image_size: _check_pixels(image_size, what, max_pixels))


def _check_pixels(image, what, max_pixels):
    """Refuse an image (or a ``(width, height)`` size) that is empty or above ``max_pixels``."""
    width, height = image.size if isinstance(image, Image.Image) else image
    if min(width, height) < 1:
        raise ItemError(f"{what} is {width}x{height} pixels: it holds no pixel.")
    if max_pixels is not None and width * height > max_pixels:
        raise ItemError(
            f"Refusing {what}: {width}x{height} = {width * height} pixels exceeds "
            f"max_pixels={max_pixels} (possible decompression bomb)."
        )


def _array_to_image(array, what):
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
        array = _scale_high_bit(array, what)
    elif array.dtype != np.uint8:
        raise ItemError(
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
        raise ItemError(
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
