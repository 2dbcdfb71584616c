"""Pillow images: the header first (size, frames, mode), then one decode at the scale needed.

``max_pixels`` is the one size limit, applied to the header's size before
any pixel is decoded. Pillow warns above its global
``Image.MAX_IMAGE_PIXELS`` and refuses twice that; its warning is silenced
here, for these calls only, because ``max_pixels`` decides instead, and the
global stays untouched.
"""

import math
import re
import threading
import warnings

from PIL import Image

from ._errors import ItemError

# Pillow's own bomb limit is the default; ``max_pixels`` then replaces it.
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS
# warnings.catch_warnings swaps the process-wide filter list; our decoding
# threads take turns so that none restores a list another has changed.
PILLOW_WARNINGS_LOCK = threading.Lock()
# JPEG component ids 'R', 'G', 'B': libjpeg reads such a file as RGB, not YCbCr.
_RGB_COMPONENT_IDS = [ord("R"), ord("G"), ord("B")]


def open_pillow(file, what, max_pixels):
    """``Image.open`` (the header only), refused above ``max_pixels`` or with several frames.

    Raises
    ------
    PIL.UnidentifiedImageError
        When Pillow does not know the format (the caller decides what else to try).
    ItemError
        ``too_large`` or ``multi_frame``, naming the file.
    """
    with PILLOW_WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(file)
        except Image.DecompressionBombError as exc:
            raise bomb_error(exc, what, max_pixels) from exc
    try:
        check_pixels(image, what, max_pixels)
        check_single_frame(image, what)
    except BaseException:
        image.close()
        raise
    return image


def check_single_frame(image, what):
    """Refuse a multi-page TIFF, an animated GIF, PNG (APNG) or WebP: no page is picked for the model.

    An MPO file (a JPEG with extra pictures appended, as some cameras write)
    is read as its primary picture only when every other picture is marked
    a large thumbnail of it (a preview); pictures of any other kind (another
    view, a stereo eye, unmarked) make it a multi-picture file, refused.
    """
    if image.format == "MPO" and _only_previews(image):
        return
    n_frames = getattr(image, "n_frames", 1)  # TIFF and GIF walk their frame headers here
    if image.format in ("ICO", "ICNS"):
        # An icon holds one picture per size, each stored whole: nothing says they show the
        # same thing, and Pillow reads the largest. More than one is refused, as frames are.
        n_frames = len(image.info.get("sizes") or ()) or 1
    if n_frames > 1:
        unit = {"TIFF": "pages", "ICO": "pictures", "ICNS": "pictures"}.get(image.format, "frames")
        kind = {"TIFF": "multi-page TIFF", "GIF": "animated GIF", "PNG": "animated PNG (APNG)",
                "WEBP": "animated WebP", "MPO": "JPEG with several pictures (MPO)",
                "ICO": "icon with several sizes", "ICNS": "icon with several sizes"}.get(
            image.format, f"multi-frame {image.format}")
        raise multi_frame_error(what, n_frames, unit, kind)


def _only_previews(image):
    """Whether an MPO file's pictures after the first are all marked large thumbnails."""
    entries = (getattr(image, "mpinfo", None) or {}).get(0xB002) or []
    return all(str(entry.get("Attribute", {}).get("MPType", "")).startswith("Large Thumbnail")
               for entry in entries[1:])


def multi_frame_error(what, n_frames, unit, kind):
    """The error for a file holding several films: it is never reduced to one."""
    return ItemError(
        f"Refusing {what}: it holds {n_frames} {unit} ({kind}); skcxr reads one film per file "
        "and never picks one. Split it into one file per film first.",
        code="multi_frame", reason=f"{n_frames} {unit} in one file ({kind}): split them first")


def check_pixels(image, what, max_pixels):
    """Refuse an image (or a ``(width, height)`` size) that is empty or above ``max_pixels``."""
    width, height = image.size if isinstance(image, Image.Image) else image
    if min(width, height) < 1:
        raise ItemError(f"{what} is {width}x{height} pixels: it holds no pixel.",
                        code="unreadable", reason=f"an image of {width}x{height} pixels: no pixel")
    if max_pixels is not None and width * height > max_pixels:
        raise ItemError(
            f"Refusing {what}: {width}x{height} = {width * height} pixels exceeds "
            f"max_pixels={max_pixels} (possible decompression bomb).", code="too_large",
            reason=f"too many pixels ({width}x{height} > max_pixels={max_pixels}; possible "
                   "decompression bomb)")


def decode_pillow(image, what, max_pixels, *, side, mode):
    """Decode ``image`` once; a JPEG straight to the smallest scale keeping ``side`` pixels.

    Parameters
    ----------
    image : PIL image, opened by :func:`open_pillow`, not loaded
    side : int
        The longest side the caller needs: a JPEG decodes at 1/2, 1/4 or
        1/8 scale as long as both sides stay at least this long (asked for
        in both dimensions, so an EXIF rotation cannot leave a side short).
    mode : {"L", "RGB", "YCbCr"}
        The mode a colour JPEG decodes to (other images keep theirs).
        ``"YCbCr"`` keeps the colour planes, and its Y plane is
        bit-identical to the ``"L"`` decode: one decode serves both the
        model and a colour check.
    """
    image.draft(mode, (side, side))
    if Image.MAX_IMAGE_PIXELS is None or math.prod(image.size) <= Image.MAX_IMAGE_PIXELS:
        image.load()
        return image
    # Some formats (TIFF) repeat Pillow's size check on load. Only images that
    # max_pixels allowed above Pillow's limit get here: rare, so serialising
    # them under the lock costs nothing in practice.
    with PILLOW_WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise bomb_error(exc, what, max_pixels) from exc
    return image


def is_ycbcr_jpeg(image):
    """Whether a colour JPEG stores YCbCr (nearly all do), as libjpeg decides it.

    A JFIF marker or an Adobe marker with transform 1 means YCbCr; Adobe
    transform 0, or component ids 'R', 'G', 'B' without either marker, mean
    RGB, which libjpeg cannot decode to YCbCr.
    """
    if image.format not in ("JPEG", "MPO") or image.mode != "RGB":
        return False
    if "jfif" in image.info:
        return True
    if "adobe" in image.info:
        return image.info.get("adobe_transform") != 0
    return [layer[0] for layer in image.layer] != _RGB_COMPONENT_IDS


def bomb_error(exc, what, max_pixels):
    """Pillow's hard limit (twice MAX_IMAGE_PIXELS) met: refuse in max_pixels' terms."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    pixels = f"{int(found.group(1))} pixels" if found else "more pixels than Pillow allows"
    hard_limit = 2 * Image.MAX_IMAGE_PIXELS
    if max_pixels is not None and max_pixels <= hard_limit:
        return ItemError(
            f"Refusing {what}: {pixels} exceeds max_pixels={max_pixels} (possible "
            "decompression bomb).", code="too_large",
            reason=f"too many pixels ({pixels} > max_pixels={max_pixels}; possible "
                   "decompression bomb)")
    return ItemError(
        f"Cannot read {what}: {pixels} is above Pillow's hard limit of {hard_limit} "
        f"(twice PIL.Image.MAX_IMAGE_PIXELS), which max_pixels={max_pixels} cannot lift: "
        "skcxr leaves that global alone. Raise PIL.Image.MAX_IMAGE_PIXELS yourself if "
        "you trust this file.", code="too_large",
        reason=f"too many pixels ({pixels}, above Pillow's hard limit of {hard_limit})")
