"""Turn one image (file, PIL image or array) into the model's input array.

Every failure raises ``ValueError`` naming the item, so a batch loader can
report which file or index is bad instead of silently dropping it.
"""

import os
import warnings

import numpy as np
from PIL import Image, ImageOps

from ._convert import RESIZE_MODES, array_to_image, image_to_array
from ._errors import ItemError
from ._pillow import DEFAULT_MAX_PIXELS, check_pixels, check_single_frame
from ._source import decode_source, open_source

__all__ = ["DEFAULT_MAX_PIXELS", "RESIZE_MODES", "describe", "load_image"]


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
        if isinstance(item, (str, os.PathLike)):
            return _load_file(item, what, size=size, resize_mode=resize_mode,
                              grayscale=grayscale, max_pixels=max_pixels,
                              dicom_voi_lut=dicom_voi_lut)
        if isinstance(item, Image.Image):
            check_pixels(item, what, max_pixels)
            check_single_frame(item, what)
            image = ImageOps.exif_transpose(item)  # a copy: the caller's image stays as given
        else:
            image = array_to_image(item, what)
        return image_to_array(image, what, size=size, resize_mode=resize_mode, grayscale=grayscale)
    except (ItemError, ImportError, MemoryError):
        raise
    except Exception as exc:
        # Pillow and numpy fail on odd data with many exception types, some
        # without naming anything; the item must be named, the cause kept.
        raise ItemError(f"Cannot read {what}: {type(exc).__name__}: {exc}") from exc


def _load_file(path, what, *, size, resize_mode, grayscale, max_pixels, dicom_voi_lut):
    with open_source(path, what, max_pixels=max_pixels) as source:
        image, _, note = decode_source(source, side=max(size), grayscale=grayscale,
                                       voi_lut=dicom_voi_lut)
        if note:
            warnings.warn(f"{what}: {note}.", UserWarning, stacklevel=4)
        return image_to_array(image, what, size=size, resize_mode=resize_mode, grayscale=grayscale)
