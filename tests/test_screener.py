"""Screener: a fitted classifier over files, its threshold and its guard, as one estimator."""

import joblib
import numpy as np
import pytest
from conftest import make_blob_images
from PIL import Image
from sklearn.pipeline import make_pipeline

from skcxr import CXRClassifier, ImageLoader, Screener
from skcxr.screener import split_loader


@pytest.fixture(scope="module")
def files_and_pipeline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("films")
    X, y, _ = make_blob_images(n=40, size=64, seed=5)
    paths = []
    for i, image in enumerate(X[:, 0]):
        paths.append(str(folder / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    labels = np.array(["NORMAL", "PNEUMONIA"])[y]
    pipe = make_pipeline(ImageLoader(size=64), CXRClassifier(
        "tiny", lr=0.05, max_epochs=10, batch_size=8, validation_fraction=None, random_state=0))
    return np.array(paths), labels, pipe.fit(paths, labels)


def test_prefit_screener_flags_at_its_threshold(files_and_pipeline, tmp_path):
    paths, labels, pipe = files_and_pipeline
    screen = Screener(pipe, threshold=0.2, pos_label="PNEUMONIA", card={"name": "test"})
    proba = pipe.predict_proba(paths)
    np.testing.assert_array_equal(screen.predict_proba(paths), proba)
    expected = np.where(proba[:, 1] >= 0.2, "PNEUMONIA", "NORMAL")
    np.testing.assert_array_equal(screen.predict(paths), expected)
    assert screen.decision_threshold == 0.2 and list(screen.classes_) == ["NORMAL", "PNEUMONIA"]
    joblib.dump(screen, tmp_path / "screen.joblib")
    again = joblib.load(tmp_path / "screen.joblib")
    np.testing.assert_array_equal(again.predict(paths), expected)
    assert again.card == {"name": "test"}


def test_split_loader_and_no_guard(files_and_pipeline):
    paths, _, pipe = files_and_pipeline
    loader, classifier = split_loader(pipe)
    assert isinstance(loader, ImageLoader) and isinstance(classifier, CXRClassifier)
    assert split_loader(classifier) == (None, classifier)
    with pytest.raises(ValueError, match="no input guard"):
        Screener(pipe).refusals(paths)


def test_pickles_record_the_skcxr_version(files_and_pipeline, monkeypatch):
    import pickle
    import warnings

    import skcxr
    from skcxr.classifier import RandomAugment
    from skcxr.exceptions import InconsistentVersionWarning

    _, _, pipe = files_and_pipeline
    for obj in (Screener(pipe, threshold=0.3), pipe[0], pipe[-1], RandomAugment()):
        data = pickle.dumps(obj)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            pickle.loads(data)  # the same version: silent
        monkeypatch.setattr(skcxr, "__version__", "9.9.9")
        with pytest.warns(InconsistentVersionWarning, match="pickled with skcxr .* under skcxr 9.9.9"):
            pickle.loads(data)
        monkeypatch.undo()
