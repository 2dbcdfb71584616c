"""scikit-learn's estimator checks on skcxr's estimators, with honest tags.

skcxr's estimators take images: CXRClassifier, InputGuard and
TestTimeAugmentation image batches ``(n, channels, H, W)`` (or ``(n, H, W)``),
ImageLoader sequences of files, PIL images or arrays, and the Screener and the
seed ensemble whatever their estimator takes. Their tags say so
(``input_tags.two_d_array=False``, ``three_d_array=True``; CXRClassifier and
the Screener ``classifier_tags.multi_class=False``), and scikit-learn then runs
no check on them at all: every check feeds 2-D feature matrices.

So the checks run in two ways here.

1. **Through an adapter** (``Flat*`` below): a test-only subclass whose
   fit/predict/transform methods turn each row of a 2-D matrix into a 32x32
   grey image (each feature paints a band of rows) and hand that to the real
   method; its tag says ``two_d_array=True``, which for the adapter is true.
   ``parametrize_with_checks(..., legacy=False)`` then runs scikit-learn's API
   checks, and they exercise the real code: ``__init__``, ``get_params`` and
   ``set_params`` are inherited unchanged (the adapter defines no ``__init__``),
   the adapter's methods carry the real signatures (``functools.wraps``), and
   every fit trains a real network. What this makes meaningful: cloning, repr,
   no attribute set in ``__init__`` (and none before fit), ``fit`` returning
   ``self`` without changing the parameters or adding public attributes, fit
   and score taking ``y``, read-only (memory-mapped) input, ``NotFittedError``
   before fit, the mixin order, the tags' types, and with a few legacy checks
   picked by hand (``EXTRA_CHECKS``) pickling a fitted estimator, ``get_params``
   and ``set_params`` round trips and default-constructible parameters. The
   Screener is checked as it is, around an adapted classifier (it passes X on
   unread); the input guard around a network-free stand-in for a fitted
   classifier (``PooledPixels``), as it reads nothing but ``embed`` and
   ``input_shape_``. The seed ensemble runs every check, legacy ones included,
   with tabular members (it passes X on unread too).

2. **Without data**, on the estimators as users build them (their own tags):
   ``RandomAugment`` (a parameter object, never fitted) and
   ``AcceleratedCXRClassifier`` (needs an Accelerator to fit) get the checks
   that need no data (``DATA_FREE_CHECKS``).

The data checks of scikit-learn's legacy set (accuracy on blobs, NaN and
complex input, dtype object, one feature, subset invariance, ...) build on
2-D numbers and do not apply. Their substance is tested on images:
tests/test_classifier.py (learning, ``classes_`` order, repeatability with
``random_state``, parameters unchanged by fit, clone and nested parameters,
pickling, bad input errors), tests/test_classifier_failures.py (non-finite
input and divergence), tests/test_image_loader.py (``test_estimator_contract_on_images``
and the bad-input tests), tests/test_input_guard.py (pickle and clone, bad
parameters), tests/test_screener.py and tests/test_ensemble.py.

Each remaining expected failure (``XFAIL``) has its reason; ``xfail_strict``
makes a listed check that starts to pass an error.
"""

import functools

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import SGDClassifier
from sklearn.utils import estimator_checks as sk_checks
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from skcxr import CXRClassifier, ImageLoader
from skcxr.classifier import AcceleratedCXRClassifier, RandomAugment
from skcxr.ensemble import SeedEnsembleClassifier, TestTimeAugmentation
from skcxr.guard import InputGuard
from skcxr.screener import Screener

SIDE = 32  # CXRClassifier's smallest image side


def rows_as_images(X):
    """Each row of a 2-D numeric matrix as a ``(1, 32, 32)`` float image in [0, 1].

    Each feature paints a band of about ``32 / f`` image rows (of a row of ``f``
    features, up to 32) with its logistic value, so the image keeps every
    feature and the same row always gives the same image. Anything else is
    passed on as it is, for the estimator to judge.
    """
    if not isinstance(X, np.ndarray) or X.ndim != 2 or X.dtype.kind not in "biuf" or not X.size:
        return X
    values = 1 / (1 + np.exp(-np.asarray(X, dtype=np.float64)))
    band = np.arange(SIDE) * X.shape[1] // SIDE  # feature shown in each image row
    return np.ascontiguousarray(
        np.broadcast_to(values[:, band, None], (len(X), SIDE, SIDE))[:, None], dtype=np.float32)


def _takes_rows(method):
    @functools.wraps(method)  # the real signature: check_fit_score_takes_y reads it
    def adapted(self, X, *args, **kwargs):
        return method(self, rows_as_images(X), *args, **kwargs)

    return adapted


def _flat(cls, methods):
    """A test-only subclass of ``cls`` whose ``methods`` take 2-D rows as images."""
    namespace = {name: _takes_rows(getattr(cls, name)) for name in methods}

    def __sklearn_tags__(self):
        tags = cls.__sklearn_tags__(self)
        tags.input_tags.two_d_array = True  # for the adapter, true: rows become images
        return tags

    namespace.update(__sklearn_tags__=__sklearn_tags__, __module__=__name__,
                     __doc__=f"{cls.__name__} taking 2-D rows as 32x32 images (tests only).")
    return type(f"Flat{cls.__name__}", (cls,), namespace)


_CLASSIFIER_METHODS = ("fit", "partial_fit", "predict", "predict_proba", "score", "embed")
FlatCXRClassifier = _flat(CXRClassifier, _CLASSIFIER_METHODS)
FlatImageLoader = _flat(ImageLoader, ("fit", "transform", "fit_transform"))
FlatInputGuard = _flat(InputGuard, ("fit", "predict", "fit_predict", "score_samples",
                                    "decision_function", "refusals", "reasons"))
FlatTestTimeAugmentation = _flat(TestTimeAugmentation, ("fit", "predict", "predict_proba",
                                                        "score"))


def tiny_classifier(cls=CXRClassifier):
    return cls("tiny", max_epochs=1, batch_size=8, validation_fraction=None, random_state=0)


class PooledPixels(BaseEstimator):
    """What InputGuard reads of a fitted classifier, without a network: ``embed`` gives
    each image's 8x8 average-pooled pixels, ``input_shape_`` the fitted image shape.

    A fitted skorch network cannot stand in the guard's checks: check_estimators_overwrite_params
    compares ``joblib.hash`` of the parameters with that of their deepcopy, and a deepcopy
    of a fitted network pickles to other bytes although nothing changed.
    """

    def fit(self, X, y=None):
        self.input_shape_ = np.shape(X)[1:]
        return self

    def embed(self, X, *, return_proba=False):
        X = np.asarray(X, dtype=np.float64)
        n, c, h, w = X.shape
        features = X.reshape(n, c, 8, h // 8, 8, w // 8).mean(axis=(3, 5)).reshape(n, -1)
        return (features, np.full((n, 2), 0.5)) if return_proba else features


def adapted_estimators():
    """The estimators checked through the adapter (built once, at collection)."""
    return [
        tiny_classifier(FlatCXRClassifier),
        FlatImageLoader(size=8),
        FlatInputGuard(FrozenEstimator(PooledPixels().fit(np.zeros((1, 1, SIDE, SIDE)))),
                       max_false_rejection="auto", n_components=2, random_state=0),
        Screener(tiny_classifier(FlatCXRClassifier)),
        FlatTestTimeAugmentation(tiny_classifier()),
    ]


_NO_COLUMNS = ("n_features_in_ counts the columns of 2-D data; {name} takes images and checks "
               "their {what} instead ({where})")
_SKORCH_SINK = ("skorch's AccelerateMixin takes callbacks__print_log__sink in __init__ and treats "
                "it as a callback parameter: set_params re-initialises the callbacks with it, and "
                "get_params(deep=True) reports it from the callbacks; a skorch design")
XFAIL = {
    "FlatCXRClassifier": {"check_n_features_in_after_fitting": _NO_COLUMNS.format(
        name="CXRClassifier", what="(channels, height, width) against input_shape_",
        where="tests/test_classifier.py::test_predicting_another_image_size_is_an_error")},
    "FlatImageLoader": {"check_n_features_in_after_fitting": _NO_COLUMNS.format(
        name="ImageLoader", what="shape and decodability, image by image",
        where="tests/test_image_loader.py")},
    "FlatInputGuard": {"check_n_features_in_after_fitting": (
        "InputGuard.n_features_in_ counts the classifier's penultimate features (what its "
        "novelty model reads), not X's columns; X must match the classifier's input_shape_ "
        "(tests/test_input_guard.py)")},
    "Screener": {"check_n_features_in_after_fitting": _NO_COLUMNS.format(
        name="Screener", what="files or images through its estimator",
        where="tests/test_screener.py")},
    "FlatTestTimeAugmentation": {"check_n_features_in_after_fitting": _NO_COLUMNS.format(
        name="TestTimeAugmentation", what="batch shape before warping",
        where="tests/test_ensemble.py")},
    "AcceleratedCXRClassifier": dict.fromkeys(
        ["check_do_not_raise_errors_in_init_or_set_params", "check_get_params_invariance",
         "check_set_params", "check_parameters_default_constructible"], _SKORCH_SINK),
}


def _expected_failures(estimator):
    return XFAIL.get(type(estimator).__name__, {})


@parametrize_with_checks(adapted_estimators(), legacy=False, expected_failed_checks=_expected_failures)
def test_api_checks(estimator, check):
    check(estimator)


# Legacy checks that apply to image estimators as they are: picked by hand.
EXTRA_CHECKS = [
    sk_checks.check_estimators_pickle,
    sk_checks.check_get_params_invariance,
    sk_checks.check_set_params,
    sk_checks.check_parameters_default_constructible,
]
# API checks that need no data.
DATA_FREE_CHECKS = [
    sk_checks.check_estimator_cloneable,
    sk_checks.check_estimator_repr,
    sk_checks.check_no_attributes_set_in_init,
    sk_checks.check_do_not_raise_errors_in_init_or_set_params,
    sk_checks.check_estimator_tags_renamed,
    sk_checks.check_valid_tag_types,
    sk_checks.check_mixin_order,
    sk_checks.check_get_params_invariance,
    sk_checks.check_set_params,
    sk_checks.check_parameters_default_constructible,
]


def _accelerated():
    accelerate = pytest.importorskip("accelerate")
    return AcceleratedCXRClassifier("tiny", accelerator=accelerate.Accelerator(cpu=True),
                                    max_epochs=1, validation_fraction=None)


def _cases():
    pairs = [(estimator, check) for estimator in adapted_estimators() for check in EXTRA_CHECKS]
    pairs += [(estimator, check) for estimator in (RandomAugment(), _accelerated())
              for check in DATA_FREE_CHECKS]
    for estimator, check in pairs:
        reason = _expected_failures(estimator).get(check.__name__)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        yield pytest.param(estimator, check, marks=marks,
                           id=f"{type(estimator).__name__}-{check.__name__}")


@pytest.mark.parametrize("estimator, check", list(_cases()))
def test_more_checks(estimator, check):
    if isinstance(estimator, AcceleratedCXRClassifier):
        # A fresh Accelerator: other tests reset accelerate's process-wide state, which
        # the one made at collection relies on (its deepcopy logs through it).
        estimator = _accelerated()
    check(type(estimator).__name__, estimator)


@parametrize_with_checks([SeedEnsembleClassifier(SGDClassifier(loss="log_loss"),
                                                 n_estimators=3, random_state=0)])
def test_seed_ensemble_with_tabular_members_passes_every_check(estimator, check):
    check(estimator)


def test_tags_are_honest():
    for estimator in (tiny_classifier(), ImageLoader(), InputGuard(tiny_classifier()),
                      TestTimeAugmentation(tiny_classifier()), RandomAugment()):
        assert not get_tags(estimator).input_tags.two_d_array, type(estimator).__name__
    assert not get_tags(tiny_classifier()).classifier_tags.multi_class
    assert get_tags(ImageLoader()).input_tags.string  # file paths
    # The meta-estimators take what their estimator takes.
    assert get_tags(Screener(ImageLoader())).input_tags.string
    assert not get_tags(SeedEnsembleClassifier(tiny_classifier())).input_tags.two_d_array
    assert get_tags(SeedEnsembleClassifier(SGDClassifier())).input_tags.two_d_array


def test_rows_as_images_keeps_every_feature():
    X = np.array([[0.0, 1.0, -1.0], [2.0, 0.0, 0.0]])
    images = rows_as_images(X)
    assert images.shape == (2, 1, SIDE, SIDE) and images.dtype == np.float32
    np.testing.assert_allclose(np.unique(images[0]), np.sort(1 / (1 + np.exp(-X[0]))), rtol=1e-6)
    assert rows_as_images(images) is images  # anything but a 2-D matrix passes unchanged
