"""SeedEnsembleClassifier and TestTimeAugmentation: averaging, seeds, routing, persistence.

Mechanics are tested with fast stand-ins (an SGD pipeline over pooled
pixels, a classifier reading a blob's brightness); tiny CXRClassifiers show
that the real network works in every place the estimators are meant for.
"""

import joblib
import numpy as np
import pytest
import sklearn
import torch
from conftest import make_blob_images
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.decomposition import PCA
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from skcxr import CXRClassifier, ImageLoader
from skcxr.classifier import _classifier
from skcxr.ensemble import SeedEnsembleClassifier, TestTimeAugmentation
from skcxr.ensemble._views import warp


def small(**params):
    """A tiny network that learns the blob task in a second or two on a CPU."""
    defaults = dict(module="tiny", lr=0.05, max_epochs=6, batch_size=8,
                    random_state=0, validation_fraction=None)
    return CXRClassifier(**{**defaults, **params})


def pooled(X):
    """8x8 mean-pooled pixels of an image batch, as a 2-D feature matrix."""
    n, c, h, w = X.shape
    return X.reshape(n, c, 8, h // 8, 8, w // 8).mean(axis=(3, 5)).reshape(n, -1) / 255


def sgd_pipeline(**params):
    """Seconds-free stand-in for a network: its fit depends on random_state (shuffling)."""
    return make_pipeline(FunctionTransformer(pooled),
                         SGDClassifier(loss="log_loss", max_iter=20, tol=None, **params))


class BlobBrightness(ClassifierMixin, BaseEstimator):
    """P(blob) from the brightness of the blob's region; records the batches it scores."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.batch_sizes_ = []
        return self

    def predict_proba(self, X):
        self.batch_sizes_.append(len(X))
        h, w = X.shape[2:]
        region = X[:, 0, int(0.3 * h):int(0.6 * h), int(0.15 * w):int(0.45 * w)]
        logit = (region.reshape(len(X), -1).mean(axis=1) / (255 if X.dtype == np.uint8 else 1)
                 - 0.4) * 20
        p = 1 / (1 + np.exp(-logit))
        return np.column_stack([1 - p, p])


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny networks are fastest on one thread; on a busy shared CPU two ran 20 times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def blobs():
    return make_blob_images(n=48, size=64, seed=1)


@pytest.fixture(scope="module")
def nets(blobs):
    """Two tiny networks of one recipe, seeds 0 and 1."""
    X, y, _ = blobs
    return [small(random_state=seed).fit(X, y) for seed in (0, 1)]


# ------------------------------------------------------------- seed ensemble
def test_seed_ensemble_trains_members_with_their_own_seeds(blobs):
    X, y, _ = blobs
    X_test, y_test, _ = make_blob_images(n=32, size=64, seed=2)
    ensemble = SeedEnsembleClassifier(small(), n_estimators=2, random_state=0).fit(X, y)
    assert len(ensemble.estimators_) == 2
    seeds = ensemble.random_states_
    assert len(set(seeds)) == 2
    assert [m.random_state for m in ensemble.estimators_] == seeds
    assert ensemble.estimator.random_state == 0  # the parameter itself is untouched
    members = [m.predict_proba(X_test) for m in ensemble.estimators_]
    assert not np.allclose(members[0], members[1])  # the seeds made different networks
    np.testing.assert_allclose(ensemble.predict_proba(X_test), np.mean(members, axis=0))
    np.testing.assert_array_equal(ensemble.classes_, [0, 1])
    assert ensemble.score(X_test, y_test) >= 0.9
    # Each member is the recipe retrained alone with its recorded seed.
    alone = small(random_state=seeds[1]).fit(X, y)
    np.testing.assert_array_equal(alone.predict_proba(X_test), members[1])


def test_every_random_state_of_a_pipeline_is_seeded_and_runs_repeat(blobs):
    X, y, _ = blobs
    estimator = make_pipeline(FunctionTransformer(pooled),
                              PCA(n_components=8, svd_solver="randomized"),
                              SGDClassifier(loss="log_loss", max_iter=20, tol=None))
    ensemble = SeedEnsembleClassifier(estimator, n_estimators=3, random_state=7).fit(X, y)
    for member, seed in zip(ensemble.estimators_, ensemble.random_states_):
        assert member.get_params()["pca__random_state"] == seed
        assert member.get_params()["sgdclassifier__random_state"] == seed
    again = SeedEnsembleClassifier(estimator, n_estimators=3, random_state=7).fit(X, y)
    assert again.random_states_ == ensemble.random_states_
    np.testing.assert_array_equal(again.predict_proba(X), ensemble.predict_proba(X))
    other = SeedEnsembleClassifier(estimator, n_estimators=3, random_state=8).fit(X, y)
    assert other.random_states_ != ensemble.random_states_
    unseeded = SeedEnsembleClassifier(estimator, n_estimators=3).fit(X, y)
    assert len(set(unseeded.random_states_)) == 3  # None still gives distinct members


def test_fit_params_reach_every_member_without_routing(blobs, monkeypatch):
    X, y, g = blobs
    seen = []
    real = _classifier.holdout_indices
    monkeypatch.setattr(_classifier, "holdout_indices",
                        lambda y_, groups, fraction, seed: seen.append(groups)
                        or real(y_, groups, fraction, seed))
    SeedEnsembleClassifier(small(max_epochs=1, validation_fraction=0.25),
                           n_estimators=2).fit(X, y, groups=g)
    assert len(seen) == 2 and all(np.array_equal(s, g) for s in seen)


def test_groups_routed_through_grid_search_tta_and_ensemble(blobs, monkeypatch):
    X, y, g = blobs
    seen = []
    real = _classifier.holdout_indices
    monkeypatch.setattr(_classifier, "holdout_indices",
                        lambda y_, groups, fraction, seed: seen.append(groups)
                        or real(y_, groups, fraction, seed))
    with sklearn.config_context(enable_metadata_routing=True):
        net = small(max_epochs=2, validation_fraction=0.25).set_fit_request(groups=True)
        model = TestTimeAugmentation(SeedEnsembleClassifier(net, n_estimators=2, random_state=0))
        search = GridSearchCV(model, {"estimator__estimator__lr": [0.02, 0.05]},
                              cv=GroupKFold(n_splits=2))
        search.fit(X, y, groups=g)
    assert search.best_params_["estimator__estimator__lr"] in (0.02, 0.05)
    # 2 learning rates x 2 folds x 2 members, then the refit's 2 members.
    assert len(seen) == 10 and all(s is not None for s in seen)
    assert all(len(np.unique(s)) * 2 == len(s) for s in seen)  # patients kept whole
    assert search.predict_proba(X[:3]).shape == (3, 2)


def test_from_fitted_combines_trained_members_without_refitting(blobs):
    X, y, _ = blobs
    members = [sgd_pipeline(random_state=seed).fit(X, y) for seed in (3, 4, 5)]
    before = [m.predict_proba(X) for m in members]
    ensemble = SeedEnsembleClassifier.from_fitted(members)
    assert ensemble.estimators_ == members and ensemble.n_estimators == 3
    assert ensemble.random_states_ == [3, 4, 5]
    np.testing.assert_allclose(ensemble.predict_proba(X), np.mean(before, axis=0))
    # Its clone is the same recipe, unfitted.
    twin = clone(ensemble)
    with pytest.raises(NotFittedError):
        twin.predict_proba(X)
    assert twin.fit(X, y).n_estimators == 3


@pytest.mark.parametrize(
    "other, message",
    [(lambda X, y: sgd_pipeline(random_state=1, alpha=0.1).fit(X, y),
      r"differs from member 0 in \['sgdclassifier__alpha'\]"),
     (lambda X, y: KNeighborsClassifier().fit(X.reshape(len(X), -1), y),
      "different estimators belong in sklearn.ensemble.VotingClassifier"),
     (lambda X, y: sgd_pipeline(random_state=1).fit(X, 1 - y + 1), r"classes_ \[1, 2\]"),
     (lambda X, y: sgd_pipeline(random_state=1), "Member 1 is not fitted")],
    ids=["other-params", "other-class", "other-classes", "unfitted"],
)
def test_from_fitted_refuses_members_that_are_not_seeds_of_one_recipe(blobs, other, message):
    X, y, _ = blobs
    first = sgd_pipeline(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=message):
        SeedEnsembleClassifier.from_fitted([first, other(X, y)])


def test_from_fitted_networks_and_their_concatenated_embedding(nets, blobs):
    X, _, _ = blobs
    ensemble = SeedEnsembleClassifier.from_fitted(nets)
    assert ensemble.random_states_ == [0, 1]
    np.testing.assert_allclose(ensemble.predict_proba(X),
                               (nets[0].predict_proba(X) + nets[1].predict_proba(X)) / 2)
    features = ensemble.embed(X)
    np.testing.assert_array_equal(features, np.hstack([net.embed(X) for net in nets]))
    assert not hasattr(SeedEnsembleClassifier(sgd_pipeline()), "embed")


@pytest.mark.parametrize(
    "estimator, message",
    [(make_pipeline(FunctionTransformer(pooled), KNeighborsClassifier()), "no random_state"),
     (FrozenEstimator(sgd_pipeline()), "from_fitted")],
    ids=["unseeded", "frozen"],
)
def test_estimators_that_cannot_vary_by_seed_are_refused(blobs, estimator, message):
    X, y, _ = blobs
    with pytest.raises(ValueError, match=message):
        SeedEnsembleClassifier(estimator, n_estimators=2).fit(X, y)


def test_parallel_members_match_sequential_ones(blobs):
    X, y, _ = blobs
    sequential = SeedEnsembleClassifier(sgd_pipeline(), n_estimators=2, random_state=0).fit(X, y)
    # Threads here only because starting worker processes takes most of a minute on a busy
    # machine; the wiring through joblib is the same. (CXRClassifier members need the
    # default process backend: each fit seeds torch's global generator.)
    with joblib.parallel_backend("threading"):
        parallel = SeedEnsembleClassifier(sgd_pipeline(), n_estimators=2, random_state=0,
                                          n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(parallel.predict_proba(X), sequential.predict_proba(X))


def test_networks_of_different_architectures_vote_with_voting_classifier(blobs, nets):
    X, y, _ = blobs
    wider = small(module__channels=(8, 8), random_state=2)
    voting = VotingClassifier([("tiny", small()), ("wider", wider)], voting="soft").fit(X, y)
    members = [est.predict_proba(X) for est in voting.estimators_]
    np.testing.assert_allclose(voting.predict_proba(X), np.mean(members, axis=0), rtol=1e-6)
    assert voting.score(X, y) >= 0.9
    with pytest.raises(ValueError, match=r"differs from member 0 in \['module__channels'\]"):
        SeedEnsembleClassifier.from_fitted([nets[0], voting.estimators_[1]])


# ------------------------------------------------------- test-time augmentation
def test_warp_moves_and_magnifies_content_as_documented():
    ramp = np.tile(np.arange(50, dtype=np.uint8) * 5, (2, 1, 50, 1))  # value grows to the right
    right = warp(ramp, 0.04, 0.0, 1.0)  # 4% of 50 px = 2 px to the right
    assert right.dtype == np.uint8 and right.shape == ramp.shape
    np.testing.assert_array_equal(right[..., 2:], ramp[..., :-2])
    np.testing.assert_array_equal(right[..., :2], 0)  # the border repeats
    np.testing.assert_array_equal(warp(ramp, 0.0, -0.04, 1.0), ramp)  # vertical: no change
    # A float ramp magnified 1.25x about the centre: pixel j shows x = 31.5 + (j - 31.5) / 1.25.
    ramp = np.tile(np.arange(64, dtype=np.float32) / 63, (1, 1, 64, 1))
    zoomed = warp(ramp, 0.0, 0.0, 1.25)
    assert zoomed.dtype == np.float32
    j = np.arange(16, 48)
    np.testing.assert_allclose(zoomed[0, 0, 5, j] * 63, 31.5 + (j - 31.5) / 1.25, atol=1e-4)
    assert warp(ramp, 0.0, 0.0, 1.0) is ramp


def test_tta_averages_the_views_chunk_by_chunk(blobs):
    X, y, _ = blobs
    tta = TestTimeAugmentation(BlobBrightness(), batch_size=10).fit(X, y)
    assert tta.views_ == [(0.0, 0.0, 1.0), (0.04, 0.04, 1.0), (-0.04, -0.04, 1.0),
                          (0.0, 0.0, 0.95), (0.0, 0.0, 1.05)]
    expected = np.mean([tta.estimator_.predict_proba(warp(X, *view)) for view in tta.views_],
                       axis=0)
    tta.estimator_.batch_sizes_.clear()
    proba = tta.predict_proba(X)
    np.testing.assert_allclose(proba, expected)
    assert max(tta.estimator_.batch_sizes_) == 10  # one view of one chunk at a time
    assert len(tta.estimator_.batch_sizes_) == 5 * 5  # 48 images: 5 chunks, 5 views each
    np.testing.assert_array_equal(tta.predict(X), tta.classes_[proba.argmax(1)])
    floats = tta.predict_proba(X.astype(np.float64) / 255)  # float in [0, 1] works too
    np.testing.assert_allclose(floats, proba, atol=0.02)


def test_tta_of_a_fitted_network_through_frozen_estimator(nets, blobs):
    X, y, _ = blobs
    net = nets[0]
    before = net.predict_proba(X)
    tta = TestTimeAugmentation(FrozenEstimator(net), shifts=[(0.05, 0.0)], scales=[]).fit(X, y)
    np.testing.assert_array_equal(net.predict_proba(X), before)  # not refitted
    expected = (before + net.predict_proba(warp(X, 0.05, 0.0, 1.0))) / 2
    np.testing.assert_allclose(tta.predict_proba(X), expected, rtol=1e-6)
    np.testing.assert_array_equal(tta.embed(X), net.embed(X))  # the identity view


def test_tta_of_an_ensemble_is_the_mean_of_its_members_tta(nets, blobs):
    # benchmarks/ensemble_study.py relies on this: views and members average in any order.
    X, y, _ = blobs
    ensemble = SeedEnsembleClassifier.from_fitted(nets)
    both = TestTimeAugmentation(FrozenEstimator(ensemble)).fit(X, y).predict_proba(X)
    each = [TestTimeAugmentation(FrozenEstimator(net)).fit(X, y).predict_proba(X) for net in nets]
    np.testing.assert_allclose(both, np.mean(each, axis=0), rtol=1e-6)


@pytest.mark.parametrize(
    "params, message",
    [(dict(shifts=[(4, 0)]), "more than 25%"),
     (dict(shifts=[0.04]), "pair"),
     (dict(shifts=[(0, 0)]), "repeats the identity"),
     (dict(scales=[1.0]), "repeats the identity"),
     (dict(scales=[-1.0]), r"outside \[0.5, 2.0\]"),  # a mirror image is no view of a film
     (dict(scales=[1.05, 1.05]), "repeat a view"),
     (dict(batch_size=0), "batch_size"),
     (dict(estimator=LinearSVC()), "estimator")],  # no predict_proba
)
def test_tta_parameters_are_checked_in_fit(blobs, params, message):
    X, y, _ = blobs
    tta = TestTimeAugmentation(params.pop("estimator", BlobBrightness()), **params)
    with pytest.raises(ValueError, match=message):
        tta.fit(X, y)


def test_ensemble_parameters_are_checked_in_fit(blobs):
    X, y, _ = blobs
    with pytest.raises(ValueError, match="n_estimators"):
        SeedEnsembleClassifier(sgd_pipeline(), n_estimators=0).fit(X, y)
    with pytest.raises(ValueError, match="empty|at least one"):
        SeedEnsembleClassifier.from_fitted([])


def test_tta_rejects_what_is_not_an_image_batch(blobs):
    X, y, _ = blobs
    tta = TestTimeAugmentation(BlobBrightness()).fit(X, y)
    with pytest.raises(ValueError, match="expected an image batch"):
        tta.predict_proba(X.reshape(len(X), -1))
    with pytest.raises(ValueError, match=r"values in \[0, 255\]"):
        tta.predict_proba(X.astype(np.float32))


# --------------------------------------------------- both, as one estimator
def test_pipeline_of_loader_tta_and_ensemble_persists_as_one_model(tmp_path):
    from PIL import Image

    X, y, g = make_blob_images(n=24, size=64, seed=3)
    paths = []
    for i, image in enumerate(X[:, 0]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    paths = np.array(paths)
    model = make_pipeline(
        ImageLoader(size=64),
        TestTimeAugmentation(SeedEnsembleClassifier(small(batch_size=4), n_estimators=2)))
    model.fit(paths, y, testtimeaugmentation__groups=g)
    proba = model.predict_proba(paths)
    assert proba.shape == (24, 2) and model.score(paths, y) >= 0.8
    joblib.dump(model, tmp_path / "screen.joblib")
    loaded = joblib.load(tmp_path / "screen.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(paths), proba)
    twin = clone(model)
    assert twin.get_params()["testtimeaugmentation__estimator__n_estimators"] == 2
    assert not hasattr(twin[-1], "estimator_")


# scikit-learn's checks: tests/test_estimator_checks.py.


# ------------------------------------------------- benchmarks/ensemble_study.py
@pytest.mark.slow  # six patient-level bootstraps of 1,000 resamples: minutes on a busy CPU
@pytest.mark.realdata
def test_ensemble_study_scores_the_mean_of_stored_member_scores(data_home, tmp_path, monkeypatch):
    """The study's seed-ensemble row, on made-up member scores of the real splits' sizes."""
    import json
    import subprocess
    import sys
    from argparse import Namespace

    from conftest import REPO_ROOT
    from sklearn.metrics import roc_auc_score

    monkeypatch.setenv("SKCXR_DATA", str(data_home))
    monkeypatch.syspath_prepend(str(REPO_ROOT / "benchmarks"))
    import accuracy

    data = accuracy.load_data(Namespace(quick=True))
    y_val, y_test = data["train"].target[data["val"]], data["test"].target
    args = Namespace(target_sensitivity=0.97, size=64)
    rng = np.random.default_rng(0)
    rows = []
    for seed in (0, 1):  # noisy scores that rank the labels fairly well
        val, test = (np.clip(y + rng.normal(0, 0.6, len(y)), 0, 1) for y in (y_val, y_test))
        row = accuracy.score_row("stable", val, test, 0.5, data, args)
        row.update(seed=seed, train_seconds=1.0)
        rows.append(row)
    meta = dict(device="test", commit="test", date="today", target=0.97, size=64, max_epochs=1,
                seeds=[0, 1], quick=True)
    (tmp_path / "accuracy.json").write_text(json.dumps({"meta": meta, "rows": rows}))
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "ensemble_study.py"), str(tmp_path),
         "--no-tta"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    written = json.loads((tmp_path / "ensemble_study.json").read_text())["rows"]
    assert [r["model"] for r in written] == ["stable", "stable", "stable_seed_ensemble"]
    ensemble = written[-1]
    mean_val = np.mean([r["scores"]["val"] for r in rows], axis=0)
    mean_test = np.mean([r["scores"]["test"] for r in rows], axis=0)
    assert ensemble["members"] == [0, 1] and ensemble["seed"] is None
    assert ensemble["validation_auc"] == pytest.approx(roc_auc_score(y_val, mean_val))
    assert ensemble["default"]["auc"]["value"] == pytest.approx(roc_auc_score(y_test, mean_test))
    # The threshold comes from the validation scores alone.
    assert ensemble["screening_threshold"] == accuracy.select_threshold(
        y_val, mean_val, min_sensitivity=0.97)
    assert "seed ensemble of 2" in (tmp_path / "ensemble_study.md").read_text()
