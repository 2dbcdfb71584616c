"""Site adaptation: fit_screener and calibrate_screener, their guarantee, card and failures."""

import os
import signal

import numpy as np
import pytest
from conftest import make_blob_images
from PIL import Image

import skcxr
from skcxr import fit_screener, load_screener
from skcxr.exceptions import SmallSiteWarning
from skcxr.metrics import InsufficientPositivesError, guaranteed_threshold, sensitivity_lower_bound
from skcxr.site import calibrate_screener


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """160 blob films of 80 patients (two films each), written as 128 px PNGs."""
    folder = tmp_path_factory.mktemp("site")
    X, y, groups = make_blob_images(n=160, size=128, seed=11)
    files = []
    for i, image in enumerate(X[:, 0]):
        files.append(str(folder / f"{i:03d}.png"))
        Image.fromarray(image).save(files[-1])
    labels = np.array(["NORMAL", "PNEUMONIA"])[y]
    return np.array(files), labels, groups


# Blob sites are small: a target they support, and a guard that can be fitted on them.
SMALL = dict(min_sensitivity=0.8, confidence=0.9, max_false_rejection=0.1)
# Every site here is tiny: fit_screener's small-site warning is tested once, below.
pytestmark = pytest.mark.filterwarnings("ignore::skcxr.exceptions.SmallSiteWarning")


def test_fine_tuning_a_saved_screener_writes_the_site_card(site, tiny_screener, tmp_path):
    files, labels, groups = site
    screener = fit_screener(files, labels, groups, init=tiny_screener["folder"], epochs=2, cv=4,
                            name="site", source="blob site", command="test", **SMALL)
    card = screener.card
    assert card.recipe["start"] == "fine-tune" and card.recipe["init"] == "tiny"
    assert card.site["base"]["name"] == "tiny"
    assert card.site["base"]["sha256"] == load_screener(tiny_screener["folder"]).card.weights[
        "sha256"]
    held = card.data["held_out"]
    # Cross-fitted: every film scored by a network that did not see its patient.
    assert card.recipe["threshold_from"] == "4-fold cross-fitting by patient"
    assert held["patients"] == card.data["trained_on"]["patients"] == 80
    assert "out-of-fold scores of all 160 site films" in card.operating_point["rule"]
    # The threshold: the highest whose lower bound reaches the target on the held-out films.
    point = card.operating_point
    assert point["sensitivity_lower_bound"] >= 0.8 and point["confidence"] == 0.9
    assert point["sensitivity_lower_bound"] == pytest.approx(
        sensitivity_lower_bound(point["detected"], point["positives"], 0.9))
    # Before/after on the same held-out patients: the base at its own card threshold.
    before = card.site["before"]
    assert before["name"] == "tiny" and before["threshold"] == 0.4
    assert before["metrics"]["n_samples"] == held["films"]
    assert card.guard["refused_share_of_held_out_films"] <= 0.2
    folder = tmp_path / "site"
    screener.save(folder)
    again = load_screener(folder, on_refusal="score")
    assert again.card == screener.set_params().card.__class__.read(folder / "card.json")
    assert again.threshold == screener.threshold


def test_the_threshold_guarantee_refuses_too_few_positives():
    y = np.array([0] * 30 + [1] * 40)
    score = np.r_[np.linspace(0, 0.5, 30), np.linspace(0.4, 1, 40)]
    with pytest.raises(InsufficientPositivesError) as info:
        guaranteed_threshold(y, score, min_sensitivity=0.97, confidence=0.95)
    assert (info.value.n_positives, info.value.n_needed) == (40, 99)
    assert "needs at least 99" in str(info.value) and "supportable" in str(info.value)
    assert info.value.supportable == pytest.approx(0.05 ** (1 / 40))
    point = guaranteed_threshold(y, score, min_sensitivity=0.9, confidence=0.9)
    assert point["sensitivity_lower_bound"] >= 0.9
    # The highest such threshold: one step higher, the bound falls short.
    flagged = score[y == 1] >= point["threshold"]
    assert sensitivity_lower_bound(flagged.sum() - 1, 40, 0.9) < 0.9


@pytest.mark.parametrize("case, match", [
    ("one class", "hold 1 class"),
    ("few patients", "too few to hold some out"),
    ("few positives", "that needs at least 99"),
    ("unknown init", "neither a pretrained screener"),
    ("other size", "were trained on 64x64 images"),
    ("other labels", "not the base model's classes"),
])
def test_bad_sites_fail_before_training_with_the_reason(case, match, site, tiny_screener):
    files, labels, groups = site
    kwargs = dict(SMALL, init=tiny_screener["folder"], epochs=1)
    if case == "one class":
        labels = np.full(len(files), "NORMAL")
    elif case == "few patients":
        files, labels, groups = files[:12], labels[:12], groups[:12]
    elif case == "few positives":
        kwargs.update(min_sensitivity=0.97, confidence=0.95)
    elif case == "unknown init":
        kwargs["init"] = "resnet1000"
    elif case == "other size":
        kwargs["size"] = 96
    elif case == "other labels":
        labels = np.where(labels == "NORMAL", "healthy", "sick")
    with pytest.raises(ValueError, match=match):
        fit_screener(files, labels, groups, **kwargs)


def test_an_interrupted_fine_tune_makes_no_screener(site, tiny_screener, tmp_path, monkeypatch,
                                                   python_sigint):
    """Ctrl-C during training: skorch returns quietly, fit_screener must not go on to save."""
    files, labels, groups = site
    from skcxr.classifier import CXRClassifier

    real = CXRClassifier.train_step

    def interrupted_step(self, batch, **fit_params):
        os.kill(os.getpid(), signal.SIGINT)
        return real(self, batch, **fit_params)

    monkeypatch.setattr(CXRClassifier, "train_step", interrupted_step)
    with pytest.warns(UserWarning, match="fit was interrupted"):
        with pytest.raises(KeyboardInterrupt):
            fit_screener(files, labels, groups, init=tiny_screener["folder"], epochs=2, **SMALL)


def test_calibration_keeps_the_network_and_sets_threshold_and_guard(site, tiny_screener):
    files, labels, groups = site
    base = load_screener(tiny_screener["folder"])
    calibrated = calibrate_screener(tiny_screener["folder"], files, labels, groups, **SMALL)
    assert calibrated.classifier is not None and calibrated.card.recipe["start"] == "threshold only"
    np.testing.assert_array_equal(
        calibrated.set_params(on_refusal="score").predict_proba(list(files[:10])),
        base.set_params(on_refusal="score").predict_proba(list(files[:10])))
    assert calibrated.fitted_guard is not base.fitted_guard
    assert calibrated.card.operating_point["positives"] == int(np.sum(labels == "PNEUMONIA"))
    # Nothing was held out: the card must not say its numbers come from held-out patients.
    assert calibrated.card.site["in_sample"] and "nothing held out" in \
        calibrated.card.operating_point["rule"]
    assert "(in-sample: nothing was held out)" in calibrated.card.describe_site()
    assert "held-out" not in calibrated.card.describe_site()


def test_fit_screener_is_the_public_workflow():
    assert skcxr.fit_screener is fit_screener
    assert "calibrate_screener" in dir(skcxr)


def test_one_held_out_split_keeps_patients_apart(site, tiny_screener):
    files, labels, groups = site
    # A site this small is warned about: on the benchmark, 200 films or fewer ranked worse.
    with pytest.warns(SmallSiteWarning, match=f"Training on {len(files)} films.*skcxr calibrate"):
        screener = fit_screener(files, labels, groups, init=tiny_screener["folder"], epochs=1,
                                **SMALL)
    card = screener.card
    assert card.recipe["threshold_from"] == "one held-out split"
    assert card.data["trained_on"]["patients"] + card.data["held_out"]["patients"] == 80
    assert "held-out site patients" in card.operating_point["rule"]
    # The guard's threshold is set on the held-out patients' films, which the network never
    # trained on (as it never trained on the films it will screen).
    held_out = card.data["held_out"]["films"]
    assert screener.fitted_guard.n_calibration_ == held_out
    assert f"threshold set on the {held_out} films" in card.guard["fitted_on"]
