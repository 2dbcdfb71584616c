"""DICOM reading done carefully, in TorchXRayVision's manner.

MONOCHROME1 images (where higher values are darker) are inverted, raw values
are scaled by the bits actually stored (``BitsStored``, often 12 of 16), and
the VOI LUT or window (the display settings the file carries) is applied only
on request. pydicom is imported only when a DICOM file is met.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from ._errors import ItemError

DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})


def has_dicom_suffix(path):
    """True for a ``.dcm`` or ``.dicom`` file name."""
    return Path(path).suffix.lower() in DICOM_SUFFIXES


def has_dicom_marker(path):
    """True for a file with the 'DICM' marker after the 128-byte preamble."""
    try:
        with open(path, "rb") as f:
            header = f.read(132)
    except OSError:
        return False
    return header[128:132] == b"DICM"


def read_dicom(path, what, *, voi_lut=False, check_size=None):
    """Read a single-frame grayscale DICOM as an 8-bit PIL image.

    ``check_size((width, height))`` runs on the header's size before the
    pixel data is decoded (the decompression-bomb check).
    """
    try:
        import pydicom
        from pydicom.pixels import apply_voi_lut
    except ImportError as exc:
        raise ImportError(
            f"Reading {what} needs pydicom: pip install 'skcxr[dicom]'."
        ) from exc
    try:
        ds = pydicom.dcmread(path)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        size = (int(ds.Columns), int(ds.Rows))
    except Exception as exc:  # pydicom raises many types for bad files
        raise ItemError(f"Cannot read {what}: not a readable DICOM image ({exc}).") from exc
    if frames != 1:
        raise ItemError(f"{what} holds {frames} frames; expected one grayscale frame.")
    if check_size is not None:
        check_size(size)
    try:
        raw = ds.pixel_array
    except Exception as exc:
        raise ItemError(f"Cannot read {what}: not a readable DICOM image ({exc}).") from exc
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if raw.ndim != 2 or photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ItemError(
            f"{what} holds {photometric} pixel data of shape {raw.shape}; expected one "
            "grayscale frame (MONOCHROME1 or MONOCHROME2)."
        )
    bits = int(ds.get("BitsStored", raw.dtype.itemsize * 8))
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    values = raw.astype(np.float64)
    if voi_lut:
        # The window maps onto the same stored-bits output range.
        values = apply_voi_lut(raw, ds).astype(np.float64)
    scaled = np.clip((values - low) / (high - low), 0, 1)
    if photometric == "MONOCHROME1":
        scaled = 1 - scaled
    return Image.fromarray(np.round(scaled * 255).astype(np.uint8))
