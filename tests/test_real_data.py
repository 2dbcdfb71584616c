"""Slower tests on a few hundred real Kermany images (about a minute on 2 CPU cores)."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from skcxr import CXRClassifier, ImageLoader
from skcxr.datasets import load_chest_xray
from skcxr.model_selection import patient_split

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def _patient_subset(bunch, n_images, seed):
    """About n_images images of whole patients, drawn at random."""
    # Unstratified: the subset the AUC noted below was measured on.
    _, idx = patient_split(bunch.target, bunch.groups, test_size=n_images / len(bunch.data),
                           stratify=False, random_state=seed)
    return idx


def test_default_network_learns_real_xrays(data_home):
    train = load_chest_xray(data_home, subset="train")
    test = load_chest_xray(data_home, subset="test")
    fit_idx = _patient_subset(train, 400, seed=0)
    test_idx = np.random.default_rng(0).choice(len(test.data), 200, replace=False)
    loader = ImageLoader(size=128, n_jobs=2)
    X_train, X_test = loader.fit_transform(train.data[fit_idx]), loader.transform(test.data[test_idx])
    labels = train.target_names
    clf = CXRClassifier(max_epochs=8, validation_fraction=0.2, patience=4, random_state=0)
    clf.fit(X_train, labels[train.target[fit_idx]], groups=train.groups[fit_idx])
    assert list(clf.classes_) == ["NORMAL", "PNEUMONIA"]
    proba = clf.predict_proba(X_test)[:, 1]
    auc = roc_auc_score(test.target[test_idx], proba)
    # Chance is 0.5; 400 images and 8 CPU epochs gave 0.84 (seed 0, 2 CPU cores).
    assert auc > 0.75, auc
