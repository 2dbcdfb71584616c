"""Property-based: whatever ImageLoader is fed, it loads it or raises a ValueError naming it.

Random bytes (and damaged real encodings) written to files with image-like
and other suffixes, random arrays of random dtypes and shapes (0-size and
extreme aspect ratios included), and random batch arrays. The only
exception allowed is a ValueError whose message names the item: the file
name or the index for items, the shape for a batch array.
"""

import io
import os

import numpy as np
import pytest
from PIL import Image

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from skcxr.preprocessing import ImageLoader  # noqa: E402

# Pillow and pydicom warn about the damaged files this feeds them; expected here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# A few seconds per property on 2 CI cores, the same examples every run.
# SKCXR_HYPOTHESIS_EXAMPLES=5000 hunts longer, with fresh random examples.
HUNT = int(os.environ.get("SKCXR_HYPOTHESIS_EXAMPLES") or 0)
SETTINGS = settings(max_examples=HUNT or 60, deadline=None, derandomize=not HUNT, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
GOOD = np.tile(np.linspace(0, 255, 24).astype(np.uint8), (16, 1))
SUFFIXES = [".jpeg", ".jpg", ".png", ".tif", ".bmp", ".gif", ".dcm", ".txt", ""]


def _encode(fmt, mode):
    buffer = io.BytesIO()
    Image.fromarray(GOOD).convert(mode).save(buffer, fmt)
    return buffer.getvalue()


ENCODED = [_encode(fmt, mode) for fmt in ("PNG", "JPEG", "TIFF", "BMP", "GIF")
           for mode in ("L", "RGB") if not (fmt == "GIF" and mode == "RGB")]


@st.composite
def damaged_encoding(draw):
    """A real encoded image, truncated and/or with some bytes overwritten.

    Overwrites fall in the header (sizes, modes, tags) as often as anywhere.
    """
    data = bytearray(draw(st.sampled_from(ENCODED)))
    for _ in range(draw(st.integers(0, 6))):
        end = draw(st.sampled_from([min(len(data), 160), len(data)]))
        position = draw(st.integers(0, end - 1))
        data[position] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


file_bytes = st.one_of(st.binary(max_size=512), damaged_encoding(),
                       st.builds(lambda b: b"\0" * 128 + b"DICM" + b, st.binary(max_size=256)))


def _loader():
    return st.builds(ImageLoader, size=st.sampled_from([8, (5, 13)]),
                     resize_mode=st.sampled_from(["stretch", "pad", "crop"]),
                     grayscale=st.booleans())


def _check(loader, X, name):
    try:
        out = loader.transform(X)
    except ValueError as exc:
        assert name in str(exc), f"message does not name {name!r}: {exc}"
        return None
    channels = 1 if loader.grayscale else 3
    assert out.shape == (len(X), channels, *loader._check_params())
    assert out.dtype == np.uint8
    return out


@SETTINGS
@given(data=file_bytes, suffix=st.sampled_from(SUFFIXES), loader=_loader())
# Found by this test: Pillow raised a bare ValueError("Truncated IHDR chunk").
@example(data=b"\x89PNG\r\n\x1a\n\x00\x00\x00\x00IHDR", suffix=".jpeg",
         loader=ImageLoader(size=8))
def test_random_files(tmp_path, data, suffix, loader):
    path = tmp_path / f"item{suffix}"
    path.write_bytes(data)
    good = tmp_path / "good.png"
    Image.fromarray(GOOD).save(good)
    _check(loader, [str(good), str(path)], f"item{suffix}")


dtypes = st.one_of(hnp.scalar_dtypes(), hnp.integer_dtypes(endianness="="),
                   st.just(np.dtype(np.uint8)), st.just(np.dtype(np.float32)))
shapes = st.one_of(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    st.tuples(st.sampled_from([1, 2, 3]), st.integers(200, 3000)),  # extreme aspect ratio
    st.tuples(st.integers(200, 3000), st.sampled_from([1, 2, 3]), st.sampled_from([1, 3, 4])),
)


def _arrays(dtype, shape):
    elements = None
    if dtype.kind == "f":  # values in [0, 1] half the time, anything else the other half
        elements = st.one_of(st.floats(0, 1, width=dtype.itemsize * 8),
                             st.floats(width=dtype.itemsize * 8))
    # A fill value keeps large arrays cheap to draw: a few elements vary.
    return hnp.arrays(dtype, shape, elements=elements,
                      fill=None if elements is None else st.floats(0, 1, width=dtype.itemsize * 8))


@SETTINGS
@given(array=st.tuples(dtypes, shapes).flatmap(lambda ds: _arrays(*ds)), loader=_loader())
def test_random_arrays_in_a_list(array, loader):
    _check(loader, [GOOD, array], "index 1")


@SETTINGS
@given(batch=st.tuples(st.sampled_from([np.dtype(np.uint8), np.dtype(np.float64),
                                        np.dtype(np.int16), np.dtype(bool)]),
                       hnp.array_shapes(min_dims=1, max_dims=5, min_side=0, max_side=5))
       .flatmap(lambda ds: hnp.arrays(*ds)), loader=_loader())
def test_random_batch_arrays(batch, loader):
    try:
        out = loader.transform(batch)
    except ValueError as exc:
        message = str(exc)
        assert str(batch.shape) in message or "index" in message or "empty" in message, message
        return
    assert len(out) == len(batch)


PIL_MODES = ["1", "L", "P", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "I", "F", "I;16",
             "I;16B", "LA", "PA", "RGBX", "RGBa", "La"]


@SETTINGS
@given(mode=st.sampled_from(PIL_MODES),
       size=st.tuples(st.integers(0, 40), st.integers(0, 40))
       | st.sampled_from([(1, 3000), (3000, 2)]),
       fill=st.integers(0, 255), loader=_loader())
def test_random_pil_images(mode, size, fill, loader):
    bands = Image.getmodebands(mode)
    image = Image.new(mode, size, fill if bands == 1 else (fill,) * bands)
    out = _check(loader, [Image.fromarray(GOOD), image], "index 1")
    if out is not None and loader.resize_mode != "pad" and mode in ("L", "I", "I;16", "F"):
        assert out[1].min() == out[1].max()  # a flat image stays flat (no black bars)
