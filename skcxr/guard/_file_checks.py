"""Reasons to refuse a file found from its header and its one decode, before the model sees it.

DICOM headers say outright what a file is (modality, view, body part); for
ordinary images the size, the aspect ratio and the colour of the decoded
pixels are enough to tell a photograph or a banner from a film. None of
this needs the classifier.

:class:`FileChecks` holds the checks; a screen runs them while it reads
each file (the header checks before decoding, the colour check on the
decode the model gets), and :func:`file_refusals` runs the same checks on
their own, decoding at most a small draft of each image.
"""

import os
from dataclasses import dataclass

from PIL import Image, ImageChops

from ..preprocessing import ItemError, decode_source, is_grey_mode, open_source
from ._refusals import Refusal

# Radiography modalities: computed (CR) and digital (DX) radiography; "DR"
# is no DICOM term but some vendors write it.
RADIOGRAPHY_MODALITIES = frozenset({"CR", "DX", "DR"})
LATERAL_VIEWS = frozenset({"LL", "RL", "LAT", "LATERAL"})
OBLIQUE_VIEWS = frozenset({"LLO", "RLO", "OBLIQUE"})
# BodyPartExamined is free text in practice ("CHEST", "THORAX", "PORT CHEST").
CHEST_WORDS = ("CHEST", "THORA", "LUNG")

# A pixel is "coloured" when its channels differ by more than this (0-255),
# which JPEG noise on a grey film never reaches.
COLOUR_CHROMA = 40
# The colour share is measured on the decoded image reduced (by averaging
# whole blocks of pixels) to about this many pixels on its shorter side
# (90 to 180): a share needs no more, and averaging hides no colour area
# that matters.
DRAFT_SIDE = 128


@dataclass(frozen=True)
class FileChecks:
    """The input guard's checks of one file: its header, then the colour of its pixels.

    Parameters
    ----------
    max_aspect_ratio : float, default=2.0
        Longer side over shorter side above which an image is refused;
        chest films are about 1:1 to 1.4:1.
    min_side : int, default=100
        Images with a shorter side (in pixels) are too small to be a film.
    max_colour_share : float, default=0.1
        Share of clearly coloured pixels above which an image is refused as
        a colour picture; X-ray films are grey, with at most a small
        coloured annotation.
    """

    max_aspect_ratio: float = 2.0
    min_side: int = 100
    max_colour_share: float = 0.1

    def header_refusal(self, source):
        """Why the file is refused from its header alone (None: nothing found).

        Parameters
        ----------
        source : skcxr.preprocessing._source.Source
            The opened file, header read, nothing decoded.

        Returns
        -------
        refusal : Refusal or None
            Why the file is refused; None when its header shows nothing wrong.
        """
        if source.dataset is not None:
            return _dicom_refusal(source.dataset)
        if source.image is not None and source.image.mode == "1":
            return _BINARY_IMAGE
        return self._size_refusal(*source.size)

    def image_refusal(self, image):
        """Why an image given in memory (not as a file) is refused: its size, then its colour.

        Parameters
        ----------
        image : PIL image
            The image as the caller gave it, before any resizing.

        Returns
        -------
        refusal : Refusal or None
            Why the image is refused; None when nothing is wrong.
        """
        if image.mode == "1":
            return _BINARY_IMAGE
        return self._size_refusal(*image.size) or self.colour_refusal(image)

    def _size_refusal(self, width, height):
        if min(width, height) < self.min_side:
            return Refusal("too_small", f"too small to be a film ({width}x{height} pixels)")
        ratio = max(width, height) / min(width, height)
        if ratio > self.max_aspect_ratio:
            return Refusal("aspect_ratio",
                           f"extreme aspect ratio ({ratio:.1f}:1, {width}x{height} pixels)")
        return None

    def colour_refusal(self, image):
        """Why a decoded image is refused for its colour (None: grey enough).

        Parameters
        ----------
        image : PIL image
            The file's decoded pixels, in any mode (a YCbCr JPEG decode too).

        Returns
        -------
        refusal : Refusal or None
            ``"colour"`` when too many pixels are coloured; None otherwise.
        """
        share = colour_share(image)
        if share > self.max_colour_share:
            return Refusal("colour", f"colour picture ({share:.0%} of pixels in colour), "
                                     "not a grey X-ray film")
        return None


def file_refusals(paths, *, max_aspect_ratio=2.0, min_side=100, max_colour_share=0.1):
    """Why each file is refused before decoding it for the model (None: nothing found).

    The checks of :class:`FileChecks`, on their own: each file's header is
    read, and the colour measured on a small draft decode (a JPEG decodes
    at 1/8 scale), never above Pillow's pixel limit ``PIL.Image.MAX_IMAGE_PIXELS``. A screen runs
    the same checks on the one decode it makes for the model instead.

    Parameters
    ----------
    paths : sequence of str or path-like
        Image or DICOM files.
    max_aspect_ratio : float, default=2.0
        Longer side over shorter side above which an image is refused;
        chest films are about 1:1 to 1.4:1.
    min_side : int, default=100
        Images with a shorter side (in pixels) are too small to be a film.
    max_colour_share : float, default=0.1
        Share of clearly coloured pixels above which an image is refused as
        a colour picture; X-ray films are grey, with at most a small
        coloured annotation.

    Returns
    -------
    refusals : list of (Refusal or None)
        One per path: None when nothing is wrong (or the file cannot be
        read: decoding reports that), else a :class:`Refusal` such as
        ``Refusal("not_radiograph", "not a chest radiograph (DICOM Modality CT)")``
        or ``Refusal("multi_frame", "3 pages in one file (multi-page TIFF): split them first")``.

    Examples
    --------
    >>> from skcxr.guard import file_refusals
    >>> file_refusals(["no-such-file.png"])
    [None]
    """
    checks = FileChecks(max_aspect_ratio=max_aspect_ratio, min_side=min_side,
                        max_colour_share=max_colour_share)
    return [_file_refusal(path, checks) for path in paths]


def _file_refusal(path, checks):
    try:
        with open_source(path, f"file {os.fspath(path)!r}", max_pixels=Image.MAX_IMAGE_PIXELS) as source:
            refusal = checks.header_refusal(source)
            if refusal is None and source.has_colour:
                _, colour, _ = decode_source(source, side=DRAFT_SIDE, grayscale=True, colour=True)
                refusal = checks.colour_refusal(colour)
            return refusal
    except ItemError as exc:
        # Several films in one file is a reason to refuse it, known from the
        # header; every other failure is the decoder's to report.
        return Refusal(exc.code, exc.reason) if exc.code == "multi_frame" else None
    except Exception:  # noqa: BLE001 - a file that cannot be read is the decoder's to report
        return None


def _dicom_refusal(ds):
    modality = _tag(ds, "Modality")
    if modality and modality not in RADIOGRAPHY_MODALITIES:
        return Refusal("not_radiograph", f"not a chest radiograph (DICOM Modality {modality})")
    body_part = _tag(ds, "BodyPartExamined")
    if body_part and not any(word in body_part for word in CHEST_WORDS):
        return Refusal("not_chest", f"not the chest (DICOM BodyPartExamined {body_part})")
    bits = ds.get("BitsStored") or ds.get("BitsAllocated")
    if bits is not None and str(bits).strip() == "1":
        return Refusal("binary", "a black-and-white image, not a film's grey levels (DICOM "
                                 "BitsStored 1)")
    view = _tag(ds, "ViewPosition")
    if view in LATERAL_VIEWS:
        return Refusal("lateral", f"lateral view (DICOM ViewPosition {view})")
    if view in OBLIQUE_VIEWS:
        return Refusal("oblique", f"oblique view (DICOM ViewPosition {view})")
    return None


_BINARY_IMAGE = Refusal("binary", "a black-and-white (1-bit) image, not a film's grey levels")


def _tag(ds, keyword):
    value = ds.get(keyword)
    return "" if value is None else str(value).strip().upper()


def colour_share(image):
    """Share of clearly coloured pixels of a decoded image (0 for grey modes).

    Parameters
    ----------
    image : PIL image

    Returns
    -------
    share : float in [0, 1]
    """
    if is_grey_mode(image.mode):
        return 0.0
    if image.mode in ("P", "PA"):  # averaging palette indices would mean nothing
        image = image.convert("RGB")
    factor = round(min(image.size) / DRAFT_SIDE)
    if factor > 1:
        image = image.reduce(factor)
    # Per-pixel max minus min of the channels, in Pillow's C loops (numpy's
    # reductions over a 3-long last axis cost several ms per film).
    red, green, blue = image.convert("RGB").split()
    highest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    lowest = ImageChops.darker(ImageChops.darker(red, green), blue)
    counts = ImageChops.subtract(highest, lowest).histogram()
    return sum(counts[COLOUR_CHROMA + 1:]) / sum(counts)

__all__ = ["FileChecks", "colour_share", "file_refusals"]
