"""DICOM reading done carefully, in TorchXRayVision's manner, and by the standard's pipeline.

The stored values go through the file's modality transform (``RescaleSlope``
and ``RescaleIntercept``, sign included: a negative slope is data to
rescale, not an inverted film), then onto the grey range that ``BitsStored``
spans (often 12 of 16 bits); the VOI LUT or window (the display settings
the file carries) replaces that range only on request (``voi_lut=True``);
MONOCHROME1 (higher values darker) is inverted last.

Headers lie about bit depth. ``BitsStored`` equal to ``BitsAllocated``
(16) says no more than the container's size: like a 16-bit PNG, such data
is scaled by the bits its values use (8, 10, 12, 14 or 16), so 12-bit data
is not squeezed into the darkest sixteenth of the grey range. Values above
what ``BitsStored`` allows are read the same way rather than wrapped
around. Either fallback is reported as a note (a warning from the loader,
``Film.note`` in a screen).

The header is read and checked (size, frames, colour, whether the
compression can be decoded here) before any pixel is decoded. pydicom is
imported only when a DICOM file is met.
"""

import os
import re
import struct
import warnings
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

from ._errors import ItemError
from ._pillow import PILLOW_WARNINGS_LOCK, check_pixels, multi_frame_error

DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})
DICOM_FIELDS = ("PatientID", "StudyInstanceUID", "AccessionNumber")
GREY = ("MONOCHROME1", "MONOCHROME2")
_DEPTHS = (8, 10, 12, 14, 16, 18, 20, 24, 32)
# PyPI names of the modules pydicom names in its missing-decoder messages.
_PYPI_NAMES = {"gdcm": "python-gdcm", "numpy": None}


def has_dicom_suffix(path):
    """True for a ``.dcm`` or ``.dicom`` file name."""
    return Path(path).suffix.lower() in DICOM_SUFFIXES


def import_pydicom(what):
    """pydicom, or an ImportError with the install hint."""
    try:
        import pydicom
    except ImportError as exc:
        raise ImportError(f"Reading {what} needs pydicom: pip install 'skcxr[dicom]'.") from exc
    return pydicom


def read_dicom_header(file, what, *, max_pixels, force=False):
    """Read a DICOM file (pixel data still encoded) and refuse what cannot become one grey film.

    Parameters
    ----------
    file : binary file object
    what : str
        How messages name the file.
    max_pixels : int or None
        Checked on the header's Rows and Columns, before any decoding.
    force : bool, default=False
        Read a file without the DICM marker (one named ``.dcm``).

    Returns
    -------
    dataset : pydicom.Dataset

    Raises
    ------
    ItemError
        ``unreadable``, ``too_large``, ``multi_frame`` or ``unsupported_dicom``.
    ImportError
        Without pydicom, with the install hint.
    """
    pydicom = import_pydicom(what)
    _check_deflated_size(file, what, max_pixels)
    try:
        with dicom_header_warnings(what):
            ds = pydicom.dcmread(file, force=force)
            for _ in ds.iterall():
                pass  # converts every element now, so that its warnings are caught here
        # A DICOM object (it names its class or modality, or an image size) without pixels;
        # a file with none of these is garbage, read as unreadable below.
        if "PixelData" not in ds and any(tag in ds for tag in ("SOPClassUID", "Modality", "Rows")):
            raise _no_pixel_data(ds, what)
        size = (int(ds.Columns), int(ds.Rows))
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except ItemError:
        raise
    except Exception as exc:  # pydicom raises many types for bad files
        raise ItemError(f"Cannot read {what}: not a readable DICOM image ({exc}).",
                        code="unreadable", reason=f"unreadable DICOM ({_first_line(exc)})") from exc
    check_pixels(size, what, max_pixels)
    if frames != 1:
        raise multi_frame_error(what, frames, "frames", "multi-frame DICOM")
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if photometric not in GREY or samples != 1:
        raise ItemError(
            f"{what} holds {photometric} pixel data with {samples} sample(s) per pixel; "
            "expected one grayscale frame (MONOCHROME1 or MONOCHROME2).",
            code="unsupported_dicom",
            reason=f"DICOM is not one grayscale frame ({photometric}, {samples} samples per pixel)")
    _check_decoder(ds, what)
    return ds


@contextmanager
def dicom_header_warnings(what):
    """Catch pydicom's warnings while a header is read; pass on the ones that matter, naming the file.

    pydicom checks each element's value against its VR as it converts it
    ("The value length (80) exceeds the maximum length of 64 allowed for VR
    LO", "Invalid value for VR DA"), warning without the file's name, and
    again at each later access. These are dropped: the film is read from
    numeric image tags, which fail loudly when unusable, and text values
    (PatientID) are copied to the worklist as written. Any other pydicom
    warning is repeated once, with the file's name.

    A context manager, around ``pydicom.dcmread`` and the first access to
    the elements.

    Parameters
    ----------
    what : str
        How the repeated warning names the file (``"file 'a.dcm'"``).

    Yields
    ------
    None
    """
    # catch_warnings swaps process-wide state: threads take turns, as for Pillow's header.
    with PILLOW_WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    kept = []
    for warning in caught:
        if not _is_pydicom(warning.filename):
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)  # another thread's: not ours to judge
        elif Path(warning.filename).name != "valuerep.py" and str(warning.message) not in kept:
            kept.append(str(warning.message))
    if kept:
        warnings.warn(f"{what}: {'; '.join(kept)}", UserWarning, stacklevel=3)


def _is_pydicom(filename):
    return f"{os.sep}pydicom{os.sep}" in filename


DEFLATED = "1.2.840.10008.1.2.1.99"  # Deflated Explicit VR Little Endian
# Long VRs of explicit VR little endian: 2 reserved bytes, then a 4-byte length.
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"}


def _check_deflated_size(file, what, max_pixels):
    """Refuse a deflated DICOM whose inflated dataset exceeds what ``max_pixels`` allows.

    pydicom inflates the whole dataset in memory before any tag can be read,
    so Rows and Columns come too late: a 300 kB file declaring 16000x16000
    pixels would take gigabytes. The inflated size is counted here in small
    pieces, without keeping them. The file position is restored.
    """
    if max_pixels is None:
        return
    start = file.tell()
    try:
        offset = _deflated_offset(file)
        if offset is None:
            return
        file.seek(start + offset)
        limit = 2 * max_pixels + (16 << 20)  # 16-bit pixels and a generous header
        inflater, inflated = zlib.decompressobj(-zlib.MAX_WBITS), 0
        while inflated <= limit:
            chunk = inflater.unconsumed_tail or file.read(1 << 16)
            if not chunk:
                break
            inflated += len(inflater.decompress(chunk, 1 << 20))
        if inflated > limit:
            raise ItemError(
                f"Refusing {what}: its deflated DICOM dataset inflates to more than "
                f"{limit} bytes, beyond what max_pixels={max_pixels} allows (possible "
                "decompression bomb).", code="too_large",
                reason=f"deflated DICOM inflating beyond max_pixels={max_pixels} (possible "
                       "decompression bomb)")
    except (zlib.error, OSError, struct.error):
        return  # pydicom reads it next and names what is wrong
    finally:
        file.seek(start)


def _deflated_offset(file):
    """Where a deflated dataset starts (after the file meta group), or None if not deflated."""
    head = file.read(132)
    if len(head) < 132 or head[128:] != b"DICM":
        return None
    offset, syntax = 132, None
    while True:
        element = file.read(8)
        if len(element) < 8:
            return None
        group, _ = struct.unpack("<HH", element[:4])
        if group != 2:
            break
        vr = element[4:6]
        if vr in _LONG_VRS:
            length = struct.unpack("<I", file.read(4))[0]
            offset += 12 + length
        else:
            length = struct.unpack("<H", element[6:8])[0]
            offset += 8 + length
        value = file.read(length)
        if element[:4] == b"\x02\x00\x10\x00":  # (0002,0010) TransferSyntaxUID
            syntax = value.rstrip(b"\x00 ").decode("ascii", "replace")
    return offset if syntax == DEFLATED else None


def _no_pixel_data(ds, what):
    """The refusal of a DICOM object that holds no image: a structured report, a dose sheet."""
    sop = ds.get("SOPClassUID")
    kind = ", ".join(part for part in (
        f"SOP class {getattr(sop, 'name', sop)}" if sop else "",
        f"Modality {str(ds.get('Modality', '')).strip()}" if ds.get("Modality") else "") if part)
    reason = f"has no pixel data{f' ({kind})' if kind else ''}: not an image"
    return ItemError(f"Cannot read {what}: a DICOM file that {reason}.",
                     code="unsupported_dicom", reason=f"DICOM {reason}")


def _check_decoder(ds, what):
    """Refuse, before decoding, compressed pixel data that no installed plugin can decode."""
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or not syntax.is_compressed:
        return
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        available, missing = False, []
    else:
        available, missing = decoder.is_available, decoder.missing_dependencies
    if available:
        return
    hint = install_hint(missing)
    raise ItemError(
        f"Cannot read {what}: its pixel data is compressed as {syntax.name}, and no decoder "
        f"for it is installed{f' ({hint})' if hint else ''}.",
        code="unsupported_dicom",
        reason=f"DICOM compressed as {syntax.name}: no decoder installed"
               f"{f' ({hint})' if hint else ''}")


def install_hint(missing):
    """What to install, from pydicom's missing-dependency messages.

    ``["gdcm - requires gdcm>=3.0.10", "pylibjpeg - requires pylibjpeg>=2.0
    and pylibjpeg-libjpeg>=2.1"]`` gives "pip install pylibjpeg
    pylibjpeg-libjpeg, or python-gdcm" (pylibjpeg first: wheels for every
    platform).
    """
    options = []
    for line in missing:
        _, _, requires = line.partition("requires")
        names = [re.split(r"[<>=! ]", part.strip())[0] for part in requires.split(" and ")]
        names = [_PYPI_NAMES.get(name, name) for name in names if name]
        if any(names):
            options.append(" ".join(name for name in names if name))
    options.sort(key=lambda option: not option.startswith("pylibjpeg"))
    return f"pip install {', or '.join(options)}" if options else ""


def decode_dicom(ds, what, *, voi_lut=False):
    """The grey film of a dataset from :func:`read_dicom_header`, as an 8-bit PIL image.

    Returns
    -------
    image : PIL image, mode "L"
    note : str
        Empty, or how the reading departed from what the header declares.
    """
    try:
        if not _signed(ds):
            # Unused high bits are kept: values above BitsStored are data to
            # read (see the module's notes), not bits to wrap around. Signed
            # data keeps pydicom's correction, which extends the sign bit.
            ds.pixel_array_options(correct_unused_bits=False)
        raw = ds.pixel_array
    except Exception as exc:
        text = str(exc)
        if "less than expected" in text or "truncated" in text.lower():
            code, reason = "truncated", "truncated DICOM (less pixel data than the header says)"
        else:
            code, reason = "unreadable", (_undecoded(ds, exc)
                                          or f"unreadable DICOM pixel data ({_first_line(exc)})")
        raise ItemError(f"Cannot read {what}: not a readable DICOM image ({exc}).",
                        code=code, reason=reason) from exc
    if raw.ndim != 2:
        raise ItemError(f"{what} holds DICOM pixel data of shape {raw.shape}; expected one "
                        "grayscale frame.", code="unsupported_dicom",
                        reason=f"DICOM is not one grayscale frame (shape {raw.shape})")
    if "RescaleSlope" in ds and ds.RescaleSlope is not None and float(ds.RescaleSlope) == 0:
        # Every modality value would be the intercept: a damaged header, not a blank film.
        raise ItemError(f"{what} declares RescaleSlope 0, which maps every pixel to one value: "
                        "its header is damaged.", code="unsupported_dicom",
                        reason="DICOM RescaleSlope 0 (every pixel would be one value)")
    scaled, note = _to_unit_range(raw, ds, voi_lut)
    if str(ds.PhotometricInterpretation).strip() == "MONOCHROME1":
        scaled = 1 - scaled
    return Image.fromarray(np.round(scaled * 255).astype(np.uint8)), note


def _undecoded(ds, exc):
    """Why compressed pixel data failed to decode, as one whole sentence; None if not compressed.

    pydicom's message is a header line ("Unable to decode as exceptions were
    raised by all available plugins:") and a line per plugin: the plugins'
    reasons are kept, with what else could decode the syntax.
    """
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or not syntax.is_compressed:
        return None
    from pydicom.pixels import get_decoder

    try:
        missing = get_decoder(syntax).missing_dependencies
    except NotImplementedError:
        missing = []
    header, *plugins = [line.strip() for line in str(exc).strip().splitlines()] or [""]
    failures = "; ".join(line for line in plugins if line) or header
    failures = re.sub(r" ?<[^<>]* object at 0x[0-9a-f]+>", "", failures)  # addresses say nothing
    hint = install_hint(missing)
    other = (f"; the data may be damaged, or need a decoder that is not installed ({hint})"
             if hint else "; the data may be damaged")
    return f"DICOM compressed as {syntax.name} could not be decoded ({failures}){other}"


def _to_unit_range(raw, ds, voi_lut):
    """Stored values to [0, 1]: modality transform, then the window or the stored-bits range."""
    if voi_lut and (ds.get("VOILUTSequence") or "WindowCenter" in ds):
        return _voi(_modality(raw, ds), ds), ""
    low, high, note = _stored_range(raw, ds)
    if ds.get("ModalityLUTSequence"):
        from pydicom.pixels import apply_modality_lut

        depth = int(ds.ModalityLUTSequence[0].LUTDescriptor[2])
        values = apply_modality_lut(np.clip(raw, low, high), ds).astype(np.float64)
        return np.clip(values / (2**depth - 1), 0, 1), note
    scaled = np.clip((raw.astype(np.float64) - low) / (high - low), 0, 1)
    # A linear rescale keeps the grey order when its slope is positive, and
    # reverses it when negative; its intercept does not matter here.
    if float(ds.get("RescaleSlope", 1) or 1) < 0:
        scaled = 1 - scaled
    return scaled, note


def _stored_range(raw, ds):
    """The range of stored values that spans black to white, and a note when not the header's."""
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or raw.dtype.itemsize * 8)
    allocated = int(ds.get("BitsAllocated") or raw.dtype.itemsize * 8)
    highest = int(raw.max())
    used = next((b for b in _DEPTHS if highest < 2**b), None)
    if _signed(ds):
        # Signed data with no negative value (a detector's counts written as signed): the
        # signed range would put it all in the upper half of the greys, squeezed to a few
        # levels for 12-bit data in 16 bits (refused as a near-constant frame).
        lowest = int(raw.min())
        if bits == allocated and lowest >= 0 and used is not None and used < bits:
            return 0, 2**used - 1, (f"PixelRepresentation 1 (signed) with BitsStored {bits}, "
                                    f"but no value is negative and the values use {used} bits "
                                    f"(up to {highest}): scaled by {used} bits")
        depth = next((b for b in _DEPTHS if -(2 ** (b - 1)) <= lowest and highest < 2 ** (b - 1)),
                     None)
        if bits == allocated and depth is not None and depth < bits:
            return -(2 ** (depth - 1)), 2 ** (depth - 1) - 1, (
                f"BitsStored {bits} (the whole container) but the signed values use {depth} bits "
                f"({lowest} to {highest}): scaled by {depth} bits")
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, ""
    if highest > 2**bits - 1:
        depth = used or highest.bit_length()
        return 0, 2**depth - 1, (f"values up to {highest} exceed BitsStored {bits}: "
                                 f"scaled by {depth} bits")
    if bits == allocated and used is not None and used < bits:
        return 0, 2**used - 1, (f"BitsStored {bits} (the whole container) but the values use "
                                f"{used} bits (up to {highest}): scaled by {used} bits")
    return 0, 2**bits - 1, ""


def _signed(ds):
    return int(ds.get("PixelRepresentation", 0) or 0) == 1


def _modality(raw, ds):
    from pydicom.pixels import apply_modality_lut

    return np.asarray(apply_modality_lut(raw, ds), dtype=np.float64)


def _voi(values, ds):
    """The VOI LUT table, or else the first window, mapped onto [0, 1] (PS3.3 C.11.2)."""
    if ds.get("VOILUTSequence"):
        from pydicom.pixels import apply_voi

        depth = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        return np.clip(apply_voi(values, ds).astype(np.float64) / (2**depth - 1), 0, 1)
    center, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
    if function == "SIGMOID":
        return 1 / (1 + np.exp(-4 * (values - center) / max(width, 1e-6)))
    if function == "LINEAR_EXACT":
        return np.clip((values - center) / max(width, 1e-6) + 0.5, 0, 1)
    # LINEAR, the default: centre and width in the standard's half-pixel terms.
    return np.clip((values - (center - 0.5)) / max(width - 1, 1e-6) + 0.5, 0, 1)


def _first(value):
    """The first of a multi-valued DS element (a file may carry several windows)."""
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def dicom_identifiers(ds):
    """PatientID, StudyInstanceUID and AccessionNumber of a dataset ("" where absent)."""
    return tuple(str(ds.get(name, "") or "") for name in DICOM_FIELDS)


def _first_line(exc):
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= 100 else line[:97] + "..."
