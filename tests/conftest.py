"""Shared fixtures: where the real data is, and tiny synthetic X-rays."""

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]


def real_data_home():
    """The data home tests use: $SKCXR_DATA, else ../shared/data beside the repo."""
    return Path(os.environ.get("SKCXR_DATA") or REPO_ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def data_home():
    home = real_data_home()
    if not (home / "chest_xray" / "train").is_dir():
        pytest.skip(f"Kermany chest X-ray set not found under {home}")
    return home


def make_blob_images(n=32, size=64, seed=0):
    """Synthetic 'X-rays': noise everywhere, PNEUMONIA adds a bright blob.

    The blob sits in the left half of the image (rows and columns 30-60% of
    the side), so a model that learned it should look there.
    Returns uint8 images (n, 1, size, size), labels 0/1 (half each) and patient ids.
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(90, 25, size=(n, 1, size, size))
    yy, xx = np.mgrid[:size, :size]
    centre = 0.45 * size
    blob = np.exp(-((yy - centre) ** 2 + (xx - 0.3 * size) ** 2) / (2 * (size / 10) ** 2))
    X[y == 1, 0] += 110 * blob
    X = np.clip(X, 0, 255).astype(np.uint8)
    groups = np.repeat(np.arange(n // 2), 2)[:n]  # two images per patient
    return X, y, groups


@pytest.fixture
def blob_data():
    return make_blob_images()


def pytest_configure(config):
    # The tests' networks are tiny: one thread wastes nothing, and on a
    # shared or busy machine two threads wait on each other (a tiny fit
    # measured 35 s with two threads against 2 s with one under load).
    import torch

    torch.set_num_threads(1)


def write_mixed_folder(folder, png_source):
    """A folder of the kinds of file a screen meets; returns {name: expected (status, reason)}."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(png_source, folder / "film.png")
    jpeg = io.BytesIO()
    Image.open(png_source).save(jpeg, format="JPEG", quality=90)
    (folder / "truncated.jpeg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    (folder / "notes.jpeg").write_text("Patient list, not a film.\n")
    (folder / "jpeg_named.png").write_bytes(jpeg.getvalue())
    (folder / "empty.png").write_bytes(b"")
    return {
        "film.png": ("screened", ""),
        "truncated.jpeg": ("error", "truncated JPEG"),
        "notes.jpeg": ("error", "not an image (text file named .jpeg)"),
        "jpeg_named.png": ("screened", ""),
        "empty.png": ("error", "not an image (empty file named .png)"),
    }


def write_dicom_film(path, png_source, **tags):
    pydicom = pytest.importorskip("pydicom")
    from test_dicom import write_dicom

    pixels = np.asarray(Image.open(png_source).convert("L"), dtype=np.uint16) * 16  # 12 bits
    write_dicom(path, pixels)
    ds = pydicom.dcmread(path)
    for name, value in tags.items():
        setattr(ds, name, value)
    ds.save_as(path)
    return str(path)


@pytest.fixture(scope="session")
def tiny_screener(tmp_path_factory):
    """A tiny fitted Screener over PNG files, its training films and their labels.

    ImageLoader(64) -> CXRClassifier("tiny") trained for seconds on blob
    images (PNEUMONIA has the blob); saved with joblib for ``--model FILE``.
    """
    import joblib
    from sklearn.pipeline import make_pipeline

    from skcxr import CXRClassifier, ImageLoader, Screener

    folder = tmp_path_factory.mktemp("tiny_screener")
    X, y, _ = make_blob_images(n=40, size=64, seed=5)
    labels = np.array(["NORMAL", "PNEUMONIA"])[y]
    paths = []
    for i, (image, label) in enumerate(zip(X[:, 0], labels)):
        (folder / "films" / label).mkdir(parents=True, exist_ok=True)
        paths.append(str(folder / "films" / label / f"{i:02d}.png"))
        Image.fromarray(image).save(paths[-1])
    pipeline = make_pipeline(ImageLoader(size=64), CXRClassifier(
        "tiny", lr=0.05, max_epochs=10, batch_size=8, validation_fraction=None,
        random_state=0)).fit(paths, labels)
    card = tiny_card(threshold=0.4)
    screener = Screener(pipeline, threshold=0.4, pos_label="PNEUMONIA", card=card)
    joblib.dump(screener, folder / "screener.joblib")
    joblib.dump(pipeline, folder / "pipeline.joblib")
    screener.save(folder / "tiny")  # a screener folder: tensors and JSON, no pickle
    return {"screener": screener, "file": str(folder / "screener.joblib"),
            "folder": str(folder / "tiny"),
            "pipeline_file": str(folder / "pipeline.joblib"), "paths": paths, "labels": labels,
            "films": str(folder / "films")}


def tiny_card(threshold=0.4, **entries):
    """A ModelCard for the tiny test screeners (not saved: no weights or network yet)."""
    from skcxr import ModelCard

    return ModelCard(**{
        "name": "tiny", "title": "a tiny test model", "intended_use": "For tests only.",
        "not_validated_on": ["anything real"],
        "operating_point": {"threshold": threshold, "pos_label": "PNEUMONIA",
                            "rule": "chosen by hand"},
        "loader": {}, "network": {}, "weights": {}, **entries})


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handler for the test: a shell starting the tests in the background
    (``cmd &``) ignores SIGINT, and Python then keeps it ignored, so no Ctrl-C would arrive."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
