"""One file to a decoded film, or a short reason a person can act on.

:class:`~skcxr.preprocessing.ImageLoader` raises a ``ValueError`` naming
the file for anything it cannot read; a worklist row needs less: "truncated
JPEG", "not an image (text file named .jpeg)". The loader does the decoding
(so a screen sees exactly what the model saw in training); this module
routes files by content and shortens the loader's errors.
"""

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..guard import Refusal
from ..preprocessing._dicom import has_dicom_suffix
from ._files import IMAGE_FORMATS, image_suffix, sniff_format

DICOM_FIELDS = ("PatientID", "StudyInstanceUID", "AccessionNumber")


@dataclass(slots=True)
class Film:
    """What reading one file gave: its pixels or why not, and its DICOM identifiers."""

    array: np.ndarray | None  # (channels, H, W) as the loader returns it
    refusal: Refusal | None  # None when decoded and not refused from the file
    dicom: tuple | None  # values of DICOM_FIELDS ("" where absent), for DICOM files


def read_film(path, loader):
    """Decode ``path`` with ``loader``; never raises for a bad file.

    Parameters
    ----------
    path : str
    loader : fitted ImageLoader
        The screening model's own loader.

    Returns
    -------
    film : Film
    """
    try:
        kind = sniff_format(path)
    except PermissionError:
        return Film(None, Refusal("permission", "cannot open the file (permission denied)"), None)
    except OSError as exc:
        return Film(None, Refusal("unreadable", f"cannot open the file ({exc.strerror or exc})"),
                    None)
    dicom = dicom_identifiers(path) if kind == "DICOM" else None
    try:
        if kind in IMAGE_FORMATS and kind != "DICOM" and has_dicom_suffix(path):
            # An image named .dcm: the loader would read it as DICOM by its name.
            with Image.open(path) as image:
                image.load()
                array = loader.transform([image])[0]
        else:
            array = loader.transform([path])[0]
    except (ValueError, ImportError, OSError) as exc:
        return Film(None, short_reason(exc, kind, path), dicom)
    return Film(array, None, dicom)


def short_reason(exc, kind, path):
    """A :class:`Refusal` with a few words saying why ``path`` (holding ``kind``) could not be read."""
    if isinstance(exc, ImportError):
        return Refusal("needs_pydicom", "DICOM needs pydicom (pip install 'skcxr[dicom]')")
    text = str(exc)
    detail = f"{text} {exc.__cause__ or ''}".lower()
    if "no such file" in detail:
        return Refusal("missing", "file not found (moved or deleted during the screen)")
    if "max_pixels" in text or isinstance(exc.__cause__, Image.DecompressionBombError):
        return Refusal("too_large", "too many pixels (possible decompression bomb)")
    if kind == "DICOM":
        frame = re.search(r"holds (\S+) pixel data of shape (\([^)]*\))", text)
        if frame:
            return Refusal("unsupported_dicom", f"DICOM is not one grayscale frame "
                                                f"({frame.group(1)}, shape {frame.group(2)})")
        if "no pixel data" in detail:
            return Refusal("unsupported_dicom", "DICOM without pixel data")
        if "less than expected" in detail or "truncated" in detail:
            return Refusal("truncated", "truncated DICOM")
        return Refusal("unreadable", "unreadable DICOM")
    if kind in IMAGE_FORMATS:
        if "truncated" in detail:
            return Refusal("truncated", f"truncated {kind}")
        return Refusal("unreadable", f"corrupt {kind}")
    suffix = image_suffix(path)
    return Refusal("not_image", f"not an image ({kind}{f' named {suffix}' if suffix else ''})")


def dicom_identifiers(path):
    """PatientID, StudyInstanceUID and AccessionNumber from the header ("" where absent).

    Only the header is read (``stop_before_pixels``). Empty values when
    pydicom is missing or the header is unreadable: decoding then reports
    the problem.
    """
    try:
        import pydicom

        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=list(DICOM_FIELDS))
    except Exception:  # noqa: BLE001 - pydicom raises many types; decoding names the problem
        return ("",) * len(DICOM_FIELDS)
    return tuple(str(ds.get(name, "") or "") for name in DICOM_FIELDS)
