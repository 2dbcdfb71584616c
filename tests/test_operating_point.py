"""The scikit-learn route to a screening operating point, end to end."""

import numpy as np
import sklearn
from conftest import make_blob_images
from PIL import Image
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import (
    FixedThresholdClassifier,
    StratifiedGroupKFold,
    TunedThresholdClassifierCV,
)
from sklearn.pipeline import make_pipeline

from skcxr import CXRClassifier, ImageLoader
from skcxr.metrics import make_screening_scorer, select_threshold, sensitivity_score
from skcxr.model_selection import patient_split


def _write_images(folder, X):
    folder.mkdir(exist_ok=True)
    paths = []
    for i, image in enumerate(X[:, 0]):
        paths.append(str(folder / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    return np.array(paths)


def _classifier():
    return CXRClassifier("tiny", lr=0.05, max_epochs=10, batch_size=8, random_state=0,
                         validation_fraction=0.25, patience=3)


def test_tuned_threshold_on_patient_grouped_folds(tmp_path):
    X, y, groups = make_blob_images(n=48, size=64, seed=11)
    names = np.array(["NORMAL", "PNEUMONIA"])
    paths = _write_images(tmp_path / "fit", X)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(ImageLoader(size=64), _classifier().set_fit_request(groups=True))
        tuned = TunedThresholdClassifierCV(
            pipe, scoring=make_screening_scorer(0.95, pos_label="PNEUMONIA"),
            cv=StratifiedGroupKFold(n_splits=3), thresholds=50,
        ).fit(paths, names[y], groups=groups)
    assert 0 < tuned.best_threshold_ < 1
    assert tuned.best_score_ >= 0  # the sensitivity target was met on the folds
    X_new, y_new, _ = make_blob_images(n=24, size=64, seed=12)
    # New images in their own folder: the fitted pipeline never saw these files.
    predicted = tuned.predict(_write_images(tmp_path / "new", X_new))
    assert sensitivity_score(names[y_new], predicted, pos_label="PNEUMONIA") >= 0.9


def test_fixed_threshold_from_validation_scores():
    X, y, groups = make_blob_images(n=48, size=64, seed=13)
    fit, val = patient_split(y, groups, test_size=1 / 3, random_state=0)
    model = _classifier().fit(X[fit], y[fit], groups=groups[fit])
    threshold = select_threshold(y[val], model.predict_proba(X[val])[:, 1], min_sensitivity=1.0)
    # FrozenEstimator: apply the threshold to this fitted model, no refit.
    screen = FixedThresholdClassifier(FrozenEstimator(model), threshold=threshold).fit(X[val], y[val])
    assert screen.estimator_.estimator is model
    assert sensitivity_score(y[val], screen.predict(X[val])) == 1.0
    np.testing.assert_array_equal(
        screen.predict(X[val]), (model.predict_proba(X[val])[:, 1] >= threshold).astype(int))
