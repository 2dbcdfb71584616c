import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from conftest import make_blob_images  # noqa: E402

from skcxr import CXRClassifier  # noqa: E402
from skcxr.explain import gradcam  # noqa: E402
from skcxr.plot import (  # noqa: E402
    plot_confusion_matrix,
    plot_gradcam,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
)

SIZE = 64


@pytest.fixture(scope="module")
def blob_model():
    X, y, _ = make_blob_images(n=64, size=SIZE, seed=5)
    clf = CXRClassifier("cxrnet", module__channels=(8, 16), module__hidden_units=32,
                        lr=0.02, max_epochs=15, batch_size=8, validation_fraction=None,
                        augmentation=None, random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    return clf


def test_gradcam_peak_falls_inside_the_blob(blob_model):
    X, y, _ = make_blob_images(n=16, size=SIZE, seed=6)
    heatmaps = gradcam(blob_model, X[y == 1])
    assert heatmaps.shape == (8, SIZE, SIZE) and heatmaps.dtype == np.float32
    assert heatmaps.min() >= 0 and np.allclose(heatmaps.max(axis=(1, 2)), 1)
    centre = np.array([0.45 * SIZE, 0.3 * SIZE])  # where make_blob_images puts it
    radius = 2 * SIZE / 10  # two standard deviations of the blob
    for heatmap in heatmaps:
        peak = np.unravel_index(heatmap.argmax(), heatmap.shape)
        assert np.linalg.norm(np.array(peak) - centre) <= radius, peak
    # Classic Grad-CAM runs too (on this model its averaged weights are
    # negative, so its maps are empty: why HiResCAM is the default).
    classic = gradcam(blob_model, X[y == 1], method="gradcam")
    assert classic.shape == heatmaps.shape and np.isfinite(classic).all()


def test_gradcam_leaves_the_model_untouched(blob_model):
    X, _, _ = make_blob_images(n=10, size=SIZE, seed=7)
    before = {k: v.clone() for k, v in blob_model.module_.state_dict().items()}
    grads = [None if p.grad is None else p.grad.clone() for p in blob_model.module_.parameters()]
    proba = blob_model.predict_proba(X)
    blob_model.module_.train()
    gradcam(blob_model, X, batch_size=4)  # several batches
    assert blob_model.module_.training  # mode restored
    blob_model.module_.eval()
    for key, value in blob_model.module_.state_dict().items():
        assert torch.equal(value, before[key]), key
    for p, grad in zip(blob_model.module_.parameters(), grads):
        assert (p.grad is None and grad is None) or torch.equal(p.grad, grad)
    np.testing.assert_array_equal(blob_model.predict_proba(X), proba)


@pytest.mark.parametrize("name", ["resnet18", "densenet121", "efficientnet_b0"])
def test_gradcam_on_torchvision_architectures(name):
    X, y, _ = make_blob_images(n=8, size=SIZE, seed=8)
    clf = CXRClassifier(name, max_epochs=1, batch_size=8, validation_fraction=None,
                        random_state=0).fit(X, y)
    heatmaps = gradcam(clf, X[:3], target_class=0)
    assert heatmaps.shape == (3, SIZE, SIZE) and np.isfinite(heatmaps).all()


def test_gradcam_errors(blob_model):
    X, _, _ = make_blob_images(n=2, size=SIZE)
    with pytest.raises(ValueError, match="target_class 'PNEUMONIA' is not one of"):
        gradcam(blob_model, X, target_class="PNEUMONIA")
    with pytest.raises(ValueError, match="'method' parameter of gradcam must be a str among"):
        gradcam(blob_model, X, method="lime")
    with pytest.raises(ValueError, match="has no layer 'no_such_layer'"):
        gradcam(blob_model, X, layer="no_such_layer")


def _scores():
    rng = np.random.default_rng(0)
    y = np.where(rng.random(200) < 0.6, "PNEUMONIA", "NORMAL")
    score = np.clip((y == "PNEUMONIA") * 0.3 + rng.normal(0.4, 0.2, 200), 0, 1)
    return y, score


def _assert_png(fig, path):
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_plots_render_to_png(tmp_path, blob_model):
    y, score = _scores()
    kwargs = dict(pos_label="PNEUMONIA")
    roc = plot_roc(y, score, threshold=0.4, **kwargs)
    assert any("threshold 0.4" in t.get_text() for t in roc.ax_.get_legend().get_texts())
    _assert_png(roc.figure_, tmp_path / "roc.png")
    _assert_png(plot_precision_recall(y, score, threshold=0.4, **kwargs).figure_, tmp_path / "pr.png")
    cm = plot_confusion_matrix(y, score, threshold=0.4, **kwargs)
    assert cm.confusion_matrix.sum() == 200
    _assert_png(cm.figure_, tmp_path / "cm.png")
    _assert_png(plot_reliability(y, score, **kwargs).figure_, tmp_path / "rel.png")
    X, _, _ = make_blob_images(n=6, size=SIZE, seed=9)
    fig = plot_gradcam(X, gradcam(blob_model, X), titles=[str(i) for i in range(6)], ncols=3)
    _assert_png(fig, tmp_path / "cam.png")
