"""Image transformers for scikit-learn pipelines, and reading a file as a picture to show.

:class:`ImageLoader` and :func:`read_image` are what most code needs. The
other names are the steps ImageLoader reads a file with, for code that
checks files while reading them the same way (the input guard's file
checks, a screen's reader): :func:`sniff_format`, :func:`check_regular_file`,
:func:`open_source`, :func:`decode_source`, :func:`image_to_array`,
:func:`dicom_header_warnings`, and the :class:`ItemError` each step raises
naming the file.
"""

from ._convert import image_to_array
from ._dicom import DICOM_FIELDS, dicom_header_warnings
from ._display import read_image
from ._errors import ItemError
from ._image_loader import ImageLoader
from ._open import check_regular_file, sniff_format
from ._source import decode_source, is_grey_mode, open_source

__all__ = [
    "DICOM_FIELDS",
    "ImageLoader",
    "ItemError",
    "check_regular_file",
    "decode_source",
    "dicom_header_warnings",
    "image_to_array",
    "is_grey_mode",
    "open_source",
    "read_image",
    "sniff_format",
]
