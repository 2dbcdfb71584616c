"""Pretrained screeners: folders of a card and tensors, checksummed, loaded without unpickling."""

import joblib
import numpy as np
import pytest
import torch
from conftest import make_blob_images, tiny_card
from PIL import Image
from sklearn.pipeline import make_pipeline

import skcxr
from skcxr import CXRClassifier, ImageLoader, Screener
from skcxr.pretrained import (
    _registry,
    get_card,
    list_pretrained,
    load_pretrained,
    unreadable_entries,
)
from skcxr.screener import ScreenerFolderError


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pretrained_films")
    X, y, _ = make_blob_images(n=40, size=128, seed=7)
    labels = np.array(["NORMAL", "PNEUMONIA"])[y]
    paths = []
    for i, image in enumerate(X[:, 0]):
        paths.append(str(folder / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    pipe = make_pipeline(ImageLoader(size=64), CXRClassifier(
        "tiny", lr=0.05, max_epochs=8, batch_size=8, validation_fraction=None,
        normalization="equalize", random_state=0)).fit(paths, labels)
    return paths, labels, pipe


@pytest.fixture
def registry(tmp_path, monkeypatch, trained):
    _, _, pipe = trained
    monkeypatch.setattr(_registry, "WEIGHTS_DIR", tmp_path)
    Screener(pipe, threshold=0.3, pos_label="PNEUMONIA",
             card=tiny_card(0.3, title="a test screener")).save(tmp_path / "tiny-test")
    return tmp_path


def test_a_saved_folder_loads_as_a_fitted_screener(registry, trained, tmp_path):
    paths, _, pipe = trained
    assert list_pretrained() == ["tiny-test"]
    screener = load_pretrained("tiny-test", on_refusal="score")
    assert isinstance(screener, Screener) and list(screener.classes_) == ["NORMAL", "PNEUMONIA"]
    proba = screener.predict_proba(paths[:6])
    # Half precision on disk: close to, not equal to, the single-precision network.
    np.testing.assert_allclose(proba, pipe.predict_proba(paths[:6]), atol=2e-3)
    np.testing.assert_array_equal(screener.predict(paths[:6]),
                                  np.where(proba[:, 1] >= 0.3, "PNEUMONIA", "NORMAL"))
    assert screener.card.title == "a test screener" == get_card("tiny-test").title
    classifier = screener.classifier
    assert classifier.normalization == "equalize" and not classifier.module_.training
    joblib.dump(screener, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").predict_proba(paths[:6]),
                                  proba)


def test_a_tampered_weight_file_is_refused(registry):
    weights_file = registry / "tiny-test" / "weights.pt"
    weights_file.write_bytes(weights_file.read_bytes() + b"\0")
    with pytest.raises(ScreenerFolderError, match="sha256 .* but its card says"):
        load_pretrained("tiny-test")


def test_weights_are_half_precision_tensors(registry):
    tensors = torch.load(registry / "tiny-test" / "weights.pt", weights_only=True)
    assert all(value.dtype in (torch.float16, torch.int64) for value in tensors["network"].values())
    card = get_card("tiny-test")
    assert card.network["params"]["module"] == "tiny"
    assert card.network["fitted"]["input_shape"] == [1, 64, 64]


def test_a_stray_entry_is_listed_not_fatal(registry):
    """Audit: one stray .json in the weights folder broke every CLI command with KeyError."""
    (registry / "notes.json").write_text('{"hello": 1}')
    (registry / "broken").mkdir()
    (registry / "broken" / "card.json").write_text("{")
    assert list_pretrained() == ["tiny-test"]
    unreadable = {path.name: why for path, why in unreadable_entries()}
    assert set(unreadable) == {"notes.json", "broken"}
    assert "Cannot read the model card" in unreadable["broken"]


def test_unknown_name_lists_what_is_shipped(registry):
    with pytest.raises(ValueError, match=r"shipped: \['tiny-test'\]"):
        skcxr.load_pretrained("resnet1000")
