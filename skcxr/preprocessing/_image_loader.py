"""ImageLoader: a scikit-learn transformer from images to a uint8 batch array."""

import os
from collections.abc import Iterator, Mapping, Set
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from PIL import Image
from sklearn.base import BaseEstimator, TransformerMixin

from .._compat import InvalidParameterError, StrictInterval, StrOptions, validate_estimator_params
from .._versioning import VersionedPickleMixin
from ._decode import DEFAULT_MAX_PIXELS, RESIZE_MODES, load_image
from ._threads import resolve_n_jobs

DTYPES = ("uint8", "float32")


class ImageLoader(VersionedPickleMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Decode and resize images into an array ``(n_samples, channels, H, W)``.

    Accepts file paths, PIL images or numpy arrays (any mix), so it can
    stand first in a pipeline fed by :func:`skcxr.datasets.load_chest_xray`.
    It learns nothing: ``fit`` only checks the parameters. Wrap the pipeline
    with ``Pipeline(memory=...)`` and a grid search decodes each image once.

    Parameters
    ----------
    size : int or tuple of (height, width), default=224
        Output size in pixels.
    resize_mode : {"stretch", "pad", "crop"}, default="stretch"
        How to reach ``size`` from another aspect ratio: ``"stretch"``
        resizes both sides independently (the whole field, distorted);
        ``"pad"`` fits the whole image and fills the rest with black;
        ``"crop"`` fills the output and cuts the centre out.
    grayscale : bool, default=True
        Output one channel; otherwise three (RGB).
    dtype : {"uint8", "float32"}, default="uint8"
        ``"uint8"`` keeps 0-255 and a quarter of the memory (the
        classifier converts each batch); ``"float32"`` scales to [0, 1].
    max_pixels : int or None, default=PIL.Image.MAX_IMAGE_PIXELS
        Refuse images with more pixels than this (decompression bombs),
        read from the file's header before any pixel is decoded; ``None``
        sets no limit. This is the one size limit: Pillow's own
        ``DecompressionBombWarning`` is silenced for the images it allows,
        and the global ``PIL.Image.MAX_IMAGE_PIXELS`` is left untouched.
        Pillow still refuses images above twice that global whatever
        ``max_pixels`` says; the ``ValueError`` then says so.
    dicom_voi_lut : bool, default=False
        For DICOM files, apply the VOI LUT or window stored in the file
        (after its rescale) instead of the full stored-bits range. Off by
        default, as in TorchXRayVision: a window is a display choice that
        varies between sites and films; the stored-bits range does not.
    n_jobs : int, default=None
        Threads decoding in parallel (Pillow releases the GIL), always in
        this process. ``None`` means 1; a positive number is used as given;
        ``-1`` means every CPU this process may use, ``-2`` all but one.
        Inside a joblib or Dask worker that is the worker's share, not the
        whole host: the thread limit its native thread pools were given
        (``cpu_count // n_jobs`` in joblib's loky workers, 1 by default in a
        Dask worker process, or what ``threadpoolctl.threadpool_limits``
        sets), divided among a Dask worker's ``nthreads``; see the
        "Scaling out" page. 0 is an error.

    Notes
    -----
    8- and 16-bit grayscale, RGB, RGBA (alpha dropped), palette and CMYK
    images are read, by their content whatever their name; the EXIF
    orientation is applied. DICOM files (the DICM marker, or ``.dcm`` and
    ``.dicom`` names; needs ``pip install skcxr[dicom]``) are rescaled
    (``RescaleSlope``, sign included), scaled by their stored bits, and
    MONOCHROME1 is inverted; a header whose ``BitsStored`` the values
    contradict is read by the values, with a warning. 16-bit data is scaled
    by its inferred bit depth (see the user guide). A file holding several
    frames or pages (multi-page TIFF, animated GIF or PNG, multi-frame
    DICOM) is refused, naming its frame count: split it first. Any
    unreadable item raises ``ValueError`` naming it; nothing is skipped.

    Examples
    --------
    >>> import numpy as np
    >>> from skcxr.preprocessing import ImageLoader
    >>> images = [np.zeros((300, 400), np.uint8), np.ones((256, 256, 3), np.uint8)]
    >>> ImageLoader(size=64).fit_transform(images).shape
    (2, 1, 64, 64)
    """

    _parameter_constraints = {
        "size": [StrictInterval(Integral, 1, None, closed="left"), tuple, list],
        "resize_mode": [StrOptions(set(RESIZE_MODES))],
        "grayscale": ["boolean"],
        "dtype": [StrOptions(set(DTYPES))],
        "max_pixels": [StrictInterval(Integral, 1, None, closed="left"), None],
        "dicom_voi_lut": ["boolean"],
        "n_jobs": [StrictInterval(Integral, None, -1, closed="right"),
                   StrictInterval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        size=224,
        *,
        resize_mode="stretch",
        grayscale=True,
        dtype="uint8",
        max_pixels=DEFAULT_MAX_PIXELS,
        dicom_voi_lut=False,
        n_jobs=None,
    ):
        self.size = size
        self.resize_mode = resize_mode
        self.grayscale = grayscale
        self.dtype = dtype
        self.max_pixels = max_pixels
        self.dicom_voi_lut = dicom_voi_lut
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Check the parameters; learn nothing.

        Parameters
        ----------
        X : sequence of str, path-like, PIL images or arrays
            Ignored beyond a type check.
        y : None
            Ignored.

        Returns
        -------
        self : ImageLoader
            The loader, unchanged.
        """
        self._check_params()
        _as_items(X)
        return self

    def transform(self, X):
        """Load every image of ``X``.

        Parameters
        ----------
        X : sequence of str, path-like, PIL images or arrays, or ndarray
            A 3-D array is read as a stack of grayscale images
            ``(n, H, W)``; a 4-D array as ``(n, channels, H, W)`` with 1 or
            3 channels (this transformer's own output format). A shape that
            also reads as channels-last (``W`` of 1, 3 or 4), or only as
            channels-last, is a ``ValueError`` that says how to pass it:
            the layout is never guessed. Arrays in a list are
            ``(H, W)`` or ``(H, W, channels)``.

        Returns
        -------
        images : ndarray of shape (n_samples, 1 or 3, height, width)
            Images as uint8, or float32 in [0, 1] when ``dtype="float32"``.
        """
        size = self._check_params()
        items = _as_items(X)
        kwargs = dict(
            size=size,
            resize_mode=self.resize_mode,
            grayscale=self.grayscale,
            max_pixels=self.max_pixels,
            dicom_voi_lut=self.dicom_voi_lut,
        )
        n_threads = min(resolve_n_jobs(self.n_jobs), len(items))
        if n_threads <= 1:
            arrays = [load_image(item, i, **kwargs) for i, item in enumerate(items)]
        else:
            # An explicit thread backend: under parallel_config(backend="dask")
            # joblib would otherwise ship every image to the cluster as a task.
            arrays = Parallel(n_jobs=n_threads, backend="threading")(
                delayed(load_image)(item, i, **kwargs) for i, item in enumerate(items)
            )
        channels = 1 if self.grayscale else 3
        out = np.empty((len(arrays), channels, *size), dtype=np.uint8)
        for i, array in enumerate(arrays):
            out[i] = array
        if self.dtype == "float32":
            return out.astype(np.float32) / 255
        return out

    def _check_params(self):
        """Validate the parameters; return ``size`` as a (height, width) pair of ints."""
        validate_estimator_params(self)
        size = (self.size, self.size) if _is_int(self.size) else tuple(self.size)
        if len(size) != 2 or not all(_is_int(side) and side > 0 for side in size):
            raise InvalidParameterError(
                f"The 'size' parameter of ImageLoader must be a positive int or a (height, width) "
                f"pair of positive ints. Got {self.size!r} instead.")
        size = tuple(int(side) for side in size)
        if self.max_pixels is not None and size[0] * size[1] > self.max_pixels:
            # Every film is resized to ``size``: a small file would otherwise take as much
            # memory as the decompression bombs max_pixels refuses.
            raise InvalidParameterError(
                f"The 'size' parameter of ImageLoader asks for {size[0]}x{size[1]} = "
                f"{size[0] * size[1]} pixels per film, more than max_pixels={self.max_pixels}. "
                "Chest X-ray networks read 128 to 1024 pixels a side; raise max_pixels only "
                "if you mean it.")
        return size

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        # A sequence of file paths, PIL images or arrays, or a 3-D (n, H, W) or 4-D
        # (n, channels, H, W) batch; a 2-D array is refused (it is no batch of images).
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        # Output is always uint8 or float32, whatever came in.
        tags.transformer_tags.preserves_dtype = []
        return tags


def _as_items(X):
    """Return X as a list of single images, refusing what cannot be one."""
    if sp.issparse(X):
        raise TypeError(
            "Sparse input is not supported: ImageLoader expects a sequence of images."
        )
    if isinstance(X, (str, os.PathLike, Image.Image)):
        raise ValueError(
            "ImageLoader expects a sequence of images; got a single "
            f"{type(X).__name__}. Wrap it in a list."
        )
    if isinstance(X, np.ndarray) and X.dtype.kind not in "OUS":
        return _split_batch(X)
    if isinstance(X, (Mapping, Set, Iterator)) or not hasattr(X, "__len__"):
        # A set has no order (images would shift against labels), a dict's
        # keys are not images, and an iterator would be used up by fit.
        raise ValueError(
            f"ImageLoader expects a sequence of images (a list, tuple or array); got "
            f"{type(X).__name__}. Pass list(...) of it in a fixed order."
        )
    try:
        items = list(X)
    except TypeError:
        raise ValueError(
            f"ImageLoader expects a sequence of images; got {type(X).__name__}."
        ) from None
    if not items:
        raise ValueError("ImageLoader got an empty sequence: no image to load.")
    return [str(item) if isinstance(item, np.str_) else item for item in items]


# Trailing axis lengths that read as a channel axis of a channels-last image.
_LAST_AXIS_CHANNELS = (1, 3, 4)


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def _split_batch(X):
    """Split a numeric batch array into (height, width[, channels]) images.

    A layout is never guessed: when the shape reads both as channels-first
    and as channels-last, or only as channels-last, the error says how to
    pass the images unambiguously (a list of per-image arrays is always
    read as (height, width[, channels])).
    """
    shape = X.shape
    if X.ndim in (3, 4) and shape[0] == 0:
        raise ValueError(f"ImageLoader got an empty batch of shape {shape}: no image to load.")
    if X.ndim == 3:
        if shape[2] in _LAST_AXIS_CHANNELS:
            raise ValueError(
                f"ImageLoader got a numeric array of shape {shape}: a stack of {shape[0]} "
                f"images {shape[2]} pixel(s) wide, or one (height, width, channels) image? "
                "The layout is ambiguous. Pass [image] for one image, or list(X) for a stack "
                "of (height, width) images."
            )
        return list(X)
    if X.ndim == 4:
        first, last = shape[1] in (1, 3), shape[3] in _LAST_AXIS_CHANNELS
        if first and last:
            raise ValueError(
                f"ImageLoader got a numeric array of shape {shape}, which reads both as "
                f"channels-first (n, channels, height, width) images {shape[3]} pixel(s) "
                f"wide and as channels-last (n, height, width, channels) images "
                f"{shape[1]} pixel(s) high. Pass a list of (height, width, channels) "
                "images: list(X) if X is channels-last, list(np.moveaxis(X, 1, -1)) if it "
                "is channels-first."
            )
        if first:
            return [np.moveaxis(image, 0, -1) for image in X]
        if last:
            raise ValueError(
                f"ImageLoader got a numeric array of shape {shape}, which looks "
                "channels-last (n, height, width, channels); a 4-D array is read as "
                "channels-first (n, channels, height, width). Pass list(X) (a list of "
                "(height, width, channels) images) or np.moveaxis(X, -1, 1)."
            )
    raise ValueError(
        f"ImageLoader got a numeric array of shape {shape}; expected "
        "(n, height, width) or (n, channels, height, width) with 1 or 3 "
        "channels, or a list of images. A 2-D array is not a batch of images."
    )
