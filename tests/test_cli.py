"""The skcxr command line: screen, train, evaluate, info; CSV contents, order and exit statuses."""

import csv
import io
import os
import shutil
import subprocess
import sys
import tomllib

import joblib
import numpy as np
import pytest
from conftest import REPO_ROOT, make_blob_images, tiny_card, write_dicom_film, write_mixed_folder
from PIL import Image

from skcxr import load_screener
from skcxr.cli import main


def run(argv, capsys):
    """``skcxr argv`` in this process: (exit status, stdout, stderr)."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own usage errors and --help
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def no_pretrained(monkeypatch):
    monkeypatch.setattr("skcxr.cli._models.pretrained_registry", lambda: None)


# ---------------------------------------------------------------- help
@pytest.mark.parametrize("command", [[], ["screen"], ["train"], ["calibrate"], ["evaluate"],
                                     ["info"]])
def test_every_help_is_complete_with_an_example(command, capsys):
    status, out, _ = run([*command, "--help"], capsys)
    assert status == 0
    assert "examples:" in out and "skcxr " in out.split("examples:")[1]
    if command == ["screen"]:
        for text in ("path, score", "flagged", "unsuitable", "error", "PatientID",
                     "StudyInstanceUID", "AccessionNumber", "exit status:", "hidden",
                     "--threshold", "--report", "--jobs", "--batch-size"):
            assert text in out, text
    if command == ["train"]:
        for option in ("--out", "--init", "--preset", "--size", "--epochs", "--sensitivity",
                       "--confidence"):
            assert option in out


def test_python_dash_m_and_the_console_script():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-m", "skcxr", "--help"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("usage: skcxr ")
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"skcxr": "skcxr.cli:main"}


# -------------------------------------------------------------- screen
def test_screen_writes_one_row_per_file_in_worklist_order(tiny_screener, tmp_path, capsys):
    films = tmp_path / "films"
    shutil.copytree(tiny_screener["films"], films)
    expected = write_mixed_folder(films / "odd", tiny_screener["paths"][1])
    for name in (".DS_Store", "._00.png", "Thumbs.db"):
        (films / "NORMAL" / name).write_bytes(b"\0\5\7")
    status, out, err = run(["screen", films, "--model", tiny_screener["folder"],
                            "--out", tmp_path / "w.csv"], capsys)
    assert status == 0 and out == ""
    rows = read_csv(tmp_path / "w.csv")
    assert list(rows[0]) == ["path", "score", "flagged", "status", "reason", "reason_code"]
    n_files = 40 + len(expected)
    assert len(rows) == n_files and len({r["path"] for r in rows}) == n_files
    # The order: flagged by descending score, then unsuitable/error, then the rest.
    groups = [0 if r["flagged"] == "true" else 1 if r["status"] != "screened" else 2
              for r in rows]
    assert groups == sorted(groups) and set(groups) == {0, 1, 2}
    for group in (0, 2):
        scores = [float(r["score"]) for r, g in zip(rows, groups) if g == group]
        assert scores == sorted(scores, reverse=True)
    for r in rows:
        if r["status"] == "screened":
            assert r["flagged"] == ("true" if float(r["score"]) >= 0.4 else "false")
            assert r["reason"] == ""
        else:
            assert r["score"] == r["flagged"] == "" and r["reason"]
    errors = sum(status == "error" for status, _ in expected.values())
    # The summary line and the note that this model has no guard (no progress bar: no terminal).
    assert err.count("\n") == 2 and "has no input guard" in err
    assert (f"{n_files} files: {n_files - errors} screened, " in err
            and f"0 unsuitable, {errors} error; 3 skipped (hidden/system)" in err)
    flagged = sum(r["flagged"] == "true" for r in rows)
    assert f"{flagged} flagged at threshold 0.4," in err


def test_four_kinds_of_file_get_four_rows(tiny_screener, tmp_path, capsys):
    """A truncated JPEG, a text file named .jpeg, a DICOM and a PNG: four rows, right statuses."""
    folder = tmp_path / "in"
    folder.mkdir()
    png = tiny_screener["paths"][1]
    shutil.copy(png, folder / "film.png")
    jpeg = io.BytesIO()
    Image.open(png).save(jpeg, format="JPEG")
    (folder / "cut.jpeg").write_bytes(jpeg.getvalue()[:300])
    (folder / "readme.jpeg").write_text("not a film")
    write_dicom_film(folder / "1.2.840.99", png, PatientID="P1", StudyInstanceUID="1.2.3",
                     AccessionNumber="ACC1")
    status, out, _ = run(["screen", folder, "--model", tiny_screener["folder"]], capsys)
    assert status == 0
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in csv.DictReader(io.StringIO(out))}
    assert {name: (r["status"], r["reason"]) for name, r in rows.items()} == {
        "film.png": ("screened", ""),
        "1.2.840.99": ("screened", ""),
        "cut.jpeg": ("error", "truncated JPEG"),
        "readme.jpeg": ("error", "not an image (text file named .jpeg)"),
    }
    dicom = rows["1.2.840.99"]
    assert (dicom["PatientID"], dicom["StudyInstanceUID"], dicom["AccessionNumber"]) == (
        "P1", "1.2.3", "ACC1")
    assert rows["film.png"]["PatientID"] == ""


@pytest.mark.parametrize("case", ["missing path", "missing model", "bad model file",
                                  "no pretrained", "bad threshold", "out folder missing",
                                  "bad batch size"])
def test_usage_errors_exit_2(case, tiny_screener, tmp_path, capsys, no_pretrained):
    films, model = tiny_screener["films"], tiny_screener["folder"]
    (tmp_path / "junk.joblib").write_text("not a pickle")
    argv = {
        "missing path": [films, tmp_path / "nope", "--model", model],
        "missing model": [films, "--model", "no-such-model"],
        "bad model file": [films, "--model", tmp_path / "junk.joblib"],
        "no pretrained": [films],
        "bad threshold": [films, "--model", model, "--threshold", "1.5"],
        "out folder missing": [films, "--model", model, "--out", tmp_path / "x" / "w.csv"],
        "bad batch size": [films, "--model", model, "--batch-size", "0"],
    }[case]
    status, out, err = run(["screen", *argv], capsys)
    assert status == 2 and out == ""
    message = {"missing path": "nope", "missing model": "neither a pretrained screener",
               "bad model file": "is not a joblib file: it holds a text file",
               "no pretrained": "--model DIR",
               "bad threshold": "between 0 and 1", "out folder missing": "does not exist",
               "bad batch size": "--batch-size"}[case]
    assert message in err


def test_nothing_to_read_exits_1_but_still_writes_every_row(tiny_screener, tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / ".hidden").mkdir(parents=True)
    status, _, err = run(["screen", empty, "--model", tiny_screener["folder"],
                          "--out", tmp_path / "e.csv"], capsys)
    assert status == 1 and "no file found" in err and "1 skipped" in err
    assert read_csv(tmp_path / "e.csv") == []
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_text("text")
    (bad / "b.jpeg").write_bytes(b"\xff\xd8\xff\xe0garbage")
    status, _, err = run(["screen", bad, "--model", tiny_screener["folder"],
                          "--out", tmp_path / "b.csv"], capsys)
    assert status == 1 and "no file could be read" in err
    assert [r["status"] for r in read_csv(tmp_path / "b.csv")] == ["error", "error"]


def test_plain_pipeline_uses_half_with_a_note_and_threshold_overrides(tiny_screener, tmp_path,
                                                                     capsys):
    status, out, err = run(["screen", tiny_screener["films"], "--model",
                            tiny_screener["pipeline_file"]], capsys)
    assert status == 0
    assert "flagged at threshold 0.5 (default: the model has no screening threshold)" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert all(r["flagged"] == str(float(r["score"]) >= 0.5).lower() for r in rows)
    status, out, err = run(["screen", tiny_screener["films"], "--model", tiny_screener["folder"],
                            "--threshold", "0.0", "--labels-from-folders"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert status == 0 and all(r["flagged"] == "true" for r in rows)
    assert "at threshold 0," in err and "40 flagged" in err
    assert [r["true_label"] for r in rows].count("PNEUMONIA") == 20


# ------------------------------------------------------------ evaluate
def test_evaluate_prints_the_report_with_patient_level_intervals(tiny_screener, tmp_path,
                                                                 capsys):
    status, out, err = run(["evaluate", tiny_screener["films"], "--model", tiny_screener["folder"],
                            "--bootstraps", "50", "--out", tmp_path / "w.csv"], capsys)
    assert status == 0
    assert "== operating threshold ==" in out and "threshold 0.4" in out
    assert "== threshold 0.5, for comparison ==" in out
    assert "50 bootstrap resamples of 40 patients" in out and "Sensitivity" in out
    assert "each other file counts as its own patient" in out
    assert len(read_csv(tmp_path / "w.csv")) == 40 and "skcxr evaluate: 40 files" in err
    status, _, err = run(["evaluate", tmp_path, "--model", tiny_screener["folder"]], capsys)
    assert status == 2 and "missing: NORMAL, PNEUMONIA" in err


# --------------------------------------------------------------- train
def write_site(folder, n=48, seed=3, kermany_names=True):
    """A folder of blob films with one sub-folder per class; two films per patient."""
    X, y, _ = make_blob_images(n=n, size=128, seed=seed)
    for i, (image, label) in enumerate(zip(X[:, 0], y)):
        name = "PNEUMONIA" if label else "NORMAL"
        (folder / name).mkdir(parents=True, exist_ok=True)
        patient, film = divmod(i // 2, 2)
        stem = ((f"person{patient}_bacteria_{film}" if label else f"IM-{patient:04d}-000{film}")
                if kermany_names else f"film{i}")
        Image.fromarray(image).save(folder / name / f"{stem}.jpeg", quality=95)
    return folder


# The blob sites are tiny: a guarantee they can support, and a guard that fits on them.
SMALL_SITE = ["--sensitivity", "0.5", "--confidence", "0.5", "--guard-false-rejection", "0.25"]


def test_train_holds_out_patients_and_writes_a_screener_folder(tmp_path, capsys, no_pretrained):
    data = write_site(tmp_path / "data")
    (data / "NORMAL" / ".DS_Store").write_bytes(b"\0")
    out = tmp_path / "site_screener"
    status, _, err = run(["train", data, "--preset", "compact", "--size", "64", "--epochs", "2",
                          *SMALL_SITE, "--out", out], capsys)
    assert status == 0, err
    assert "48 films in 2 classes: NORMAL 24, PNEUMONIA 24; 24 patients" in err
    assert sorted(p.name for p in out.iterdir()) == ["card.json", "guard.npz", "weights.pt"]
    screener = load_screener(out)
    assert screener.pos_label == "PNEUMONIA" and screener.fitted_guard.max_false_rejection == 0.25
    assert screener.fitted_guard.classifier.estimator is screener.classifier
    card = screener.card
    assert card.data["trained_on"]["films"] + card.data["held_out"]["films"] == 48
    assert card.data["trained_on"]["patients"] + card.data["held_out"]["patients"] == 24
    assert "Clopper-Pearson" in card.operating_point["rule"]
    assert card.operating_point["sensitivity_lower_bound"] >= 0.5
    assert card.threshold == screener.threshold
    assert card.training["command"].startswith("skcxr train ")
    assert card.data["counts"] == {"NORMAL": 24, "PNEUMONIA": 24}
    # Trained from scratch: "before" is the shipped screener at its own threshold, same patients.
    before = card.site["before"]
    assert before["name"] == "resnet18-kermany-128" and card.site["base"] is None
    assert before["metrics"]["n_samples"] == card.data["held_out"]["films"]
    status, csv_text, _ = run(["screen", data, "--model", out], capsys)
    assert status == 0 and len(list(csv.DictReader(io.StringIO(csv_text)))) == 48
    status, text, _ = run(["info", out], capsys)
    assert status == 0 and "operating point:" in text and "Clopper-Pearson" in text


def test_train_says_when_the_guard_needs_more_films(tmp_path, capsys, no_pretrained):
    data = write_site(tmp_path / "data")
    status, _, err = run(["train", data, "--preset", "compact", "--size", "64", "--epochs", "1",
                          "--sensitivity", "0.5", "--confidence", "0.5",
                          "--guard-false-rejection", "0.02", "--out", tmp_path / "m"], capsys)
    assert status == 1 and "input guard cannot be fitted" in err and "--no-guard" in err
    assert not (tmp_path / "m").exists() and not list(tmp_path.glob(".partial*"))


def test_train_says_how_many_pneumonia_films_the_guarantee_needs(tmp_path, capsys, no_pretrained):
    data = write_site(tmp_path / "data")
    status, _, err = run(["train", data, "--size", "64", "--out", tmp_path / "m"], capsys)
    assert status == 1
    assert "cannot show sensitivity >= 0.97 with 95% confidence: that needs at least 99" in err
    assert "the highest target supportable at 95% confidence is" in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("case, message", [
    ("one class", "needs exactly two class folders"),
    ("joblib out", "not a pickle"),
    ("dash out", "written as a folder, not to standard output"),
    ("unknown init", "--init 'resnet1000' is neither a pretrained screener"),
    ("small size", "--size must be at least 32"),
    ("existing out", "exists and is not a screener folder"),
])
def test_train_usage_errors(case, message, tmp_path, capsys):
    data = write_site(tmp_path / "data", n=8)
    if case == "one class":
        shutil.rmtree(data / "PNEUMONIA")
    (tmp_path / "taken").mkdir()
    out = {"joblib out": tmp_path / "m.joblib", "existing out": tmp_path / "taken",
           "dash out": "-"}.get(case, tmp_path / "m")
    extra = {"unknown init": ["--init", "resnet1000"], "small size": ["--size", "16"]}.get(case, [])
    status, _, err = run(["train", data, "--out", out, *extra], capsys)
    assert status == 2 and message in err, err


def test_train_init_must_match_the_base_input_size(tmp_path, capsys):
    data = write_site(tmp_path / "data")
    status, _, err = run(["train", data, "--init", "resnet18-kermany-128", "--size", "64",
                          *SMALL_SITE, "--out", tmp_path / "m"], capsys)
    assert status == 1 and "were trained on 128x128 images" in err


def test_an_interrupted_train_leaves_no_folder_that_looks_complete(tmp_path, capsys,
                                                                  monkeypatch, no_pretrained):
    data = write_site(tmp_path / "data")
    import skcxr.screener._folder as folder_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(folder_module, "_card_for", interrupted)  # mid-save, weights written
    status, _, err = run(["train", data, "--preset", "compact", "--size", "64", "--epochs", "1",
                          *SMALL_SITE, "--out", tmp_path / "m"], capsys)
    assert status == 130 and "interrupted" in err
    assert not (tmp_path / "m").exists() and not list(tmp_path.glob(".partial*"))


def test_calibrate_sets_threshold_and_guard_without_training(tiny_screener, tmp_path, capsys):
    data = write_site(tmp_path / "data", n=60, seed=4)
    out = tmp_path / "calibrated"
    status, _, err = run(["calibrate", data, "--model", tiny_screener["folder"], *SMALL_SITE,
                          "--out", out], capsys)
    assert status == 0, err
    calibrated, base = load_screener(out), load_screener(tiny_screener["folder"])
    files = sorted(str(p) for p in data.glob("*/*.jpeg"))
    # The same network: identical scores; the threshold and guard are the site's.
    np.testing.assert_array_equal(
        calibrated.set_params(on_refusal="score").predict_proba(files),
        base.set_params(on_refusal="score").predict_proba(files))
    card = calibrated.card
    assert card.recipe["start"] == "threshold only" and card.site["base"]["name"] == "tiny"
    assert "Clopper-Pearson" in card.operating_point["rule"]
    status, _, err = run(["calibrate", data, "--model", tiny_screener["file"], "--out",
                          tmp_path / "x"], capsys)
    assert status == 2 and "calibrate takes a pretrained name or a screener folder" in err


# ---------------------------------------------------------------- info
class FakeRegistry:
    """Stands in for skcxr.pretrained: one pretrained screener, the tiny one."""

    def __init__(self, screener):
        self.screener = screener

    def list_pretrained(self):
        return ["tiny-pretrained"]

    def unreadable_entries(self):
        return []

    def get_card(self, name):
        return tiny_card(0.4, name=name, title="tiny, pretrained",
                         validation={"auc": 0.99, "patients": 12})

    def verify_files(self, name):
        return [("weights.pt", None)]

    def load_pretrained(self, name, **kwargs):
        assert name == "tiny-pretrained"
        return self.screener


def test_the_first_pretrained_screener_is_the_default(tiny_screener, monkeypatch, capsys):
    monkeypatch.setattr("skcxr.cli._models.pretrained_registry",
                        lambda: FakeRegistry(tiny_screener["screener"]))
    status, out, err = run(["screen", tiny_screener["films"]], capsys)
    assert status == 0 and len(list(csv.DictReader(io.StringIO(out)))) == 40
    assert "flagged at threshold 0.4," in err
    status, out, _ = run(["info"], capsys)
    assert status == 0 and "tiny-pretrained  tiny, pretrained" in out
    status, out, _ = run(["info", "tiny-pretrained"], capsys)
    assert status == 0 and "threshold: 0.4" in out and "  auc: 0.99" in out


def test_a_file_named_like_a_pretrained_screener_is_never_loaded(tiny_screener, monkeypatch,
                                                                 capsys, tmp_path):
    """Audit: with no --model, screen unpickled ./resnet18-kermany-128 and ran its code."""
    monkeypatch.setattr("skcxr.cli._models.pretrained_registry",
                        lambda: FakeRegistry(tiny_screener["screener"]))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-pretrained").write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("a pickle was loaded")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(joblib, "load", refuse)
    for argv in (["screen", tiny_screener["films"]],
                 ["screen", tiny_screener["films"], "--model", "tiny-pretrained"],
                 ["info", "tiny-pretrained"]):
        status, _, err = run(argv, capsys)
        assert status == 0, err


def test_a_joblib_model_warns_that_it_runs_code(tiny_screener, capsys):
    status, _, err = run(["screen", tiny_screener["films"], "--model", tiny_screener["file"],
                          "--out", os.devnull], capsys)
    assert status == 0
    assert "is a joblib file: loading it runs code from the file" in err


def test_screen_and_info_with_a_shipped_weight_set(tiny_screener, tmp_path, monkeypatch,
                                                   capsys):
    """The real registry (skcxr.pretrained), with a tiny screener folder written into it."""
    from skcxr.pretrained import _registry

    monkeypatch.setattr(_registry, "WEIGHTS_DIR", tmp_path)
    shutil.copytree(tiny_screener["folder"], tmp_path / "tiny")
    status, out, err = run(["screen", tiny_screener["films"], "--report", tmp_path / "r.html"],
                           capsys)
    assert status == 0 and "flagged at threshold 0.4," in err
    rows = list(csv.DictReader(io.StringIO(out)))
    expected = tiny_screener["screener"].predict_proba([r["path"] for r in rows])[:, 1]
    np.testing.assert_allclose([float(r["score"]) for r in rows], expected, atol=2e-3)  # fp16
    html = (tmp_path / "r.html").read_text()
    assert "tiny" in html and "chosen by hand" in html and "For tests only." in html
    status, out, _ = run(["info"], capsys)
    assert status == 0 and "tiny  a tiny test model" in out
    status, out, _ = run(["info", "tiny"], capsys)
    assert status == 0 and "operating point:" in out and "  rule: chosen by hand" in out
    assert "network" not in out and "rank" not in out  # internal fields stay in card.json
    (tmp_path / "stray.json").write_text("{}")
    status, out, _ = run(["info"], capsys)
    assert status == 0 and "(ignored: stray.json:" in out


def test_info_lists_pretrained_or_says_there_are_none(capsys, no_pretrained, tiny_screener):
    status, out, _ = run(["info"], capsys)
    assert status == 0 and "No pretrained screener ships with this installation" in out
    status, out, _ = run(["info", tiny_screener["folder"]], capsys)
    assert status == 0 and out.splitlines()[1].startswith("=====")
    assert "title: a tiny test model" in out and "intended use: For tests only." in out
    status, _, err = run(["info", "nothing-by-this-name"], capsys)
    assert status == 2 and "neither a pretrained screener" in err


def test_info_names_the_threshold_each_backend_screens_at(capsys):
    """The default screen runs the int8 file at its own threshold: info must say so."""
    from skcxr.pretrained import get_card, list_pretrained

    name = list_pretrained()[0]
    int8 = get_card(name).backends["onnxruntime-int8"]
    status, out, _ = run(["info", name], capsys)
    assert status == 0
    assert f"onnxruntime-int8 (file {int8['file']}): threshold {int8['threshold']:.4f}" in out
    assert "the threshold\n  above is PyTorch's" in out
