"""Exported networks (TorchScript, ONNX) score like the PyTorch ones and say what they take."""

import json

import numpy as np
import pytest
import torch
from conftest import make_blob_images

from skcxr import CXRClassifier, export


@pytest.fixture(scope="module", params=["per_image", "equalize"])
def fitted(request):
    X, y, _ = make_blob_images(n=32, size=64, seed=3)
    clf = CXRClassifier("tiny", lr=0.05, max_epochs=3, batch_size=8, validation_fraction=None,
                        normalization=request.param, random_state=0).fit(X, y)
    return X, clf


@pytest.mark.parametrize("format", ["torchscript", "onnx"])
def test_export_round_trip(fitted, format, tmp_path):
    X, clf = fitted
    path = tmp_path / f"net.{'pt' if format == 'torchscript' else 'onnx'}"
    metadata = export(clf, path, format=format, reference=X[:8])
    assert metadata["max_abs_difference"] <= 1e-4
    assert json.loads((tmp_path / f"{path.name}.json").read_text()) == metadata
    assert metadata["input_shape"] == [1, 64, 64] and metadata["classes"] == [0, 1]
    # Score other images than the reference ones through the exported file alone.
    images = X[8:20]
    if format == "torchscript":
        with torch.no_grad():
            logits = torch.jit.load(str(path))(torch.as_tensor(images)).numpy()
    else:
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        logits = session.run(["logits"], {"image": images})[0]
    proba = torch.softmax(torch.as_tensor(logits), dim=1).numpy()
    np.testing.assert_allclose(proba, clf.predict_proba(images), atol=1e-5)


def test_export_errors(fitted, tmp_path):
    X, clf = fitted
    with pytest.raises(ValueError, match="format must be one of"):
        export(clf, tmp_path / "x", format="tflite")
    with pytest.raises(TypeError, match="needs a fitted CXRClassifier"):
        export(object(), tmp_path / "x")
    with pytest.raises(ValueError, match="reference must be uint8"):
        export(clf, tmp_path / "x", reference=X.astype(np.float32) / 255)
