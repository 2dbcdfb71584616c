import os
import threading
import warnings

import joblib
import numpy as np
import pytest
from PIL import Image
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

from skcxr.preprocessing import ImageLoader, _image_loader, _threads

# A 40x20 (width x height) gradient: wider than tall, like most X-rays.
GRADIENT = np.tile(np.linspace(0, 255, 40).astype(np.uint8), (20, 1))


def _save(image, path, **kwargs):
    image.save(path, **kwargs)
    return str(path)


# Row by row: which image property each case covers.
IMAGE_MODES = [
    ("8-bit grayscale PNG", lambda: Image.fromarray(GRADIENT), "png"),
    ("8-bit grayscale JPEG", lambda: Image.fromarray(GRADIENT), "jpeg"),
    ("16-bit grayscale PNG", lambda: Image.fromarray(GRADIENT.astype(np.uint16) * 257), "png"),
    ("12-bit data in 16-bit PNG", lambda: Image.fromarray((GRADIENT.astype(np.uint16) * 16)), "png"),
    ("RGB", lambda: Image.fromarray(np.stack([GRADIENT] * 3, -1)), "png"),
    ("RGBA", lambda: Image.fromarray(np.dstack([GRADIENT] * 3 + [np.full_like(GRADIENT, 128)])), "png"),
    ("palette", lambda: Image.fromarray(GRADIENT).convert("P"), "png"),
    ("CMYK JPEG", lambda: Image.fromarray(np.stack([GRADIENT] * 3, -1)).convert("CMYK"), "jpeg"),
    ("1-bit", lambda: Image.fromarray(GRADIENT > 127), "png"),
    ("grayscale + alpha", lambda: Image.fromarray(GRADIENT).convert("LA"), "png"),
]


@pytest.mark.parametrize("label, make, fmt", IMAGE_MODES, ids=[m[0] for m in IMAGE_MODES])
def test_every_image_mode_loads(tmp_path, label, make, fmt):
    path = _save(make(), tmp_path / f"image.{fmt}")
    out = ImageLoader(size=(10, 20)).fit_transform([path])
    assert out.shape == (1, 1, 10, 20) and out.dtype == np.uint8
    # Dark on the left, bright on the right, whatever the mode.
    assert out[0, 0, :, :5].mean() < 80 < 170 < out[0, 0, :, -5:].mean()


def test_sixteen_bit_uses_full_range(tmp_path):
    path = _save(Image.fromarray(GRADIENT.astype(np.uint16) * 257), tmp_path / "a.png")
    out = ImageLoader(size=(20, 40)).transform([path])
    assert out.max() == 255 and out.min() == 0


def test_exif_orientation_is_applied(tmp_path):
    image = Image.fromarray(GRADIENT)  # 40 wide, 20 high, bright on the right
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree turn
    path = _save(image, tmp_path / "rot.jpeg", exif=exif)
    out = ImageLoader(size=(40, 20), resize_mode="stretch").transform([path])[0, 0]
    # After transposition the gradient runs top to bottom, not left to right.
    assert out[:5].mean() < 80 < 170 < out[-5:].mean()


@pytest.mark.parametrize("mode", ["stretch", "pad", "crop"])
def test_resize_modes(mode):
    bright = np.full((20, 40), 255, np.uint8)
    out = ImageLoader(size=20, resize_mode=mode).transform([bright])[0, 0]
    assert out.shape == (20, 20)
    if mode == "pad":  # letterboxed: black bars above and below
        assert out[0].max() == 0 and out[10].min() == 255
    else:
        assert out.min() == 255


def test_rgb_output_and_float_dtype(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 255
    out = ImageLoader(size=8, grayscale=False, dtype="float32").transform([rgb])
    assert out.shape == (1, 3, 8, 8) and out.dtype == np.float32
    assert out[0, 0].min() == 1.0 and out[0, 1].max() == 0.0


def test_mixed_inputs_and_parallel(tmp_path):
    path = _save(Image.fromarray(GRADIENT), tmp_path / "a.png")
    items = [path, Image.fromarray(GRADIENT), GRADIENT, GRADIENT / 255.0, GRADIENT[..., None]]
    serial = ImageLoader(size=16).transform(items)
    parallel = ImageLoader(size=16, n_jobs=2).transform(items)
    np.testing.assert_array_equal(serial, parallel)
    assert np.abs(serial.astype(int) - serial[0].astype(int)).max() <= 1


def test_channels_last_batches_load_as_the_messages_say():
    rgb = np.zeros((2, 20, 40, 3), np.uint8)
    rgb[..., 0] = 255
    expected = ImageLoader(size=8, grayscale=False).transform(list(rgb))
    assert expected[:, 0].min() == 255 and expected[:, 1:].max() == 0
    np.testing.assert_array_equal(
        ImageLoader(size=8, grayscale=False).transform(np.moveaxis(rgb, -1, 1)), expected)
    square = np.zeros((2, 3, 40, 3), np.uint8)  # channels-last images 3 pixels high
    assert ImageLoader(size=8).transform(list(square)).shape == (2, 1, 8, 8)


def test_batch_arrays_are_accepted():
    stack = np.zeros((3, 20, 40), np.uint8)
    assert ImageLoader(size=8).transform(stack).shape == (3, 1, 8, 8)
    own_output = np.zeros((2, 1, 8, 8), np.uint8)
    assert ImageLoader(size=8).transform(own_output).shape == (2, 1, 8, 8)


def test_whole_train_split_fits_in_memory_budget():
    # 5,216 uint8 images at 224x224 take 262 MB: the ~270 MB target.
    out = ImageLoader(size=224).transform(np.zeros((4, 224, 224), np.uint8))
    assert out.dtype == np.uint8
    assert out.nbytes / 4 * 5216 < 270e6


@pytest.fixture
def bad_files(tmp_path):
    good = _save(Image.fromarray(GRADIENT), tmp_path / "good.jpeg")
    data = open(good, "rb").read()
    (tmp_path / "truncated.jpeg").write_bytes(data[: len(data) // 2])
    (tmp_path / "corrupt.jpeg").write_bytes(data[:20] + bytes(200) + data[220:])
    (tmp_path / "notes.txt").write_text("radiology report, not an image")
    (tmp_path / "folder.jpeg").mkdir()
    (tmp_path / "loop.jpeg").symlink_to(tmp_path / "loop.jpeg")
    (tmp_path / "dangling.jpeg").symlink_to(tmp_path / "nowhere.jpeg")
    os.mkfifo(tmp_path / "fifo.jpeg")  # opening it would block forever
    return tmp_path, good


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing.jpeg", "missing.jpeg.*no such file"),
        ("folder.jpeg", "folder.jpeg.*is a directory, not an image file"),
        ("loop.jpeg", "loop.jpeg.*symbolic link loop"),
        ("dangling.jpeg", "dangling.jpeg.*broken symbolic link"),
        ("fifo.jpeg", "fifo.jpeg.*not a regular file"),
        ("truncated.jpeg", "truncated.jpeg.*corrupt or truncated"),
        ("corrupt.jpeg", "corrupt.jpeg"),
        ("notes.txt", "notes.txt.*not an image"),
    ],
)
def test_bad_files_are_named(bad_files, name, message):
    folder, good = bad_files
    with pytest.raises(ValueError, match=message):
        ImageLoader(size=8).transform([good, str(folder / name)])


def test_decompression_bomb_is_refused(tmp_path):
    path = _save(Image.new("L", (100, 100)), tmp_path / "big.png")
    with pytest.raises(ValueError, match="big.png.*exceeds max_pixels=5000"):
        ImageLoader(size=8, max_pixels=5000).transform([path])
    with pytest.raises(ValueError, match="PIL image at index 0.*decompression bomb"):
        ImageLoader(size=8, max_pixels=5000).transform([Image.new("L", (100, 100))])


def test_unreadable_file_is_not_called_corrupt(tmp_path):
    path = _save(Image.fromarray(GRADIENT), tmp_path / "locked.png")
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):  # root reads anything
            pytest.skip("running as a user who can read a mode-000 file")
        with pytest.raises(ValueError, match="locked.png.*permission denied"):
            ImageLoader(size=8).transform([path])
    finally:
        os.chmod(path, 0o644)


@pytest.fixture
def pillow_limit(monkeypatch):
    """Pillow's global bomb limit lowered to 1000 pixels for the test (restored after)."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    return 1000


@pytest.mark.parametrize("fmt", ["png", "tiff", "jpeg"])
def test_max_pixels_alone_decides_what_is_too_big(tmp_path, pillow_limit, fmt):
    # 50x30 = 1500 pixels: above Pillow's limit (it would warn), below twice it.
    path = _save(Image.new("L", (50, 30), 128), tmp_path / f"big.{fmt}")
    filters = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning would fail here
        out = ImageLoader(size=8, max_pixels=2000).transform([path, path])
        assert out.shape == (2, 1, 8, 8) and out.min() == out.max() == 128
        with pytest.raises(ValueError, match=f"big.{fmt}.*1500 pixels exceeds max_pixels=1400"):
            ImageLoader(size=8, max_pixels=1400).transform([path])
    assert Image.MAX_IMAGE_PIXELS == pillow_limit and warnings.filters == filters


def test_pillow_hard_limit_is_reported_in_max_pixels_terms(tmp_path, pillow_limit):
    # 100x30 = 3000 pixels: above twice Pillow's limit, where Pillow refuses to open.
    path = _save(Image.new("L", (100, 30)), tmp_path / "huge.png")
    with pytest.raises(ValueError, match="huge.png.*3000 pixels exceeds max_pixels=2000"):
        ImageLoader(size=8, max_pixels=2000).transform([path])
    # A max_pixels above Pillow's hard limit cannot lift it: the error says so and how.
    with pytest.raises(ValueError, match="huge.png.*above Pillow's hard limit of 2000.*"
                                         "max_pixels=None cannot lift"):
        ImageLoader(size=8, max_pixels=None).transform([path])
    assert Image.MAX_IMAGE_PIXELS == pillow_limit


def test_parallel_decoding_leaves_warning_filters_alone(tmp_path,
                                                       pillow_limit):
    paths = [_save(Image.new("L", (40, 30), i), tmp_path / f"{i}.png") for i in range(12)]
    filters = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ImageLoader(size=8, max_pixels=5000, n_jobs=4).transform(paths)
    assert [int(image.max()) for image in out] == list(range(12))
    assert warnings.filters == filters


def test_dicom_size_is_checked_before_decoding(tmp_path, monkeypatch):
    pydicom = pytest.importorskip("pydicom")
    from test_dicom import RAMP, write_dicom

    path = write_dicom(tmp_path / "big.dcm", RAMP)  # 40x20 = 800 pixels
    decoded = []
    real = pydicom.dataset.Dataset.pixel_array
    monkeypatch.setattr(pydicom.dataset.Dataset, "pixel_array",
                        property(lambda ds: decoded.append(1) or real.fget(ds)))
    with pytest.raises(ValueError, match="big.dcm.*800 pixels exceeds max_pixels=500"):
        ImageLoader(size=8, max_pixels=500).transform([path])
    assert decoded == []


@pytest.mark.parametrize(
    "item, message",
    [
        (np.zeros((4, 4, 2), np.uint8), r"array at index 1 has shape \(4, 4, 2\)"),
        (np.zeros((3, 20, 40), np.uint8),
         r"index 1 has shape \(3, 20, 40\), which looks channels-first"),
        (Image.new("L", (0, 5)), "PIL image at index 1 is 0x5 pixels: it holds no pixel"),
        (np.zeros((4, 4), np.int8), "array at index 1 has dtype int8"),
        (np.full((4, 4), np.nan), "array at index 1 contains NaN"),
        (np.full((4, 4), 2.0), r"array at index 1 is floating point .*\[0, 1\]"),
        (np.zeros((0, 4), np.uint8), "holds no pixel"),
        (42, "index 1 is a int"),
    ],
)
def test_bad_arrays_are_named(item, message):
    with pytest.raises(ValueError, match=message):
        ImageLoader(size=8).transform([GRADIENT, item])


@pytest.mark.parametrize(
    "X, message",
    [
        # Channels-last batches: never silently read as channels-first.
        (np.zeros((2, 20, 40, 3), np.uint8), r"\(2, 20, 40, 3\), which looks channels-last"),
        (np.zeros((2, 20, 40, 1), np.uint8), r"\(2, 20, 40, 1\), which looks channels-last"),
        (np.zeros((2, 20, 40, 4), np.uint8), "looks channels-last"),
        # Both layouts fit: channels-last with H == 3, or channels-first 3 px wide.
        (np.zeros((2, 3, 40, 3), np.uint8), "reads both as channels-first .* and as channels-last"),
        (np.zeros((2, 1, 40, 1), np.uint8), "reads both as"),
        # One (H, W, 3) image passed as if it were a stack of grayscale images.
        (np.zeros((20, 40, 3), np.uint8), r"stack of 20 images 3 pixel\(s\) wide, or one"),
        (np.zeros((2, 5, 20, 40), np.uint8), r"numeric array of shape \(2, 5, 20, 40\)"),
        (np.zeros((3, 5)), "2-D array is not a batch"),
        ("image.png", "single str"),
        ([], "empty"),
    ],
)
def test_bad_containers(X, message):
    with pytest.raises(ValueError, match=message):
        ImageLoader().fit_transform(X)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"size": 0}, "'size' parameter of ImageLoader must be an int in the range .1, inf."
                      ", an instance of 'tuple' or an instance of 'list'. Got 0 instead"),
        ({"size": (8, 8, 8)}, r"'size' parameter of ImageLoader must be a positive int or a "
                              r"\(height, width\) pair of positive ints. Got \(8, 8, 8\) instead"),
        ({"resize_mode": "squash"}, "'resize_mode' parameter of ImageLoader must be a str among"),
        ({"dtype": "float64"}, "'dtype' parameter of ImageLoader must be a str among"),
        ({"max_pixels": -1}, "'max_pixels' parameter of ImageLoader must be an int in the range "
                             ".1, inf. or None. Got -1 instead"),
        ({"n_jobs": 0}, "'n_jobs' parameter of ImageLoader must be an int in the range .-inf, -1."
                        ", an int in the range .1, inf. or None. Got 0 instead"),
        ({"n_jobs": 1.5}, "'n_jobs' parameter of ImageLoader must be .* Got 1.5 instead"),
        ({"n_jobs": True}, "'n_jobs' parameter of ImageLoader must be .* Got True instead"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        ImageLoader(**params).fit([GRADIENT])


def _decoding_threads(monkeypatch, loader, items):
    """Thread ids that decoded ``items``, and the output."""
    threads = set()
    real = _image_loader.load_image

    def spy(*args, **kwargs):
        threads.add(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(_image_loader, "load_image", spy)
    return threads, loader.transform(items)


def test_n_jobs_counts_back_from_this_process_budget(monkeypatch):
    monkeypatch.setattr(_threads, "cpu_budget", lambda: 6)
    assert [_threads.resolve_n_jobs(n) for n in (None, 1, 3, 8, -1, -2, -6, -9)] == [
        1, 1, 3, 8, 6, 5, 1, 1
    ]


def test_cpu_budget_follows_affinity_and_native_pool_limits():
    if hasattr(os, "sched_getaffinity"):
        assert 1 <= _threads.cpu_budget() <= len(os.sched_getaffinity(0))
    # What joblib's loky workers and Dask's nanny do to a worker process.
    with threadpool_limits(limits=1):
        assert _threads.cpu_budget() == 1


def test_n_jobs_minus_one_decodes_on_the_budget(monkeypatch):
    items = [GRADIENT] * 8
    serial = ImageLoader(size=8).transform(items)
    with threadpool_limits(limits=1):
        threads, out = _decoding_threads(monkeypatch, ImageLoader(size=8, n_jobs=-1), items)
    assert len(threads) == 1
    np.testing.assert_array_equal(out, serial)
    # A budget of 4: a pool of 4 threads in this process, whatever joblib
    # backend is configured around the call.
    pools, real_parallel = [], _image_loader.Parallel

    def parallel(**kwargs):
        pools.append(kwargs)
        return real_parallel(**kwargs)

    monkeypatch.setattr(_threads, "cpu_budget", lambda: 4)
    monkeypatch.setattr(_image_loader, "Parallel", parallel)
    with joblib.parallel_config(backend="loky", n_jobs=2):
        threads, out = _decoding_threads(monkeypatch, ImageLoader(size=8, n_jobs=-1), items)
    assert pools == [{"n_jobs": 4, "backend": "threading"}]
    assert 1 <= len(threads) <= 4
    np.testing.assert_array_equal(out, serial)


def _flatten(X):
    return X.reshape(len(X), -1)


def test_pipeline_memory_decodes_once(tmp_path, monkeypatch):
    paths = [_save(Image.fromarray(GRADIENT), tmp_path / f"{i}.png") for i in range(3)]
    decoded = []

    def counting_load(item, index, **kwargs):
        decoded.append(index)
        return load_image(item, index, **kwargs)

    load_image = _image_loader.load_image
    monkeypatch.setattr(_image_loader, "load_image", counting_load)
    pipe = make_pipeline(
        ImageLoader(size=8), FunctionTransformer(_flatten), memory=str(tmp_path / "cache")
    )
    pipe.fit(paths)
    pipe.set_params(functiontransformer__validate=False).fit(paths)
    assert decoded == [0, 1, 2]  # the second fit reused the cached decode


def test_estimator_contract_on_images(tmp_path):
    """The substance of scikit-learn's data checks (tests/test_estimator_checks.py), on images."""
    import pickle

    from sklearn.base import clone

    paths = [_save(Image.fromarray(np.roll(GRADIENT, i, axis=1)), tmp_path / f"{i}.png")
             for i in range(5)]
    loader = ImageLoader(size=(12, 16), resize_mode="pad")
    params = loader.get_params()
    assert loader.fit(paths) is loader
    assert loader.get_params() == params  # fit changes no parameter
    out = loader.transform(paths)
    order = [4, 2, 0, 3, 1]
    np.testing.assert_array_equal(loader.transform([paths[i] for i in order]), out[order])
    np.testing.assert_array_equal(loader.transform(paths[1:3]), out[1:3])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(loader)).transform(paths), out)
    np.testing.assert_array_equal(clone(loader).fit_transform(paths), out)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"size": True}, "'size' parameter of ImageLoader must be .* Got True instead"),
        ({"size": (8, 8.0)}, r"'size' parameter of ImageLoader must be a positive int or a "
                             r"\(height, width\) pair"),
        # "no" is true: anything but a bool is refused.
        ({"grayscale": "no"}, "'grayscale' parameter of ImageLoader must be an instance of 'bool'"),
        ({"dicom_voi_lut": "yes"}, "'dicom_voi_lut' parameter of ImageLoader must be an instance "
                                   "of 'bool'"),
        ({"max_pixels": True}, "'max_pixels' parameter of ImageLoader must be .* Got True instead"),
        ({"n_jobs": 0}, "'n_jobs' parameter of ImageLoader must be"),
        ({"n_jobs": "2"}, "'n_jobs' parameter of ImageLoader must be"),
    ],
)
def test_more_bad_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        ImageLoader(**params).fit_transform([GRADIENT])


@pytest.mark.parametrize(
    "X, message",
    [
        ({"a.png": 0}, "got dict"),  # keys are not images
        ({"a.png", "b.png"}, "got set"),  # no order: images would shift against labels
        ((image for image in [GRADIENT]), "got generator"),  # fit would use it up
        (np.zeros((0, 20, 40), np.uint8), r"empty batch of shape \(0, 20, 40\)"),
    ],
)
def test_containers_without_a_fixed_order_are_refused(X, message):
    with pytest.raises(ValueError, match=message):
        ImageLoader(size=8).fit_transform(X)
