"""Shipped weight sets: written, checksummed, loaded without unpickling, round-tripped."""

import json

import joblib
import numpy as np
import pytest
from conftest import make_blob_images
from PIL import Image

import skcxr
from skcxr import CXRClassifier, Screener
from skcxr.pretrained import _registry, get_card, list_pretrained, load_pretrained, write_weights


@pytest.fixture(scope="module")
def trained():
    X, y, _ = make_blob_images(n=40, size=64, seed=7)
    labels = np.array(["NORMAL", "PNEUMONIA"])[y]
    clf = CXRClassifier("tiny", lr=0.05, max_epochs=8, batch_size=8, validation_fraction=None,
                        normalization="equalize", random_state=0).fit(X, labels)
    return X, labels, clf


@pytest.fixture
def registry(tmp_path, monkeypatch, trained):
    _, _, clf = trained
    monkeypatch.setattr(_registry, "WEIGHTS_DIR", tmp_path)
    card = {"title": "a test screener", "loader": {"size": [64, 64], "resize_mode": "stretch",
                                                    "grayscale": True},
            "recipe": {"preset": "original", "params": {"lr": 0.05}},
            "operating_point": {"threshold": 0.3, "pos_label": "PNEUMONIA"}}
    write_weights(tmp_path, "tiny-test", clf, card)
    return tmp_path


def test_written_weights_load_as_a_fitted_screener(registry, trained, tmp_path):
    X, _, clf = trained
    assert list_pretrained() == ["tiny-test"]
    paths = []
    for i, image in enumerate(X[:6, 0]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    screener = load_pretrained("tiny-test")
    assert isinstance(screener, Screener) and list(screener.classes_) == ["NORMAL", "PNEUMONIA"]
    proba = screener.predict_proba(paths)
    # Half precision on disk: close to, not equal to, the single-precision network.
    np.testing.assert_allclose(proba, clf.predict_proba(X[:6]), atol=2e-3)
    np.testing.assert_array_equal(screener.predict(paths),
                                  np.where(proba[:, 1] >= 0.3, "PNEUMONIA", "NORMAL"))
    assert screener.card["title"] == "a test screener" == get_card("tiny-test")["title"]
    array_level = CXRClassifier.from_pretrained("tiny-test", device="cpu")
    np.testing.assert_array_equal(array_level.predict_proba(X[:6]), proba)
    assert array_level.normalization == "equalize" and array_level.device == "cpu"
    for model in (screener, array_level):
        joblib.dump(model, tmp_path / "model.joblib")
        np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").predict_proba(
            paths if model is screener else X[:6]), proba)


def test_a_tampered_weight_file_is_refused(registry):
    weights_file = registry / "tiny-test.pt"
    weights_file.write_bytes(weights_file.read_bytes() + b"\0")
    with pytest.raises(ValueError, match="sha256 .* but its card says"):
        load_pretrained("tiny-test")


def test_weights_load_without_unpickling(registry):
    import torch

    tensors = torch.load(registry / "tiny-test.pt", weights_only=True)
    assert all(value.dtype in (torch.float16, torch.int64) for value in tensors["network"].values())
    card = json.loads((registry / "tiny-test.json").read_text())
    assert card["network"]["module"] == "tiny" and card["network"]["input_shape"] == [1, 64, 64]


def test_unknown_name_lists_what_is_shipped(registry):
    with pytest.raises(ValueError, match=r"shipped: \['tiny-test'\]"):
        skcxr.load_pretrained("resnet1000")
