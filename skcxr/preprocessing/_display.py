"""A file decoded for a person to look at: its own aspect ratio, its colours, a bounded size."""

from PIL import Image

from ._convert import to_8bit
from ._decode import DEFAULT_MAX_PIXELS, describe
from ._source import decode_source, open_source


def read_image(path, *, max_side=None, grayscale=False, max_pixels=DEFAULT_MAX_PIXELS,
               dicom_voi_lut=False):
    """Decode one image file as a picture to show, not as a model's input.

    The same reading as :class:`ImageLoader` (the same limits and refusals,
    DICOM scaled by its stored bits, the EXIF orientation applied), but the
    image keeps its aspect ratio and, unless ``grayscale``, its colours.

    Parameters
    ----------
    path : str or path-like
        An image or DICOM file.
    max_side : int or None, default=None
        Reduce the image so that its longer side is at most this many
        pixels (a JPEG decodes straight at a smaller scale).
    grayscale : bool, default=False
        One channel; otherwise RGB for colour images, L for grey ones.
    max_pixels : int or None, default=PIL.Image.MAX_IMAGE_PIXELS
        Refuse images with more pixels than this, from the header.
    dicom_voi_lut : bool, default=False
        For DICOM files, apply the VOI LUT or window stored in the file.

    Returns
    -------
    image : PIL.Image.Image
        Mode "L" or "RGB", 8 bits.

    Raises
    ------
    ValueError
        Naming the file, for anything that cannot be read as one image.
    """
    what = describe(path, 0)
    with open_source(path, what, max_pixels=max_pixels) as source:
        side = max_side or max(source.size)
        image, _, _ = decode_source(source, side=side, grayscale=grayscale, voi_lut=dicom_voi_lut)
        image = to_8bit(image, what)
        if image.mode not in ("L", "RGB"):
            image = image.convert("L" if grayscale else "RGB")
        elif image is source.image:
            image = image.copy()  # the file's own image closes with the file
    if max_side:
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return image
