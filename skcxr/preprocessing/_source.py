"""One image file, read in one pass: look, open, sniff, header checks, then one decode.

The order is the point. ``stat`` first (a pipe or a device is never
opened), the first bytes next (DICOM or an image, by content), then the
header: the size against ``max_pixels`` and the frame count are refused
there, before any pixel is decoded. What the caller checks next from the
header (the input guard: size, aspect, DICOM Modality and view) also costs
no decode. Only then are the pixels decoded, once, at the scale the model
needs; a colour check measures that same decode.

:class:`~skcxr.preprocessing.ImageLoader` and a screen's reader both read
files through :func:`open_source` and :func:`decode_source`, so a screen
gives a film exactly the pixels the model was trained on.
"""

from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from ._dicom import decode_dicom, dicom_identifiers, has_dicom_suffix, read_dicom_header
from ._errors import ItemError
from ._open import IMAGE_FORMATS, not_an_image, open_regular_file, read_head, sniff
from ._pillow import decode_pillow, is_ycbcr_jpeg, open_pillow

# Modes without colour: a colour check has nothing to measure.
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F"})


def is_grey_mode(mode):
    """Whether a PIL mode holds no colour: 1-bit, 8-, 16-, 32-bit and float grey (alpha aside).

    Parameters
    ----------
    mode : str
        A PIL image mode (``"L"``, ``"I;16"``, ``"RGB"``, ...).

    Returns
    -------
    grey : bool
        True for a grey mode.
    """
    return mode in GREY_MODES or mode.startswith("I;")


@dataclass(slots=True)
class Source:
    """An open image file whose header was read and checked; no pixel decoded yet.

    Attributes
    ----------
    path : str
    what : str
        How messages name the file.
    file : binary file object
        The open file.
    kind : str
        What its first bytes say: "JPEG", "DICOM", "text file", ...
    size : tuple of (width, height)
    image : PIL image or None
        The Pillow image, opened and not loaded (None for DICOM).
    dataset : pydicom.Dataset or None
        The DICOM dataset, pixel data not decoded (None for other images).
    max_pixels : int or None
        The size limit the header passed.
    """

    path: str
    what: str
    file: object
    kind: str
    size: tuple
    image: Image.Image | None = None
    dataset: object | None = None
    max_pixels: int | None = None

    @property
    def has_colour(self):
        """Whether the file's pixels may hold colour (a colour check needs a decode)."""
        return self.image is not None and not is_grey_mode(self.image.mode)

    def dicom_identifiers(self):
        """PatientID, StudyInstanceUID, AccessionNumber of a DICOM file; None for other images."""
        return None if self.dataset is None else dicom_identifiers(self.dataset)


@contextmanager
def open_source(path, what, *, max_pixels):
    """Open ``path`` and read its header; a :class:`Source` while the file stays open.

    A context manager: the file is closed when the ``with`` block ends.

    Parameters
    ----------
    path : str or path-like
        The file. A pipe, a socket or a device is refused without opening it.
    what : str
        How error messages name the file (``"file 'a.png'"``).
    max_pixels : int or None
        Refuse an image with more pixels than this, from its header.

    Yields
    ------
    source : Source
        The open file with its header read (size, kind, DICOM dataset or
        Pillow image); nothing decoded yet.

    Raises
    ------
    ItemError
        Naming the file, with the code a worklist row gets: ``missing``,
        ``broken_link``, ``link_loop``, ``not_regular_file``, ``permission``,
        ``not_image``, ``truncated``, ``unreadable``, ``too_large``,
        ``multi_frame``, ``unsupported_dicom``.
    ImportError
        For a DICOM file without pydicom installed.
    """
    with open_regular_file(path, what) as file:
        kind = "unknown content"
        try:
            kind = sniff(read_head(file))
            source = _read_header(file, str(path), what, kind, max_pixels)
        except (ItemError, ImportError, MemoryError):
            raise
        except Exception as exc:
            raise read_error(exc, what, kind) from exc
        try:
            yield source
        finally:
            if source.image is not None:
                source.image.close()


def _read_header(file, path, what, kind, max_pixels):
    if kind == "DICOM":
        return _dicom_source(file, path, what, max_pixels, force=False)
    try:
        image = open_pillow(file, what, max_pixels)
    except UnidentifiedImageError:
        if kind == "unknown content" and has_dicom_suffix(path):
            # Binary data named DICOM, without the marker: try it as a bare DICOM
            # dataset; if that fails too, nothing says it is one.
            file.seek(0)
            try:
                return _dicom_source(file, path, what, max_pixels, force=True)
            except ItemError as exc:
                if exc.code != "unreadable":
                    raise
                raise not_an_image(kind, path, what) from exc
        if kind in IMAGE_FORMATS:
            raise ItemError(f"Cannot read {what}: corrupt or truncated image (its {kind} "
                            "header cannot be parsed).", code="unreadable",
                            reason=f"corrupt {kind}") from None
        raise not_an_image(kind, path, what) from None
    return Source(path, what, file, kind, image.size, image=image, max_pixels=max_pixels)


def _dicom_source(file, path, what, max_pixels, force):
    dataset = read_dicom_header(file, what, max_pixels=max_pixels, force=force)
    return Source(path, what, file, "DICOM", (int(dataset.Columns), int(dataset.Rows)),
                  dataset=dataset, max_pixels=max_pixels)


def decode_source(source, *, side, grayscale, voi_lut=False, colour=False):
    """Decode a :class:`Source` once, oriented by its EXIF tag.

    Parameters
    ----------
    source : Source
        From :func:`open_source`, still open.
    side : int
        The longest side the caller will resize to: a JPEG decodes at the
        smallest scale (1/2 to 1/8) that keeps at least this many pixels.
    grayscale : bool
        Whether the caller keeps one channel only (a colour JPEG then
        decodes its luminance only, unless ``colour``).
    voi_lut : bool, default=False
        For DICOM: apply the file's VOI LUT or window.
    colour : bool, default=False
        Keep what a colour check needs in the same decode (a colour JPEG
        decodes to YCbCr, whose Y plane is bit-identical to the grey
        decode).

    Returns
    -------
    image : PIL image
        For :func:`image_to_array`.
    colour_image : PIL image or None
        What a colour check measures (``image`` itself but for rare
        RGB-coded JPEGs, decoded a second time); None unless ``colour``.
    note : str
        How a DICOM file was read other than its header declares; "" mostly.
    """
    try:
        if source.dataset is not None:
            image, note = decode_dicom(source.dataset, source.what, voi_lut=voi_lut)
            return image, image if colour else None, note
        mode = "L" if grayscale else "RGB"
        second = None
        if colour and grayscale and source.image.mode == "RGB" and source.image.format in (
                "JPEG", "MPO"):
            if is_ycbcr_jpeg(source.image):
                mode = "YCbCr"
            else:
                second = _rgb_coded_colour(source, side)
        image = decode_pillow(source.image, source.what, source.max_pixels, side=side, mode=mode)
        ImageOps.exif_transpose(image, in_place=True)  # our own image: no copy needed
        return image, (second or image) if colour else None, ""
    except (ItemError, ImportError, MemoryError):
        raise
    except Exception as exc:
        raise read_error(exc, source.what, source.kind) from exc


def _rgb_coded_colour(source, side):
    """An RGB-coded JPEG (Adobe transform 0) cannot decode to YCbCr: decode its colour apart.

    Its grey decode is libjpeg's own RGB-to-grey, which Pillow's conversion
    does not reproduce bit for bit; such files are rare.
    """
    file = source.file
    position = file.tell()
    file.seek(0)
    try:
        with Image.open(file) as image:
            image.draft("RGB", (side, side))
            image.load()
            return image.copy()
    finally:
        file.seek(position)


def read_error(exc, what, kind):
    """A decoding failure of Pillow, pydicom or numpy, as an :class:`ItemError` naming the file.

    Pillow reports truncated and corrupt data as OSError and SyntaxError
    mostly, but also ValueError, struct.error, IndexError, ...
    """
    if isinstance(exc, PermissionError):
        return ItemError(f"Cannot read {what}: permission denied.", code="permission",
                         reason="cannot open the file (permission denied)")
    if isinstance(exc, OSError) and exc.errno is not None:
        # The operating system failed the read (EIO from /proc/self/mem, a failing disk):
        # the file could not be read, which says nothing about its image. Pillow's own
        # decoding errors are OSErrors without an errno.
        message = exc.strerror or str(exc)
        return ItemError(f"Cannot read {what}: the read failed ({message}).", code="unreadable",
                         reason=f"cannot read the file ({message})")
    text = f"{exc} {exc.__cause__ or ''}".lower()
    name = kind if kind in IMAGE_FORMATS else "image"
    if "truncated" in text:
        code, reason = "truncated", f"truncated {name}"
    else:
        code, reason = "unreadable", f"corrupt {name}"
    return ItemError(f"Cannot read {what}: corrupt or truncated image ({type(exc).__name__}: "
                     f"{exc}).", code=code, reason=reason)
