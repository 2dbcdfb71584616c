import io
import pickle

import joblib
import numpy as np
import pytest
import sklearn
import torch
from conftest import make_blob_images
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    TunedThresholdClassifierCV,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline

from skcxr import CXRClassifier, ImageLoader
from skcxr.classifier import _classifier
from skcxr.classifier._split import holdout_indices


def small(**params):
    """A classifier that learns the blob task in about a second on a CPU."""
    defaults = dict(module="tiny", lr=0.05, max_epochs=12, batch_size=8,
                    random_state=0, validation_fraction=None)
    defaults.update(params)
    return CXRClassifier(**defaults)


@pytest.fixture(scope="module")
def blobs():
    return make_blob_images(n=48, size=64, seed=1)


@pytest.fixture(scope="module")
def fitted(blobs):
    X, y, _ = blobs
    return small().fit(X, y)


def test_learns_blobs_clearly_better_than_chance(blobs):
    X, y, _ = blobs
    X_test, y_test, _ = make_blob_images(n=32, size=64, seed=2)
    clf = small().fit(X, y)
    assert clf.score(X_test, y_test) >= 0.9
    proba = clf.predict_proba(X_test)
    assert proba.shape == (32, 2) and np.allclose(proba.sum(1), 1)


@pytest.mark.parametrize(
    "labels",
    [np.array([0, 1]), np.array([False, True]), np.array(["NORMAL", "PNEUMONIA"]),
     np.array([-1, 3])],
    ids=["0/1", "bool", "strings", "-1/3"],
)
def test_classes_follow_scikit_learn_order(blobs, labels):
    X, y, _ = blobs
    clf = small(max_epochs=8).fit(X, labels[y])
    np.testing.assert_array_equal(clf.classes_, labels)
    predicted = clf.predict(X)
    assert set(predicted) <= set(labels)
    # Column 1 is the probability of the second class in sorted order.
    assert clf.score(X, labels[y]) >= 0.9


def test_random_state_makes_cpu_runs_repeatable(blobs):
    X, y, g = blobs
    state = torch.random.get_rng_state()
    a = small(max_epochs=3, validation_fraction=0.25).fit(X, y, groups=g).predict_proba(X)
    b = small(max_epochs=3, validation_fraction=0.25).fit(X, y, groups=g).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG left alone
    c = small(max_epochs=3, random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)


def test_params_clone_and_nested_parameters():
    clf = CXRClassifier("cxrnet", module__hidden_units=64, optimizer__nesterov=True)
    params = clf.get_params()
    assert params["module__hidden_units"] == 64 and params["device"] == "auto"
    twin = clone(clf).set_params(module__channels=(4, 8), lr=0.1)
    assert twin.module__channels == (4, 8) and twin.lr == 0.1
    assert clf.get_params()["lr"] == 0.015  # the original is untouched


def test_fit_does_not_change_parameters(blobs):
    X, y, g = blobs
    clf = small(max_epochs=2, validation_fraction=0.25)
    before = clf.get_params(deep=False)
    clf.fit(X, y, groups=g)
    after = clf.get_params(deep=False)
    assert before.keys() == after.keys()
    for key in before:
        assert joblib.hash(before[key]) == joblib.hash(after[key]), key
    assert not [k for k in vars(clf) if not k.endswith("_") and k not in before and not k.startswith("_")]


def test_sgd_gets_the_original_momentum(fitted):
    assert fitted.optimizer_.param_groups[0]["momentum"] == 0.9


@pytest.mark.parametrize(
    "class_weight, expected",
    [("balanced", [48 / (2 * 36), 48 / (2 * 12)]), ({0: 1.0, 1: 3.0}, [1.0, 3.0]), (None, None)],
)
def test_class_weight(blobs, class_weight, expected):
    X, y, _ = blobs
    y = (np.arange(48) % 4 == 0).astype(int)  # 25% positives
    clf = small(max_epochs=1, class_weight=class_weight).fit(X, y)
    if expected is None:
        assert clf.class_weight_ is None and clf.criterion_.weight is None
    else:
        np.testing.assert_allclose(clf.class_weight_, expected)
        np.testing.assert_allclose(clf.criterion_.weight.cpu().numpy(), expected)


def test_augmentation_only_in_fit(blobs, monkeypatch):
    X, y, _ = blobs
    calls = []

    def spy(batch):
        calls.append(len(batch))
        return batch

    clf = small(max_epochs=1, augmentation=spy).fit(X, y)
    assert sum(calls) == len(X)  # every training image, once per epoch
    calls.clear()
    first = clf.predict_proba(X)
    np.testing.assert_array_equal(first, clf.predict_proba(X))
    assert calls == []


def test_default_augmentation_keeps_shape_and_range():
    from skcxr.classifier import RandomAugment

    x = torch.rand(6, 1, 40, 40)
    out = RandomAugment()(x)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, x)
    assert torch.equal(RandomAugment().scaled(0)(x), x)


def test_normalize_modes():
    from skcxr.classifier._intensity import normalize

    x = torch.rand(3, 1, 8, 8) * 0.5
    per_image = normalize(x, "per_image")
    torch.testing.assert_close(per_image.mean(dim=(1, 2, 3)), torch.zeros(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(per_image.std(dim=(1, 2, 3)), torch.ones(3))
    torch.testing.assert_close(normalize(x, "dataset", 0.25, 0.5), (x - 0.25) / 0.5)
    torch.testing.assert_close(normalize(x, "none"), x - 0.5)


@pytest.mark.parametrize("normalization", ["per_image", "dataset"])
def test_normalizations_train(blobs, normalization):
    X, y, _ = blobs
    clf = small(normalization=normalization).fit(X, y)
    assert clf.score(X, y) >= 0.9
    if normalization == "dataset":
        assert 0 < clf.intensity_mean_ < 1 and clf.intensity_std_ > 0


def test_float_input_equals_uint8_input(fitted, blobs):
    X, _, _ = blobs
    np.testing.assert_allclose(
        fitted.predict_proba(X), fitted.predict_proba(X.astype(np.float32) / 255), atol=1e-5
    )


def test_patient_holdout_keeps_patients_together():
    y = np.arange(100) % 2
    groups = np.repeat(np.arange(25), 4)
    train, valid = holdout_indices(y, groups, 0.2, seed=0)
    assert not set(groups[train]) & set(groups[valid])
    assert 10 <= len(valid) <= 30 and len(train) + len(valid) == 100


def test_early_stopping_restores_best_epoch(blobs):
    X, y, g = blobs
    clf = small(max_epochs=40, validation_fraction=0.25, patience=2).fit(X, y, groups=g)
    history = clf.history
    best = int(np.argmin(history[:, "valid_loss"]))
    assert len(history) < 40
    assert len(history) - 1 - best == 2  # stopped `patience` epochs after the best
    assert "valid_auc" in history[-1]


def test_groups_routed_through_grid_search(blobs, monkeypatch):
    X, y, g = blobs
    seen = []
    real = _classifier.holdout_indices

    def spy(y_, groups, fraction, seed):
        seen.append(groups)
        return real(y_, groups, fraction, seed)

    monkeypatch.setattr(_classifier, "holdout_indices", spy)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = small(max_epochs=2, validation_fraction=0.25).set_fit_request(groups=True)
        search = GridSearchCV(clf, {"lr": [0.01, 0.05]}, cv=GroupKFold(n_splits=2))
        search.fit(X, y, groups=g)
    assert search.best_params_["lr"] in (0.01, 0.05)
    assert len(seen) == 5 and all(s is not None for s in seen)
    # Within each training fold the groups reached the estimator intact.
    assert all(len(np.unique(s)) * 2 == len(s) for s in seen)


def test_pipeline_with_image_loader_and_grid_search(tmp_path):
    from PIL import Image

    X, y, g = make_blob_images(n=24, size=64, seed=3)
    paths = []
    for i, image in enumerate(X[:, 0]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    pipe = make_pipeline(ImageLoader(size=64), small(batch_size=4))
    search = GridSearchCV(pipe, {"cxrclassifier__lr": [0.05]}, cv=GroupKFold(2))
    search.fit(np.array(paths), y, groups=g)
    assert search.best_score_ >= 0.8
    assert search.predict(np.array(paths[:3])).shape == (3,)


def test_tuned_threshold_and_calibration(blobs):
    X, y, g = blobs
    tuned = TunedThresholdClassifierCV(small(), scoring="balanced_accuracy", cv=3).fit(X, y)
    assert 0 < tuned.best_threshold_ < 1
    assert tuned.score(X, y) >= 0.9
    for method in ("sigmoid", "isotonic"):
        calibrated = CalibratedClassifierCV(small(), method=method, cv=3).fit(X, y)
        proba = calibrated.predict_proba(X)
        assert proba.shape == (48, 2) and np.all((proba >= 0) & (proba <= 1))
    scores = cross_val_score(small(), X, y, groups=g, cv=GroupKFold(3))
    assert scores.mean() >= 0.8


def test_joblib_and_pickle_round_trip(fitted, blobs, tmp_path):
    X, _, _ = blobs
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.get_params()["device"] == "auto"
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))


def test_model_fitted_on_gpu_loads_on_cpu(fitted, blobs, monkeypatch):
    """Simulate the GPU->CPU trip: a pickle that says device='cuda'."""
    X, _, _ = blobs
    expected = fitted.predict_proba(X)
    # Fitted on a GPU, expected comes from bfloat16 autocast; on the CPU from float32.
    atol = 2e-2 if torch.cuda.is_available() else 1e-5
    buffer = io.BytesIO()
    clone_fitted = pickle.loads(pickle.dumps(fitted))
    clone_fitted.device = "cuda"  # as if it had been trained with device="cuda"
    pickle.dump(clone_fitted, buffer)
    if torch.cuda.is_available():
        # Where CUDA is, the pickle loads onto the GPU and predicts the same.
        on_gpu = pickle.loads(buffer.getvalue())
        assert str(on_gpu.device) == "cuda"
        assert all(p.is_cuda for p in on_gpu.module_.parameters())
        np.testing.assert_allclose(on_gpu.predict_proba(X), expected, atol=1e-4)
        # Then the trip this test is about: a machine without CUDA.
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="cpu"):
        loaded = pickle.loads(buffer.getvalue())
    assert str(loaded.device) == "cpu"
    assert not any(p.is_cuda for p in loaded.module_.parameters())
    np.testing.assert_allclose(loaded.predict_proba(X), expected, atol=atol)


def test_resnet18_trains_in_the_wrapper():
    X, y, _ = make_blob_images(n=16, size=64, seed=4)
    clf = CXRClassifier("resnet18", max_epochs=1, batch_size=8, validation_fraction=None,
                        random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (16, 2)


@pytest.mark.parametrize(
    "X_change, y_change, error, message",
    [
        (lambda X: X[:, 0, 0], None, ValueError, r"X has shape \(48, 64\)"),
        (lambda X: X.astype(np.complex64), None, ValueError, "dtype complex64"),
        (lambda X: X[:, :, :16, :16], None, ValueError, "16x16 pixels"),
        (lambda X: X.astype(float) * 2, None, ValueError, r"values in \[0, 510\]"),
        (lambda X: np.where(X > 0, np.nan, 0.5), None, ValueError, "NaN"),
        (None, lambda y: y[:10], ValueError, "48 images but y has 10"),
        (None, lambda y: np.zeros_like(y), ValueError, "single class"),
        (None, lambda y: np.arange(len(y)) % 3, ValueError, "binary classifier"),
        (lambda X: list(map(str, range(len(X)))), None, ValueError, "ImageLoader"),
    ],
)
def test_bad_input_errors(blobs, X_change, y_change, error, message):
    X, y, _ = blobs
    X = X_change(X) if X_change else X
    y = y_change(y) if y_change else y
    with pytest.raises(error, match=message):
        small(max_epochs=1).fit(X, y)


def test_errors_after_fit_and_bad_parameters(fitted, blobs):
    X, y, _ = blobs
    with pytest.raises(NotFittedError):
        small().predict(X)
    with pytest.raises(ValueError, match="fitted on 1"):
        fitted.predict(np.repeat(X, 3, axis=1))
    with pytest.raises(ValueError, match="known modules: .*resnet18"):
        small(module="vgg11").fit(X, y)
    with pytest.raises(ValueError, match="normalization"):
        small(normalization="zscore").fit(X, y)
    with pytest.raises(ValueError, match="lr_schedule"):
        small(lr_schedule="step").fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        small(validation_fraction=1.5).fit(X, y)
    with pytest.raises(ValueError, match="patience"):
        small(patience=0).fit(X, y)
    with pytest.raises(ValueError, match="augmentation"):
        small(augmentation="strong").fit(X, y)


def test_presets():
    from skcxr.classifier import RandomAugment

    original = CXRClassifier.from_preset("original")
    assert original.get_params()["lr"] == CXRClassifier().lr == 0.015
    recommended = CXRClassifier.from_preset("recommended", max_epochs=3)
    assert recommended.max_epochs == 3 and recommended.module == "resnet18"
    assert isinstance(recommended.augmentation, RandomAugment)
    compact = CXRClassifier.from_preset("compact", lr=0.01)
    assert compact.module == "cxrnet" and compact.module__batch_norm and compact.lr == 0.01
    # Each call gets its own augmentation object: tuning one never edits the preset.
    assert recommended.augmentation is not CXRClassifier.from_preset("recommended").augmentation
    with pytest.raises(ValueError, match="known presets"):
        CXRClassifier.from_preset("best")


def test_skorch_callbacks_work_as_usual(blobs):
    from skorch.callbacks import Callback

    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    X, y, _ = blobs
    clf = small(max_epochs=3, callbacks=[("count", CountEpochs())]).fit(X, y)
    assert dict(clf.callbacks_)["count"].epochs == 3
    assert clf.get_params()["callbacks__count__epochs"] == 3


def test_gpu_data_path_settings_without_a_gpu():
    """On CUDA, batches come from pinned uint8 host memory; on the CPU they don't."""
    on_gpu = CXRClassifier(device="cuda")
    assert on_gpu.get_params_for("iterator_train")["pin_memory"] is True
    assert on_gpu.get_params_for("iterator_valid")["pin_memory"] is True
    assert "pin_memory" not in CXRClassifier(device="cpu").get_params_for("iterator_train")
    assert CXRClassifier().get_params_for("iterator_train")["shuffle"] is True


def test_module_alone_maps_raw_images_to_the_same_probabilities(fitted, blobs):
    """module_ carries its own input head: no estimator needed to score a raw batch."""
    X, _, _ = blobs
    module = fitted.module_.eval()
    with torch.no_grad():
        proba = torch.softmax(module(torch.as_tensor(X)), dim=1).numpy()
    np.testing.assert_allclose(proba, fitted.predict_proba(X), rtol=0, atol=1e-6)
    # The dataset statistics travel as buffers, inside the state dict.
    clf = small(max_epochs=1, normalization="dataset").fit(X, blobs[1])
    state = clf.module_.state_dict()
    assert float(state["input_head.mean"]) == pytest.approx(clf.intensity_mean_)
    assert float(state["input_head.std"]) == pytest.approx(clf.intensity_std_)


def test_device_auto_is_resolved_once(fitted, blobs, tmp_path):
    X, _, _ = blobs
    assert fitted.device == "auto" and fitted.device_ == _classifier.resolve_device("auto")
    # An unfinished prediction generator leaves the parameter as it was.
    iterator = fitted.forward_iter(X)
    next(iterator)
    assert fitted.device == "auto"
    # load_params works after a fit with device="auto".
    fitted.save_params(f_params=tmp_path / "weights.pt")
    twin = pickle.loads(pickle.dumps(fitted))
    with torch.no_grad():
        for parameter in twin.module_.parameters():
            parameter.zero_()
    twin.load_params(f_params=tmp_path / "weights.pt")
    np.testing.assert_array_equal(twin.predict_proba(X), fitted.predict_proba(X))
    assert twin.device == "auto"


def test_embed_gives_the_penultimate_features(fitted, blobs):
    X, _, _ = blobs
    features = fitted.embed(X)
    assert features.shape == (len(X), 16) and features.dtype == np.float32  # tiny: 16 hidden units
    last = fitted.module_.network.classifier[-1]
    with torch.no_grad():
        logits = last(torch.as_tensor(features)).numpy()
    np.testing.assert_allclose(torch.softmax(torch.as_tensor(logits), 1).numpy(),
                               fitted.predict_proba(X), atol=1e-5)


def test_predicting_another_image_size_is_an_error(fitted, blobs):
    X, _, _ = blobs
    with pytest.raises(ValueError, match="32x32 pixels but the classifier was fitted on 64x64"):
        fitted.predict_proba(X[:, :, :32, :32])
    with pytest.raises(ValueError, match="fitted on 64x64"):
        fitted.embed(X[:, :, :48, :])


def test_histogram_equalisation_ignores_monotonic_intensity_changes():
    from skcxr.classifier._intensity import equalize_histogram, normalize

    x = torch.rand(3, 1, 32, 32)
    flat = torch.linspace(0, 1, 256).repeat(4).view(1, 1, 32, 32)
    torch.testing.assert_close(equalize_histogram(flat).flatten()[:256],
                               torch.linspace(0, 1, 256), atol=1 / 255, rtol=0)
    darker = x ** 2.0 * 0.6 + 0.1  # gamma, contrast and exposure changed
    a, b = normalize(x, "equalize"), normalize(darker, "equalize")
    assert (a - b).abs().mean() < 0.05  # rank order kept; only grey-level rounding differs
    assert (normalize(x, "per_image") - normalize(darker, "per_image")).abs().mean() > 0.1


def test_weight_averaging_keeps_the_average(blobs):
    from skcxr.classifier._averaging import WeightAveraging

    X, y, g = blobs
    clf = small(max_epochs=12, weight_averaging=0.9, validation_fraction=0.25, patience=None)
    clf.fit(X, y, groups=g)
    callback = dict(clf.callbacks_)["weight_averaging"]
    assert isinstance(callback, WeightAveraging) and callback.steps_ == 12 * 5  # 36 images, batch 8
    final = clf.module_.state_dict()
    for name, average in callback.average_.items():
        torch.testing.assert_close(final[name].float(), average)
    # The live weights of the last step differ from the average it kept.
    assert any(not torch.equal(callback.live_[k], callback.average_[k]) for k in callback.live_
               if callback.live_[k].is_floating_point())
    assert clf.score(X, y) >= 0.9
    with pytest.raises(ValueError, match="weight_averaging"):
        small(weight_averaging=1.5).fit(X, y)
