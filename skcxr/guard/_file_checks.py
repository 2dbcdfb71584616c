"""Reasons to refuse a file found before decoding it for the model.

DICOM headers say outright what a file is (modality, view, body part); for
ordinary images the size, the aspect ratio and the colour of a small draft
decode are enough to tell a photograph or a banner from a film. None of this
needs the classifier, and nothing here raises for a bad file: a file that
cannot be opened gets no reason, and the decoder reports it.
"""

import os
import warnings

import numpy as np
from PIL import Image

from ..preprocessing._dicom import has_dicom_marker, has_dicom_suffix
from ._refusals import Refusal

# Radiography modalities: computed (CR) and digital (DX) radiography; "DR"
# is no DICOM term but some vendors write it.
RADIOGRAPHY_MODALITIES = frozenset({"CR", "DX", "DR"})
LATERAL_VIEWS = frozenset({"LL", "RL", "LAT", "LATERAL"})
OBLIQUE_VIEWS = frozenset({"LLO", "RLO", "OBLIQUE"})
# BodyPartExamined is free text in practice ("CHEST", "THORAX", "PORT CHEST").
CHEST_WORDS = ("CHEST", "THORA", "LUNG")

# Colour of a draft decode: a pixel is "coloured" when its channels differ by
# more than this (0-255), which JPEG noise on a grey film never reaches.
COLOUR_CHROMA = 40
DRAFT_SIDE = 128


def file_refusals(paths, *, max_aspect_ratio=2.0, min_side=100, max_colour_share=0.1):
    """Why each file is refused before decoding it for the model (None: nothing found).

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
        opened: decoding reports that), else a :class:`Refusal` such as
        ``Refusal("not_radiograph", "not a chest radiograph (DICOM Modality CT)")``.

    Examples
    --------
    >>> from skcxr.guard import file_refusals
    >>> file_refusals(["no-such-file.png"])
    [None]
    """
    limits = dict(max_aspect_ratio=max_aspect_ratio, min_side=min_side,
                  max_colour_share=max_colour_share)
    return [_file_reason(path, **limits) for path in paths]


def _file_reason(path, **limits):
    try:
        if not os.path.isfile(path):
            return None
        if has_dicom_suffix(path) or has_dicom_marker(path):
            return _dicom_reason(path)
        return _image_reason(path, **limits)
    except Exception:  # a file that cannot be read is the decoder's to report
        return None


def _dicom_reason(path):
    try:
        import pydicom
    except ImportError:
        return None  # decoding names the missing package with an install hint
    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    modality = _tag(ds, "Modality")
    if modality and modality not in RADIOGRAPHY_MODALITIES:
        return Refusal("not_radiograph", f"not a chest radiograph (DICOM Modality {modality})")
    body_part = _tag(ds, "BodyPartExamined")
    if body_part and not any(word in body_part for word in CHEST_WORDS):
        return Refusal("not_chest", f"not the chest (DICOM BodyPartExamined {body_part})")
    view = _tag(ds, "ViewPosition")
    if view in LATERAL_VIEWS:
        return Refusal("lateral", f"lateral view (DICOM ViewPosition {view})")
    if view in OBLIQUE_VIEWS:
        return Refusal("oblique", f"oblique view (DICOM ViewPosition {view})")
    return None


def _tag(ds, keyword):
    value = ds.get(keyword)
    return "" if value is None else str(value).strip().upper()


def _image_reason(path, *, max_aspect_ratio, min_side, max_colour_share):
    with warnings.catch_warnings():
        # Pillow warns on very large images; the decoder refuses those itself.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            width, height = image.size
            if min(width, height) < min_side:
                return Refusal("too_small", f"too small to be a film ({width}x{height} pixels)")
            ratio = max(width, height) / min(width, height)
            if ratio > max_aspect_ratio:
                return Refusal("aspect_ratio",
                               f"extreme aspect ratio ({ratio:.1f}:1, {width}x{height} pixels)")
            share = _colour_share(image)
    if share > max_colour_share:
        return Refusal("colour",
                       f"colour picture ({share:.0%} of pixels in colour), not a grey X-ray film")
    return None


def _colour_share(image):
    """Share of clearly coloured pixels, from a small draft decode."""
    if image.mode in ("1", "L", "LA", "I", "F") or image.mode.startswith("I;"):
        return 0.0
    if image.mode == "RGB" or image.mode == "CMYK" or image.mode == "YCbCr":
        # JPEG decodes straight to a fraction of the size: cheap for big photos.
        image.draft("RGB", (DRAFT_SIDE, DRAFT_SIDE))
    image = image.convert("RGB")
    image.thumbnail((DRAFT_SIDE, DRAFT_SIDE))
    rgb = np.asarray(image, dtype=np.int16)
    chroma = rgb.max(axis=2) - rgb.min(axis=2)
    return float(np.mean(chroma > COLOUR_CHROMA))
