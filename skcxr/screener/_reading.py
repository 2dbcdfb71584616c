"""One file to a decoded film, or the reason a person can act on, in one pass over the file.

For each file, in this order: ``stat`` (a pipe, a socket or a device is
never opened), the first bytes (DICOM or an image, by content, whatever
the name), the header (the loader's ``max_pixels`` and the frame count
refuse a file there), the input guard's header checks (size, aspect ratio,
DICOM Modality, body part and view), then ONE decode at the model's scale,
the guard's colour check on that decode, and the loader's own conversion
and resizing. A film gets exactly the pixels that
``loader.transform([path])`` gives it, since both run the same steps
(:func:`skcxr.preprocessing.open_source` and its siblings); every failure becomes a
:class:`~skcxr.guard.Refusal` with the reader's own specific reason.
"""

import os
from dataclasses import dataclass

import numpy as np

from ..guard import Refusal
from ..preprocessing import (
    DICOM_FIELDS,
    ItemError,
    decode_source,
    dicom_header_warnings,
    image_to_array,
    open_source,
    sniff_format,
)

__all__ = ["DICOM_FIELDS", "Film", "dicom_identifiers", "read_film"]


@dataclass(slots=True)
class Film:
    """What reading one file gave: its pixels or why not, and its DICOM identifiers."""

    array: np.ndarray | None  # (channels, H, W) as the loader returns it
    refusal: Refusal | None  # None when decoded and not refused from the file
    dicom: tuple | None  # values of DICOM_FIELDS ("" where absent), for DICOM files
    note: str = ""  # how a DICOM film was read other than its header declares ("" mostly)


def read_film(path, loader, checks=None, *, size=None):
    """Read ``path`` as ``loader`` would, with the file checks on the way; never raises for a bad file.

    Parameters
    ----------
    path : str
    loader : fitted ImageLoader
        The screening model's own loader: its size, resize mode, channels,
        ``max_pixels`` and ``dicom_voi_lut`` apply.
    checks : skcxr.guard.FileChecks or None, default=None
        The input guard's file checks, run from the header and on the one
        decode; None runs none.
    size : tuple of (height, width), default=None
        ``loader._check_params()``, when the caller has validated the
        loader already (once for many films); None validates it here.

    Returns
    -------
    film : Film
    """
    size = loader._check_params() if size is None else size
    dicom = None
    try:
        with open_source(path, f"file {os.fspath(path)!r}", max_pixels=loader.max_pixels) as source:
            dicom = source.dicom_identifiers()
            refusal = _checked(checks, "header_refusal", source)
            if refusal is not None:
                return Film(None, refusal, dicom)
            image, colour, note = decode_source(
                source, side=max(size), grayscale=loader.grayscale,
                voi_lut=loader.dicom_voi_lut, colour=checks is not None)
            refusal = _checked(checks, "colour_refusal", colour)
            if refusal is not None:
                return Film(None, refusal, dicom, note)
            array = image_to_array(image, source.what, size=size, resize_mode=loader.resize_mode,
                           grayscale=loader.grayscale)
    except ItemError as exc:
        if dicom is None and exc.code not in _NEVER_OPENED:
            dicom = _identifiers_if_dicom(path)  # a refused DICOM file still names its patient
        return Film(None, Refusal(exc.code, exc.reason), dicom)
    except ImportError:
        return Film(None, Refusal("needs_pydicom", "DICOM needs pydicom (pip install "
                                                   "'skcxr[dicom]')"), dicom)
    return Film(array, None, dicom, note)


# Failures found before the file was opened: no header to read identifiers from.
_NEVER_OPENED = frozenset({"missing", "broken_link", "link_loop", "not_regular_file", "permission"})


def _identifiers_if_dicom(path):
    try:
        is_dicom = sniff_format(path) == "DICOM"
    except OSError:
        return None
    return dicom_identifiers(path) if is_dicom else None


def _checked(checks, name, subject):
    """A refusal from ``checks.<name>(subject)``; a check that fails on odd data refuses nothing."""
    if checks is None or subject is None:
        return None
    try:
        return getattr(checks, name)(subject)
    except Exception:  # noqa: BLE001 - the decoder, not a check, reports a bad file
        return None


def dicom_identifiers(path):
    """PatientID, StudyInstanceUID and AccessionNumber from the header ("" where absent).

    Only the header is read (``stop_before_pixels``). Empty values when
    pydicom is missing or the header is unreadable: decoding then reports
    the problem.
    """
    try:
        import pydicom

        # A deflated dataset is inflated whole before any tag is read (stop_before_pixels or
        # not): a decompression bomb the reader refused must not be inflated here.
        meta = pydicom.filereader.read_file_meta_info(path)
        if str(meta.get("TransferSyntaxUID", "")) == "1.2.840.10008.1.2.1.99":
            return ("",) * len(DICOM_FIELDS)
        with dicom_header_warnings(f"file {os.fspath(path)!r}"):
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=list(DICOM_FIELDS))
            return tuple(str(ds.get(name, "") or "") for name in DICOM_FIELDS)
    except Exception:  # noqa: BLE001 - pydicom raises many types; decoding names the problem
        return ("",) * len(DICOM_FIELDS)
