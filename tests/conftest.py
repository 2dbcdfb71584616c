"""Shared fixtures: where the real data is, and tiny synthetic X-rays."""

import os
from pathlib import Path

import numpy as np
import pytest

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
