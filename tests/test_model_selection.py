import numpy as np
import pytest
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

from skcxr.classifier._split import holdout_indices
from skcxr.model_selection import patient_split


def _patients(n_patients=60, seed=0):
    """1-4 images per patient, one label per patient, about 70% positive."""
    rng = np.random.default_rng(seed)
    per_patient = rng.integers(1, 5, n_patients)
    groups = np.repeat(np.arange(n_patients), per_patient)
    y = np.repeat((rng.random(n_patients) < 0.7).astype(int), per_patient)
    return y, groups


@pytest.mark.parametrize("stratify", [True, False])
@pytest.mark.parametrize("test_size", [0.1, 0.2, 0.25, 0.5, 0.7])
def test_every_patient_on_one_side(stratify, test_size):
    y, groups = _patients()
    train, test = patient_split(y, groups, test_size=test_size, stratify=stratify,
                                random_state=0)
    assert not set(groups[train]) & set(groups[test])
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(y)))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    # About the asked share: within a few patients' images.
    assert abs(len(test) / len(y) - test_size) < 0.12


def test_stratified_split_balances_classes_and_repeats():
    y, groups = _patients(200, seed=1)
    train, test = patient_split(y, groups, test_size=0.2, random_state=3)
    assert abs(y[test].mean() - y[train].mean()) < 0.05
    again = patient_split(y, groups, test_size=0.2, random_state=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, test), again))
    other = patient_split(y, groups, test_size=0.2, random_state=4)
    assert not np.array_equal(test, other[1])


def test_same_splits_as_the_scikit_learn_idioms_it_replaces():
    y, groups = _patients(100, seed=2)
    expected = next(GroupShuffleSplit(n_splits=1, test_size=0.1, random_state=0)
                    .split(y, y, groups))
    got = patient_split(y, groups, test_size=0.1, stratify=False, random_state=0)
    assert all(np.array_equal(a, b) for a, b in zip(expected, got))
    # The classifier's early-stopping split is this helper, stratified.
    expected = next(StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=7)
                    .split(y, y, groups))
    for got in (patient_split(y, groups, test_size=0.2, random_state=7),
                holdout_indices(y, groups, 0.2, 7)):
        assert all(np.array_equal(a, b) for a, b in zip(expected, got))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"groups": None}, "needs groups"),
        ({"groups": np.arange(5)}, r"groups has shape \(5,\) but y has \(20,\)"),
        ({"test_size": 20}, "'test_size' parameter of patient_split must be a float in the "
                            r"range \(0.0, 1.0\). Got 20 instead"),
        ({"test_size": 0}, "'test_size' parameter of patient_split must be"),
        ({"test_size": 1.0}, "'test_size' parameter of patient_split must be"),
        ({"test_size": True}, "'test_size' parameter of patient_split must be"),
        ({"groups": np.zeros(20)}, "needs at least 5 patients"),
        ({"groups": np.zeros(20), "stratify": False}, "at least 2 patients; got 1"),
    ],
)
def test_bad_arguments(kwargs, message):
    y = np.arange(20) % 2
    kwargs = {"groups": np.arange(20) // 2, "test_size": 0.2, **kwargs}
    with pytest.raises(ValueError, match=message):
        patient_split(y, **kwargs)
