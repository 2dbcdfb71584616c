"""Every silent wrong answer of CXRClassifier is a clear error or a warning (issue 13's audit)."""

import warnings

import numpy as np
import pytest
import torch
from conftest import make_blob_images
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold
from skorch.dataset import ValidSplit

from skcxr import CXRClassifier
from skcxr.classifier import RandomAugment


def small(**params):
    defaults = dict(module="tiny", lr=0.05, max_epochs=3, batch_size=8, random_state=0,
                    validation_fraction=None)
    defaults.update(params)
    return CXRClassifier(**defaults)


@pytest.fixture(scope="module")
def blobs():
    return make_blob_images(n=40, size=64, seed=21)


@pytest.mark.parametrize("validation_fraction", [None, 0.25])
def test_diverging_training_is_an_error_not_a_model(blobs, validation_fraction):
    X, y, g = blobs
    clf = small(lr=1e6, optimizer=torch.optim.SGD, max_epochs=5, augmentation=None,
                validation_fraction=validation_fraction)
    with pytest.raises(ValueError, match=r"(training loss became|outputs became|non-finite|"
                                         r"Training diverged).*lr=1000000.0"):
        clf.fit(X, y, groups=g)
    with pytest.raises(NotFittedError):
        clf.predict(X)


@pytest.mark.parametrize("params, message", [
    (dict(lr=float("nan")), "'lr' parameter"),
    (dict(lr="0.1"), "'lr' parameter"),
    (dict(max_epochs=0), "'max_epochs' parameter"),
    (dict(max_epochs=2.5), "'max_epochs' parameter"),
    (dict(batch_size=0), "'batch_size' parameter"),
    (dict(batch_size="8"), "'batch_size' parameter"),
    (dict(class_weight="equal"), "'class_weight' parameter"),
    (dict(normalization="zscore"), "'normalization' parameter"),
    (dict(lr_schedule="step"), "'lr_schedule' parameter"),
    (dict(validation_fraction=1.5), "'validation_fraction' parameter"),
    (dict(patience=0), "'patience' parameter"),
    (dict(augmentation="strong"), "'augmentation' parameter"),
    (dict(augmentation=-1), "'augmentation' parameter"),
    (dict(weight_averaging=1.0), "'weight_averaging' parameter"),
    (dict(amp="yes"), "'amp' parameter"),
])
def test_bad_parameters_are_named_before_any_work(blobs, params, message):
    X, y, _ = blobs
    with pytest.raises(ValueError, match=message):
        small(**params).fit(X, y)


def test_groups_of_the_wrong_length(blobs):
    X, y, g = blobs
    for fraction in (None, 0.25):
        with pytest.raises(ValueError, match="groups has 10 entries but X has 40 images"):
            small(validation_fraction=fraction).fit(X, y, groups=g[:10])


def test_groups_reach_a_user_train_split(blobs):
    X, y, g = blobs
    clf = small(max_epochs=1, train_split=ValidSplit(GroupKFold(4))).fit(X, y, groups=g)
    assert "valid_loss" in clf.history[-1]

    def no_groups(dataset, y):
        return dataset, None

    with pytest.raises(ValueError, match="takes no groups argument"):
        small(max_epochs=1, train_split=no_groups).fit(X, y, groups=g)


def test_last_training_batch_of_one_is_dropped():
    """ResNet's batch norm cannot train on one image; 33 images in batches of 8 leave one."""
    X, y, _ = make_blob_images(n=33, size=32, seed=1)
    clf = CXRClassifier("resnet18", max_epochs=1, batch_size=8, validation_fraction=None,
                        random_state=0).fit(X, y)
    assert clf.predict_proba(X[:1]).shape == (1, 2)


def test_interrupted_fit_warns_which_weights_it_kept(blobs):
    X, y, g = blobs
    # Ctrl-C raises KeyboardInterrupt wherever the loop is, e.g. in a training step.
    clf = small(max_epochs=4, validation_fraction=0.25, patience=3)
    real_step = clf.train_step

    def interrupted_step(batch, **fit_params):
        if len(clf.history) == 2:
            raise KeyboardInterrupt
        return real_step(batch, **fit_params)

    clf.train_step = interrupted_step
    with pytest.warns(UserWarning, match="interrupted .* in epoch 2 of 4.*epoch 1, the best validation loss"):
        clf.fit(X, y, groups=g)
    assert clf.predict(X).shape == (40,)
    # Early stopping ends training by the same exception, silently.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="fit was interrupted")
        small(max_epochs=30, validation_fraction=0.25, patience=1, lr=1e-5).fit(X, y, groups=g)


def test_partial_fit_checks_and_encodes_like_fit(blobs):
    X, y, _ = blobs
    labels = np.array(["NORMAL", "PNEUMONIA"])[y]
    clf = small(max_epochs=1)
    clf.partial_fit(X, labels)
    assert list(clf.classes_) == ["NORMAL", "PNEUMONIA"]
    clf.partial_fit(X[y == 1], labels[y == 1])  # one class in a later batch is fine
    assert set(clf.predict(X)) <= {"NORMAL", "PNEUMONIA"}
    with pytest.raises(ValueError, match="not among classes_"):
        clf.partial_fit(X, np.where(y == 1, "PNEUMONIA", "OTHER"))
    with pytest.raises(ValueError, match="fitted on 64x64"):
        clf.partial_fit(X[:, :, :32, :32], labels)
    first = small(max_epochs=1, class_weight=None).partial_fit(
        X[y == 0], labels[y == 0], classes=["NORMAL", "PNEUMONIA"])
    assert list(first.classes_) == ["NORMAL", "PNEUMONIA"]
    with pytest.raises(ValueError, match="'balanced' needs both classes"):
        small(max_epochs=1).partial_fit(X[y == 0], labels[y == 0], classes=["NORMAL", "PNEUMONIA"])
    np.testing.assert_array_equal(small(max_epochs=1).partial_fit(X, y).classes_, [0, 1])


def test_nested_augmentation_parameters_are_searchable(blobs):
    X, y, _ = blobs
    clf = small(max_epochs=1, augmentation=RandomAugment())
    assert clf.get_params()["augmentation__gamma"] == 0.25
    clf.set_params(augmentation__gamma=0.5, augmentation__rotation=0)
    assert clf.augmentation.gamma == 0.5 and clf.augmentation.rotation == 0
    assert "augmentation__gamma" not in vars(clf)
    search = GridSearchCV(clf, {"augmentation__gamma": [0.1, 0.4]}, cv=2).fit(X, y)
    assert search.best_params_["augmentation__gamma"] in (0.1, 0.4)
    with pytest.raises(ValueError, match="needs augmentation to be an estimator"):
        small(augmentation=1.0).set_params(augmentation__gamma=0.3)


def test_classes_is_no_parameter():
    clf = small()
    assert "classes" not in clf.get_params()
    assert "classes" not in clone(clf).get_params()


def test_gradcam_checks_its_arguments(blobs):
    from skcxr.explain import gradcam

    X, y, _ = blobs
    clf = small(max_epochs=1).fit(X, np.array(["NORMAL", "PNEUMONIA"])[y])
    assert gradcam(clf, X[:2], target_class="PNEUMONIA").shape == (2, 64, 64)
    with pytest.raises(ValueError, match="has no layer 'layer4'; layers with feature maps: .*features"):
        gradcam(clf, X[:2], layer="layer4")
    with pytest.raises(ValueError, match="'batch_size' parameter of gradcam must be an int in "
                                         r"the range \[1, inf\)"):
        gradcam(clf, X[:2], batch_size=0)
    with pytest.raises(ValueError, match="0 samples"):
        gradcam(clf, X[:0])
    with pytest.raises(ValueError, match="target_class 1 is not one of classes_"):
        gradcam(clf, X[:2], target_class=1)
    with pytest.raises(ValueError, match="fitted on 64x64"):
        gradcam(clf, X[:2, :, :32, :32])
    with pytest.raises(TypeError, match="needs a fitted CXRClassifier"):
        from sklearn.linear_model import LogisticRegression

        gradcam(LogisticRegression().fit([[0], [1]], [0, 1]), X[:2])
