"""Searches on a Dask cluster and on loky workers equal the sequential search.

The real-data tests run a 2x2 grid over patient-grouped folds of about 80
Kermany images at 64 px with the tiny network, three times (sequential,
Dask, loky): about a minute on 2 CPU cores, most of it starting workers.

torch's CPU results depend on its number of intra-op threads (a different
summation order changes the last bit of the logits), so every fit here runs
on one torch thread: the sequential baseline by ``torch.set_num_threads(1)``,
loky workers by ``inner_max_num_threads=1``, Dask worker processes by the
nanny's default ``OMP_NUM_THREADS=1``. With that, scores are equal exactly.
"""

import os
import uuid
from pathlib import Path
from unittest import mock

import joblib
import numpy as np
import pytest
import sklearn
import torch
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    GroupShuffleSplit,
    TunedThresholdClassifierCV,
    cross_validate,
)
from sklearn.pipeline import Pipeline

from skcxr import CXRClassifier, ImageLoader
from skcxr.datasets import load_chest_xray
from skcxr.preprocessing._threads import cpu_budget

distributed = pytest.importorskip("distributed")

GRID = {"clf__lr": [0.01, 0.05], "clf__augmentation": [0.0, 1.0]}
SCORE_KEYS = ["split0_test_score", "split1_test_score", "mean_test_score",
              "std_test_score", "rank_test_score"]


@pytest.fixture(scope="module")
def dask_client():
    # processes=True: each worker is its own process, as on a cluster, so
    # everything a task needs must pickle. Random ports (':0' for HTTP too).
    # The nanny passes this process's OMP_NUM_THREADS (default 1) to the
    # workers and leaves it set here; patch.dict pins it to 1 for the
    # workers and puts the environment back afterwards.
    with (
        mock.patch.dict(os.environ, {"OMP_NUM_THREADS": "1"}),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


@pytest.fixture(scope="module")
def subset(data_home):
    """About 80 training images of whole patients (84 images, 44 patients)."""
    train = load_chest_xray(data_home, subset="train")
    fraction = 80 / len(train.data)
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=0)
    _, idx = next(splitter.split(train.data, train.target, train.groups))
    return train.data[idx], train.target_names[train.target[idx]], train.groups[idx]


class CountingLoader(ImageLoader):
    """An ImageLoader that leaves a file per call in ``log_dir``, from any process."""

    def __init__(self, size=64, *, n_jobs=-1, log_dir=None):
        super().__init__(size, n_jobs=n_jobs)
        self.log_dir = log_dir

    def fit_transform(self, X, y=None):
        self._log("fit_transform")
        return ImageLoader.transform(self.fit(X, y), X)

    def transform(self, X):
        self._log("transform")
        return super().transform(X)

    def _log(self, method):
        if self.log_dir is not None:
            Path(self.log_dir, f"{method}-{os.getpid()}-{uuid.uuid4().hex}").touch()


def calls(log_dir, method):
    """Process ids of the logged calls of ``method``."""
    return [int(p.name.split("-")[1]) for p in Path(log_dir).glob(f"{method}-*")]


def pipeline(memory=None, log_dir=None):
    clf = CXRClassifier("tiny", max_epochs=3, batch_size=16, validation_fraction=0.25,
                        random_state=0).set_fit_request(groups=True)
    return Pipeline([("load", CountingLoader(log_dir=log_dir)), ("clf", clf)], memory=memory)


def grid_search(**pipeline_params):
    return GridSearchCV(pipeline(**pipeline_params), GRID, cv=GroupKFold(2),
                        scoring="roc_auc", refit=False)


def assert_same_scores(search, reference):
    assert search.cv_results_["params"] == reference.cv_results_["params"]
    for key in SCORE_KEYS:
        np.testing.assert_array_equal(search.cv_results_[key], reference.cv_results_[key],
                                      err_msg=key)


@pytest.fixture(scope="module")
def sequential(subset):
    """The reference: the same search with n_jobs=1, one torch thread."""
    X, y, groups = subset
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with sklearn.config_context(enable_metadata_routing=True):
            search = grid_search().fit(X, y, groups=groups)
    finally:
        torch.set_num_threads(before)
    return search


# --------------------------------------------------- decoding threads in workers
def _decoding_budget():
    return cpu_budget(), os.getpid()


def test_dask_worker_process_decodes_on_its_one_thread(dask_client):
    with joblib.parallel_config(backend="dask"):
        out = Parallel()(delayed(_decoding_budget)() for _ in range(4))
    assert {budget for budget, _ in out} == {1}
    assert os.getpid() not in {pid for _, pid in out}


def test_dask_worker_threads_share_the_process_budget():
    # A thread-only cluster: two task slots in this very process.
    expected = max(1, cpu_budget() // 2)
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                 dashboard_address=":0") as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        budgets = client.gather(client.map(lambda _: cpu_budget(), range(4)))
    assert budgets == [expected] * 4


def test_loky_worker_decodes_on_its_share():
    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        out = Parallel(n_jobs=2)(delayed(_decoding_budget)() for _ in range(4))
    assert {budget for budget, _ in out} == {1}
    assert os.getpid() not in {pid for _, pid in out}


# ------------------------------------------------------------------ real data
@pytest.mark.realdata
def test_dask_grid_search_equals_sequential_and_shares_the_cache(
    dask_client, subset, sequential, routing, tmp_path
):
    X, y, groups = subset
    cache, log = tmp_path / "cache", tmp_path / "log"
    log.mkdir()
    with joblib.parallel_config(backend="dask"):
        first = grid_search(memory=str(cache), log_dir=str(log)).fit(X, y, groups=groups)
    assert_same_scores(first, sequential)
    # Every call ran in the workers; two folds, so at least two decodes of
    # a training fold, and at most one per fit (when workers race).
    assert os.getpid() not in calls(log, "fit_transform") + calls(log, "transform")
    assert 2 <= len(calls(log, "fit_transform")) <= 8

    for f in log.iterdir():
        f.unlink()
    with joblib.parallel_config(backend="dask"):
        second = grid_search(memory=str(cache), log_dir=str(log)).fit(X, y, groups=groups)
    assert_same_scores(second, sequential)
    # Both training folds came out of the shared cache; only the test folds
    # (which Pipeline never caches) were decoded, once per fit.
    assert calls(log, "fit_transform") == []
    assert len(calls(log, "transform")) == 8


@pytest.mark.realdata
def test_loky_grid_search_equals_sequential(subset, sequential, routing):
    X, y, groups = subset
    with joblib.parallel_config(backend="loky", inner_max_num_threads=1):
        search = grid_search().set_params(n_jobs=2).fit(X, y, groups=groups)
    assert_same_scores(search, sequential)


@pytest.mark.realdata
def test_dask_cross_validate_of_tuned_threshold_equals_sequential(
    dask_client, subset, routing, one_torch_thread
):
    # Two levels of joblib: cross_validate's folds, and inside each task the
    # threshold tuner's own folds, which Dask runs as tasks submitted from
    # the worker.
    X, y, groups = subset
    tuned = TunedThresholdClassifierCV(pipeline(), scoring="balanced_accuracy",
                                       cv=GroupKFold(2), thresholds=20)

    def run():
        return cross_validate(tuned, X, y, params={"groups": groups}, cv=GroupKFold(2),
                              scoring="roc_auc", return_estimator=True)

    reference = run()
    with joblib.parallel_config(backend="dask"):
        distributed_run = run()
    np.testing.assert_array_equal(distributed_run["test_score"], reference["test_score"])
    thresholds = [[e.best_threshold_ for e in r["estimator"]] for r in (distributed_run, reference)]
    assert thresholds[0] == thresholds[1]


def _fit_routed(estimator, X, y, groups):
    # A task sent with client.submit does not carry scikit-learn's config.
    with sklearn.config_context(enable_metadata_routing=True):
        return estimator.fit(X, y, groups=groups)


@pytest.mark.realdata
def test_refit_on_a_worker_as_the_docs_show(dask_client, subset, routing, one_torch_thread):
    X, y, groups = subset
    best = pipeline().set_params(clf__lr=0.05)
    local = _fit_routed(clone(best), X, y, groups)
    remote = dask_client.submit(_fit_routed, clone(best), X, y, groups).result()
    assert remote.named_steps["clf"].history_[-1, "epoch"] == 3
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))
