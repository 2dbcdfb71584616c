"""Exported networks (ONNX, torch.export, TorchScript) score like the PyTorch ones and say what they take."""

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_blob_images

from skcxr import CXRClassifier, export
from skcxr.backends import BackendMismatchError

SUFFIX = {"torchscript": "pt", "exported_program": "pt2", "onnx": "onnx"}


@pytest.fixture(scope="module", params=["per_image", "equalize"])
def fitted(request):
    X, y, _ = make_blob_images(n=32, size=64, seed=3)
    clf = CXRClassifier("tiny", lr=0.05, max_epochs=3, batch_size=8, validation_fraction=None,
                        normalization=request.param, random_state=0).fit(X, y)
    return X, clf


def load_and_score(path, format, images):
    """Logits of ``images`` through the exported file alone."""
    if format == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(["logits"], {"image": images})[0]
    with torch.no_grad():
        if format == "exported_program":
            logits, features = torch.export.load(str(path)).module()(torch.as_tensor(images))
            assert features.shape == (len(images), 16)
            return logits.numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch 2.14 deprecates torch.jit
            return torch.jit.load(str(path))(torch.as_tensor(images)).numpy()


@pytest.mark.parametrize("format", ["torchscript", "exported_program", "onnx"])
def test_export_round_trip(fitted, format, tmp_path):
    if format == "onnx":
        pytest.importorskip("onnxruntime")
    X, clf = fitted
    path = tmp_path / f"net.{SUFFIX[format]}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        metadata = export(clf, path, format=format, reference=X[:8])
    verification = metadata["verification"]
    assert verification["max_abs_proba_difference"] <= 1e-4 and verification["tolerance"] == 1e-4
    assert verification["n_images"] == 8
    assert json.loads((tmp_path / f"{path.name}.json").read_text()) == metadata
    assert metadata["input_shape"] == [1, 64, 64] and metadata["classes"] == [0, 1]
    assert sorted(os.listdir(tmp_path)) == [path.name, f"{path.name}.json"]
    # Score other images than the reference ones, at another batch size.
    images = X[8:21]
    proba = torch.softmax(torch.as_tensor(load_and_score(path, format, images)), dim=1).numpy()
    np.testing.assert_allclose(proba, clf.predict_proba(images), atol=1e-5)


def test_default_reference_is_random_texture_for_a_model_not_shipped(fitted, tmp_path):
    pytest.importorskip("onnxruntime")
    _, clf = fitted
    metadata = export(clf, tmp_path / "net.onnx", format="onnx")
    assert metadata["verification"]["reference"] == "8 random textures"


@pytest.mark.parametrize("format", ["exported_program", "onnx"])
def test_failed_verification_leaves_no_file(fitted, format, tmp_path, monkeypatch):
    if format == "onnx":
        pytest.importorskip("onnxruntime")
    from skcxr.backends import _export, _onnx_export

    def failing_check(*args, **kwargs):
        raise BackendMismatchError("probabilities differ by up to 0.0105 (allowed: 0.0001)")

    monkeypatch.setattr(_export, "verify_backend", failing_check)
    monkeypatch.setattr(_onnx_export, "verify_backend", failing_check)
    X, clf = fitted
    with pytest.raises(BackendMismatchError, match="0.0105"):
        export(clf, tmp_path / f"net.{SUFFIX[format]}", format=format, reference=X[:4])
    assert os.listdir(tmp_path) == []


def test_export_errors(fitted, tmp_path):
    X, clf = fitted
    with pytest.raises(ValueError, match="format must be one of"):
        export(clf, tmp_path / "x", format="tflite")
    with pytest.raises(TypeError, match="needs a fitted CXRClassifier"):
        export(object(), tmp_path / "x")
    with pytest.raises(ValueError, match="reference must be uint8"):
        export(clf, tmp_path / "x", reference=X.astype(np.float32) / 255)
    assert os.listdir(tmp_path) == []


def test_export_replaces_no_file_unless_asked(fitted, tmp_path):
    """An export over a film, a model's card (``<folder>/card`` + ``.json``) or a device."""
    X, clf = fitted
    film = tmp_path / "film.jpeg"
    film.write_bytes(b"a film")
    with pytest.raises(FileExistsError, match="film.jpeg' exists; export never replaces"):
        export(clf, film, reference=X[:2])
    (tmp_path / "card.json").write_text("{}")
    with pytest.raises(FileExistsError, match="card.json' exists"):
        export(clf, tmp_path / "card", reference=X[:2])
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ValueError, match="pipe': it exists and is not a regular file"):
        export(clf, tmp_path / "pipe", reference=X[:2], overwrite=True)
    with pytest.raises(FileNotFoundError, match="missing' does not exist"):
        export(clf, tmp_path / "missing" / "net.pt", reference=X[:2])
    with pytest.raises(FileNotFoundError, match="film.jpeg' is a file, not a folder"):
        export(clf, film / "net.pt", reference=X[:2])  # audit: it said "does not exist"
    assert film.read_bytes() == b"a film" and (tmp_path / "card.json").read_text() == "{}"
    assert sorted(os.listdir(tmp_path)) == ["card.json", "film.jpeg", "pipe"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        export(clf, film, reference=X[:2], overwrite=True)  # asked for: replaced
    assert film.read_bytes() != b"a film"


@pytest.mark.realdata
def test_the_shipped_screener_exports_verified_on_its_golden_films(data_home, monkeypatch, tmp_path):
    """The audit case: a flat grey reference frame failed this export by 0.0105 and left the file."""
    pytest.importorskip("onnxruntime")
    import skcxr
    from skcxr.backends._reference import golden_films

    name = skcxr.list_pretrained()[0]
    golden = json.loads((Path(__file__).parent / "golden" / "shipped_scores.json").read_text())
    assert golden_films(data_home / "chest_xray" / "test") == list(golden[name]["pneumonia_scores"])
    monkeypatch.setenv("SKCXR_DATA", str(data_home))
    metadata = export(skcxr.load_pretrained(name, device="cpu"), tmp_path / "net.onnx", format="onnx")
    assert metadata["verification"]["reference"] == f"the 6 golden Kermany test films of {name!r}"
    assert metadata["verification"]["max_abs_proba_difference"] <= 1e-4
    assert metadata["threshold"] == skcxr.pretrained.get_card(name).threshold


def test_one_reference_film_is_enough(fitted, tmp_path):
    # torch.export would fix the batch size to 1 if it traced with one film.
    X, clf = fitted
    metadata = export(clf, tmp_path / "net.pt2", format="exported_program", reference=X[:1])
    assert metadata["verification"]["reference"] == "1 reference film given to export"
    logits = load_and_score(tmp_path / "net.pt2", "exported_program", X[1:6])
    assert logits.shape == (5, 2)
