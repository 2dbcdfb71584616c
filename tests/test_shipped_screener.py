"""The screener that ships: its weights, golden scores, card numbers and guard.

The golden scores (tests/golden/shipped_scores.json, written by
benchmarks/golden_scores.py) pin what the shipped weights give on six fixed
test films; the card test re-scores the whole Kermany test split and must
reproduce the numbers on the card.
"""

import json
import shutil
import subprocess
import sys
import warnings

import joblib
import numpy as np
import pytest
import torch
from conftest import REPO_ROOT
from PIL import Image
from sklearn.metrics import confusion_matrix, roc_auc_score

import skcxr
from skcxr.datasets import load_chest_xray
from skcxr.pretrained import get_card
from skcxr.pretrained._registry import pretrained_folder

GOLDEN = json.loads((REPO_ROOT / "tests" / "golden" / "shipped_scores.json").read_text())
SHIPPED = skcxr.list_pretrained()
MAX_WEIGHT_BYTES = 50_000_000


def test_something_ships_and_the_weights_are_small_half_precision():
    assert SHIPPED, "no pretrained screener in skcxr/pretrained/weights"
    total = 0
    for name in SHIPPED:
        path = pretrained_folder(name) / get_card(name).weights["file"]
        total += sum(f.stat().st_size for f in pretrained_folder(name).iterdir())
        tensors = torch.load(path, weights_only=True)["network"]
        floats = {t.dtype for t in tensors.values() if t.is_floating_point()}
        assert floats == {torch.float16}, f"{name}: {floats}"
    assert total <= MAX_WEIGHT_BYTES, f"{total / 1e6:.1f} MB of weights in the tree"


def test_golden_scores_are_for_the_shipped_weights():
    assert set(GOLDEN) == set(SHIPPED)
    for name in SHIPPED:
        assert GOLDEN[name]["sha256"] == get_card(name).weights["sha256"], (
            f"{name}: tests/golden/shipped_scores.json was written for other weights; "
            "run python benchmarks/golden_scores.py")


@pytest.mark.realdata
@pytest.mark.parametrize("name", SHIPPED)
def test_golden_scores(name, data_home, tmp_path):
    test_dir = data_home / "chest_xray" / "test"
    films = GOLDEN[name]["pneumonia_scores"]
    paths = [str(test_dir / f) for f in films]
    screener = skcxr.load_pretrained(name, device="cpu", backend="torch")
    proba = screener.predict_proba(paths)
    np.testing.assert_allclose(proba[:, 1], list(films.values()), atol=1e-4, rtol=0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    # predict flags exactly at the card's threshold.
    threshold = get_card(name).threshold
    expected = np.where(proba[:, 1] >= threshold, "PNEUMONIA", "NORMAL")
    assert list(screener.predict(paths)) == list(expected)
    # The loaded screener round-trips through joblib with the same scores.
    joblib.dump(screener, tmp_path / "screener.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "screener.joblib").predict_proba(paths),
                                  proba)


@pytest.mark.realdata
@pytest.mark.parametrize("name", SHIPPED)
def test_card_test_numbers_are_reproduced(name, data_home):
    card = get_card(name)
    test = load_chest_xray(subset="test", data_home=data_home)
    y = test.target_names[test.target]
    screener = skcxr.load_pretrained(name, device="cpu", backend="torch")
    # The card's numbers score every film, the few the guard refuses too.
    score = screener.set_params(on_refusal="score").predict_proba(test.data)[:, 1]
    at_default, at_threshold = card.test["at_default"], card.test["at_threshold"]
    assert roc_auc_score(y == "PNEUMONIA", score) == pytest.approx(at_default["auc"]["value"],
                                                                   abs=1e-3)
    for report, threshold in ((at_default, 0.5),
                              (at_threshold, card.threshold)):
        tn, fp, fn, tp = confusion_matrix(y == "PNEUMONIA", score >= threshold).ravel()
        # A film exactly at a threshold could flip within fp16 noise: allow one.
        counts = report["counts"]
        assert abs(tp - counts["tp"]) + abs(fp - counts["fp"]) <= 1, (threshold, tp, fp, counts)
        assert abs(fn - counts["fn"]) + abs(tn - counts["tn"]) <= 1, (threshold, fn, tn, counts)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_guard_refuses_what_is_not_a_film(name, tmp_path):
    screener = skcxr.load_pretrained(name, device="cpu")
    assert screener.fitted_guard is not None, f"{name} ships without an input guard"
    Image.new("L", (300, 300), 128).save(tmp_path / "blank.png")
    colour = np.zeros((300, 300, 3), np.uint8)
    colour[..., 0] = 220
    Image.fromarray(colour).save(tmp_path / "red.png")
    refusals = screener.refusals([str(tmp_path / "blank.png"), str(tmp_path / "red.png")])
    assert [r.code for r in refusals] == ["blank", "colour"], refusals


@pytest.mark.slow  # scores the test split three times: about 40 s on 2 busy cores
@pytest.mark.realdata
@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_backend_keeps_the_ranking_and_the_flags(name, data_home, tmp_path,
                                                               monkeypatch):
    """Each backend: test AUC within 0.002 of PyTorch, at most 1% of flags moved at its own threshold.

    The test labels only check: every backend's threshold was chosen on the
    card's validation patients.
    """
    monkeypatch.setenv("SKCXR_CACHE", str(tmp_path))  # the fp32 export, built on first use
    card = get_card(name)
    test = load_chest_xray(subset="test", data_home=data_home)
    positive = test.target_names[test.target] == "PNEUMONIA"
    torch_screener = skcxr.load_pretrained(name, device="cpu", backend="torch",
                                           on_refusal="score")
    reference = torch_screener.predict_proba(test.data)[:, 1]
    reference_flags = reference >= torch_screener.decision_threshold
    assert set(card.backends) >= {"onnxruntime-int8", "onnxruntime"}
    for backend in ("onnxruntime-int8", "onnxruntime"):
        screener = skcxr.load_pretrained(name, device="cpu", backend=backend, on_refusal="score")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Exporting ... once"
            assert screener.backend_in_use == backend
        assert screener.decision_threshold == card.backends[backend]["threshold"]
        score = screener.predict_proba(test.data)[:, 1]
        assert abs(roc_auc_score(positive, score) - roc_auc_score(positive, reference)) <= 0.002
        moved = np.mean((score >= screener.decision_threshold) != reference_flags)
        assert moved <= 0.01, (backend, moved)
        assert roc_auc_score(positive, score) == pytest.approx(card.backends[backend]["test_auc"],
                                                               abs=1e-4)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_default_backend_is_the_shipped_int8_file(name):
    screener = skcxr.load_pretrained(name, device="cpu")
    assert screener.backend_in_use == "onnxruntime-int8"
    folder = skcxr.pretrained._registry.pretrained_folder(name)
    assert (folder / get_card(name).backends["onnxruntime-int8"]["file"]).stat().st_size < 15e6


@pytest.mark.parametrize("name", SHIPPED)
def test_screening_on_the_int8_file_imports_no_torch(name, tmp_path):
    # torch and torchvision are about 2.5 s of a one-film screen's start on 2 cores: the
    # int8 backend reads the guard from guard.npz and never builds the PyTorch network.
    film = tmp_path / "film.png"
    Image.fromarray(np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (256, 1))).save(film)
    code = (
        "import sys\n"
        "from skcxr.cli import main\n"
        f"code = main(['screen', {str(film)!r}, '--model', {name!r}, '--out', "
        f"{str(tmp_path / 'w.csv')!r}])\n"
        "assert not code, code\n"
        "import skcxr\n"
        f"skcxr.load_pretrained({name!r}).check_and_score([{str(film)!r}])\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'skorch') if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "w.csv").read_text().count("\n") == 2  # the header and the film's row


@pytest.mark.parametrize("name", SHIPPED)
def test_on_its_int8_file_the_network_is_read_only_when_something_needs_it(name, tmp_path):
    folder = tmp_path / name
    shutil.copytree(pretrained_folder(name), folder)
    screener = skcxr.load_screener(folder, device="cpu")
    saved = screener.classifier
    assert isinstance(saved, skcxr.screener.SavedClassifier) and "_built" not in saved.__dict__
    assert screener.backend_in_use == "onnxruntime-int8" and list(screener.classes_) == [
        "NORMAL", "PNEUMONIA"]
    assert "_built" not in saved.__dict__
    # The network, once asked for, is the one in weights.pt.
    tensors = torch.load(folder / "weights.pt", weights_only=True)["network"]
    for key, value in saved.module_.state_dict().items():
        assert torch.equal(value, tensors[key].float()), key
    assert "_built" in saved.__dict__ and not saved.module_.training
    # A screener that will run on PyTorch reads it on loading, so a damaged file is found then.
    assert "_built" in skcxr.load_screener(folder, backend="torch").classifier.__dict__
