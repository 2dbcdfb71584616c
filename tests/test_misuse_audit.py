"""Harms found by the second bad-input and misuse audit: one test per harm, named after it."""

import argparse
import datetime
import hashlib
import json
import os
import pickle
import re
import shlex
import shutil
import stat
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from conftest import tiny_card
from PIL import Image

import skcxr
from skcxr.cli import main
from skcxr.preprocessing import ImageLoader
from skcxr.screener import ModelCard, ScreenerFolderError, load_screener


def run(argv, capsys):
    """``skcxr argv`` in this process: (exit status, stdout, stderr)."""
    status = main([a if isinstance(a, str) else os.fspath(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def no_screening(monkeypatch):
    """Fails the test if a single file is screened (the check must come first)."""

    def screen_files(*args, **kwargs):
        raise AssertionError("files were screened before the outputs were checked")

    monkeypatch.setattr("skcxr.cli._screen.screen_files", screen_files)


def copy_folder(tiny_screener, tmp_path):
    """A copy of the tiny screener's folder, and the sha256 of each of its files."""
    folder = tmp_path / "site"
    shutil.copytree(tiny_screener["folder"], folder)
    return folder, {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def rewrite_weights(folder, change):
    """Apply ``change`` to the folder's tensors and record their new sha256 on its card."""
    path = folder / "weights.pt"
    tensors = torch.load(path, weights_only=True)
    change(tensors)
    torch.save(tensors, path)
    card = json.loads((folder / "card.json").read_text())
    card["weights"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "card.json").write_text(json.dumps(card))


# ------------------------- an output over the model's own files destroyed it
@pytest.mark.parametrize("option, target", [("--out", "card.json"),
                                            ("--summary-json", "weights.pt"),
                                            ("--report", "card.json")])
def test_an_output_over_the_models_own_file_is_refused_and_the_model_kept(
        option, target, tiny_screener, tmp_path, capsys, no_screening):
    folder, before = copy_folder(tiny_screener, tmp_path)
    status, _, err = run(["screen", tiny_screener["films"], "--model", folder,
                          option, folder / target], capsys)
    assert status == 2
    assert f"error: {option} {str(folder / target)!r} is the file" in err
    assert "of the model" in err and "would destroy the model" in err
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.iterdir()} == before
    load_screener(folder)  # still a screener


def test_a_worklist_over_the_joblib_model_file_is_refused(tiny_screener, tmp_path, capsys,
                                                          no_screening):
    model = tmp_path / "screener.joblib"
    shutil.copy(tiny_screener["file"], model)
    before = model.read_bytes()
    status, _, err = run(["evaluate", tiny_screener["films"], "--model", model,
                          "--out", model], capsys)
    assert status == 2
    assert "would destroy the model" in err
    assert model.read_bytes() == before


# ------------------- an empty option ("$OUT" unset) was the current folder
@pytest.mark.parametrize("option", ["--out", "--report", "--summary-json", "--model"])
def test_an_empty_output_or_model_option_is_a_usage_error_before_screening(
        option, tiny_screener, tmp_path, capsys, no_screening):
    argv = ["screen", tiny_screener["films"], option, ""]
    if option != "--model":
        argv += ["--model", tiny_screener["folder"]]
    status, out, err = run(argv, capsys)
    assert status == 2 and out == ""
    assert f"error: {option} is empty" in err


def test_negative_bootstraps_stop_evaluate_before_screening(tiny_screener, capsys, no_screening):
    status, _, err = run(["evaluate", tiny_screener["films"], "--model", tiny_screener["folder"],
                          "--bootstraps", "-1"], capsys)
    assert status == 2
    assert "error: --bootstraps must be 0 or more; got -1." in err


# ---------------- Ctrl-C while torch was importing: a traceback and status 1
def test_ctrl_c_while_the_command_imports_is_an_interruption_with_status_130(monkeypatch,
                                                                             capsys):
    def importing(command):
        raise KeyboardInterrupt  # as a Ctrl-C lands in the seconds torch takes to import

    monkeypatch.setattr("skcxr.cli._main._command", importing)
    status, _, err = run(["screen", "anything"], capsys)
    assert status == 130
    assert err.strip() == "skcxr screen: interrupted."


# ------------------- NaN weights: every film "screened" and silently not flagged
def test_a_screener_folder_with_nan_weights_is_refused_when_loaded(tiny_screener, tmp_path):
    folder, _ = copy_folder(tiny_screener, tmp_path)

    def poison(tensors):
        name = next(k for k, v in tensors["network"].items() if v.is_floating_point())
        tensors["network"][name] = tensors["network"][name] * float("nan")

    rewrite_weights(folder, poison)
    with pytest.raises(ScreenerFolderError, match="holds NaN or infinite values in 1 tensor"):
        load_screener(folder)


# ------------- `skcxr info` said "matches" for damaged tensors behind an edited sha256
def _nan_tensor(tensors):
    name = next(k for k, v in tensors["network"].items() if v.is_floating_point())
    tensors["network"][name] = tensors["network"][name] * float("nan")


def _reshaped_tensor(tensors):
    name = next(k for k, v in tensors["network"].items() if v.ndim > 1)
    tensors["network"][name] = tensors["network"][name].reshape(-1)


def _pickled_object(tensors):
    tensors["network"]["extra"] = argparse.Namespace(a=1)  # a class weights_only refuses


@pytest.mark.parametrize("change, reason", [
    (_nan_tensor, "NaN or infinite values"),
    (_reshaped_tensor, "size mismatch|shape"),
    (_pickled_object, "Namespace|not allowed|Unsupported|weights_only"),
])
def test_info_check_weights_names_damaged_tensors_behind_an_edited_sha256(
        change, reason, tiny_screener, tmp_path, capsys):
    folder, _ = copy_folder(tiny_screener, tmp_path)
    rewrite_weights(folder, change)
    status, out, _ = run(["info", folder], capsys)
    assert status == 0 and "--check-weights also loads the weights' tensors" in out
    status, out, err = run(["info", folder, "--check-weights"], capsys)
    assert status == 2 and "weights.pt (its tensors): DAMAGED" in out
    assert re.search(reason, err), err


def test_info_check_weights_loads_a_sound_folder(tiny_screener, capsys):
    status, out, _ = run(["info", tiny_screener["folder"], "--check-weights"], capsys)
    assert status == 0 and "weights.pt (its tensors): loads" in out


@pytest.mark.parametrize("key", ["score_median", "threshold"])
def test_a_guard_with_nan_in_its_state_is_refused_when_loaded(tmp_path, key):
    """A NaN limit compares False everywhere: the guard would have refused nothing."""
    from skcxr.pretrained import _registry

    folder = tmp_path / "shipped"
    shutil.copytree(_registry.pretrained_folder(skcxr.list_pretrained()[0]), folder)
    _rewrite_guard(folder, lambda state: state.update({key: state[key] * np.nan}))
    with pytest.raises(ScreenerFolderError, match=f"guard.npz'.*NaN or infinite values in {key}"):
        load_screener(folder)


@pytest.mark.parametrize("on_refusal", ["raise", "score"])
def test_a_network_giving_nan_scores_is_an_error_not_unflagged_films(on_refusal, tiny_screener):
    screener = joblib.load(tiny_screener["file"])
    screener.set_params(on_refusal=on_refusal)
    with torch.no_grad():
        for parameter in screener.classifier.module_.parameters():
            parameter.fill_(float("nan"))
    with pytest.raises(ValueError, match="NaN or infinite scores for 2 of 2 films"):
        screener.predict(tiny_screener["paths"][:2])


# ---------- a pickle in weights.pt: the error quoted torch's "weights_only=False"
def test_pickled_objects_in_the_weights_are_named_without_advice_to_unpickle(tiny_screener,
                                                                            tmp_path):
    folder, _ = copy_folder(tiny_screener, tmp_path)
    rewrite_weights(folder, lambda tensors: tensors.update(made=datetime.date(2026, 1, 1)))
    with pytest.raises(ScreenerFolderError) as error:
        load_screener(folder)
    message = str(error.value)
    assert "holds pickled Python objects" in message and "datetime.date" in message
    assert "would run code from the file" in message
    assert "weights_only" not in message


@pytest.mark.parametrize("name", ["..", ".", "", "../weights.pt", "/tmp/weights.pt"])
def test_a_card_naming_a_path_as_its_weights_file_is_invalid(name):
    with pytest.raises(ValueError, match="weights.file must be a file name beside the card"):
        tiny_card(weights={"file": name, "sha256": "0" * 64})


def test_a_plain_weights_file_name_is_still_valid():
    card = tiny_card(weights={"file": "weights.pt", "sha256": "0" * 64})
    assert isinstance(card, ModelCard)


# ------------------- a saved screener folder could be read by its owner only
def test_a_saved_screener_folder_has_the_mode_a_plain_folder_gets(tiny_screener, tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    skcxr.load_screener(tiny_screener["folder"]).save(tmp_path / "copy")
    assert stat.S_IMODE(os.stat(tmp_path / "copy").st_mode) == 0o777 & ~mask


# ------------- one path instead of a list: each character read as a file name
@pytest.mark.parametrize("method", ["predict", "predict_proba", "refusals"])
def test_one_path_instead_of_a_list_is_an_error_saying_to_wrap_it(method, tiny_screener):
    screener = skcxr.load_pretrained(skcxr.list_pretrained()[0], backend="torch")
    with pytest.raises(ValueError, match=r"got a single str .*Wrap it in a list: \[path\]"):
        getattr(screener, method)(tiny_screener["paths"][0])


# --------------- a loader size above max_pixels: the bomb limit, by upscaling
def test_a_loader_size_above_max_pixels_is_refused_before_any_film_is_read(tmp_path):
    with pytest.raises(ValueError, match="20000x20000 = 400000000 pixels per film, more than "
                                         "max_pixels=89478485"):
        ImageLoader(size=20000).transform([np.zeros((300, 300), np.uint8)])
    assert ImageLoader(size=64, max_pixels=None).transform(
        [np.zeros((300, 300), np.uint8)]).shape == (1, 1, 64, 64)


def test_a_card_nested_too_deep_for_json_is_an_unreadable_card(tmp_path, capsys):
    folder = tmp_path / "deep"
    folder.mkdir()
    (folder / "card.json").write_text("[" * 200_000)
    assert main(["info", str(folder)]) == 2
    assert "Cannot read the model card" in capsys.readouterr().err


def test_a_screen_with_stdout_closed_and_no_out_is_a_usage_error(tmp_path):
    """``skcxr screen FILM >&-``: the worklist had nowhere to go and a traceback said so."""
    import subprocess
    import sys

    film = tmp_path / "film.png"
    film.write_bytes(b"not read: the options are checked first")
    child = subprocess.run(f"{sys.executable} -m skcxr screen {film} >&-", shell=True,
                           capture_output=False, stderr=subprocess.PIPE, text=True, timeout=120)
    assert child.returncode == 2
    assert "Standard output is closed" in child.stderr and "Traceback" not in child.stderr


@pytest.mark.realdata
def test_an_image_given_in_memory_gets_the_checks_a_file_gets(data_home):
    """A tinted film or a thumbnail as an array or PIL image was scored; as a file, refused."""
    from PIL import Image

    from skcxr.datasets import load_chest_xray

    path = load_chest_xray(subset="test", data_home=data_home).data[0]
    grey = np.asarray(Image.open(path).convert("L"))
    tinted = np.stack([grey, (grey * 0.7).astype(np.uint8), (grey * 0.4).astype(np.uint8)], -1)
    screener = skcxr.load_pretrained(skcxr.list_pretrained()[0], device="cpu")
    refusals = screener.refusals([grey, tinted, Image.fromarray(tinted), grey[:8, :8]])
    assert [r and r.code for r in refusals] == [None, "colour", "colour", "too_small"]
    with pytest.raises(skcxr.exceptions.RefusedFilmError, match="too small to be a film"):
        screener.predict_proba([grey, grey[:8, :8]])
    np.testing.assert_array_equal(screener.predict_proba([grey]),
                                  screener.predict_proba([Image.fromarray(grey)]))


# ---------- a damaged weights folder: each message names the file and what is wrong
def _replace_weights(folder, data):
    """Put ``data`` in place of weights.pt and record its sha256, as a careless edit would."""
    path = folder / "weights.pt"
    path.write_bytes(data)
    card = json.loads((folder / "card.json").read_text())
    card["weights"]["sha256"] = hashlib.sha256(data).hexdigest()
    (folder / "card.json").write_text(json.dumps(card))


@pytest.mark.parametrize("data, says", [
    (bytes(range(256)) * 20, "not a file torch.save or numpy.savez writes: no zip archive"),
    (b"", "it is empty (0 bytes)"),
])
def test_unreadable_weights_with_a_matching_sha_say_what_they_are(tiny_screener, tmp_path, data,
                                                                  says):
    """Audit: random bytes were called "pickled objects"; an empty file "EOFError"."""
    folder, _ = copy_folder(tiny_screener, tmp_path)
    _replace_weights(folder, data)
    with pytest.raises(ScreenerFolderError, match="weights.pt") as error:
        load_screener(folder)
    assert says in str(error.value) and "pickled" not in str(error.value)


def test_weights_that_are_a_folder_are_not_called_missing(tiny_screener, tmp_path):
    folder, _ = copy_folder(tiny_screener, tmp_path)
    (folder / "weights.pt").unlink()
    (folder / "weights.pt").mkdir()
    with pytest.raises(ScreenerFolderError, match="weights.pt' is a folder, not a file"):
        load_screener(folder)


def test_weights_of_another_architecture_are_summed_up_in_one_line(tiny_screener, tmp_path):
    """Audit: torch's many-line list of keys was cut off mid-list."""
    folder, _ = copy_folder(tiny_screener, tmp_path)

    def other_architecture(tensors):
        name = sorted(tensors["network"])[0]
        tensors["network"]["network.extra.weight"] = tensors["network"].pop(name)

    rewrite_weights(folder, other_architecture)
    with pytest.raises(ScreenerFolderError) as error:
        load_screener(folder)
    message = str(error.value)
    assert "weights.pt" in message and "\n" not in message
    assert "1 tensor(s) missing" in message and "1 unexpected (network.extra.weight)" in message


def test_info_checks_every_file_against_the_card(tmp_path, capsys):
    """Audit: `skcxr info DIR` printed a damaged folder's card as if it were whole."""
    from skcxr.pretrained import _registry

    folder = tmp_path / "shipped"
    shutil.copytree(_registry.pretrained_folder(skcxr.list_pretrained()[0]), folder)
    status, out, err = run(["info", str(folder)], capsys)
    assert status == 0 and "  weights.pt: matches" in out and "  guard.npz: matches" in out
    with open(folder / "network.int8.onnx", "ab") as f:
        f.write(b"\0")
    status, out, err = run(["info", str(folder)], capsys)
    assert status != 0 and "  network.int8.onnx: DAMAGED" in out
    assert "network.int8.onnx' has sha256" in err and "the screener folder is damaged" in err


def write_code_running_pickle(path, marker):
    """A pickle whose loading makes the folder ``marker``: proof that its code ran."""
    import pickle

    class MakesMarker:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    path.write_bytes(pickle.dumps(MakesMarker()))


# ------------ a file that looks like a pretrained name or "default" was unpickled
@pytest.mark.parametrize("command", ["screen", "info"])
@pytest.mark.parametrize("name", ["RESNET18-KERMANY-128", "default"])
def test_a_file_named_like_a_pretrained_screener_is_ambiguous_and_never_unpickled(
        command, name, tiny_screener, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_code_running_pickle(tmp_path / name, tmp_path / "code_ran")
    argv = ["screen", tiny_screener["paths"][0], "--model", name] if command == "screen" else [
        "info", name]
    status, _, err = run(argv, capsys)
    assert status == 2
    assert f"{name!r} is ambiguous" in err and f"./{name} to mean that path" in err
    assert not (tmp_path / "code_ran").exists()


def test_a_pretrained_name_in_another_case_that_is_no_file_says_names_are_case_sensitive(
        tiny_screener, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, _, err = run(["screen", tiny_screener["paths"][0], "--model",
                          "RESNET18-KERMANY-128"], capsys)
    assert status == 2
    assert "did you mean 'resnet18-kermany-128'?" in err


# ---------------- an ONNX or JSON file given as --model was unpickled as joblib
@pytest.mark.parametrize("part, says", [
    ("network.int8.onnx", "an ONNX file is a backend of a screener folder, not a screener"),
    ("card.json", "give the folder that holds card.json")])
def test_a_screener_folders_onnx_or_json_file_as_model_names_the_folder_without_unpickling(
        part, says, tiny_screener, tmp_path, monkeypatch, capsys):
    folder, _ = copy_folder(tiny_screener, tmp_path)
    if part.endswith(".onnx"):
        (folder / part).write_bytes(b"\x08\x07\x12\x07pytorch")  # an ONNX file's first fields

    def no_unpickling(*args, **kwargs):
        raise AssertionError("a model part was unpickled")

    monkeypatch.setattr(joblib, "load", no_unpickling)
    status, _, err = run(["screen", tiny_screener["paths"][0], "--model", folder / part], capsys)
    assert status == 2
    assert says in err and f"(--model {str(folder)!r})" in err
    assert "runs code" not in err


def test_a_json_file_without_its_suffix_is_not_unpickled(tiny_screener, tmp_path, capsys):
    model = tmp_path / "model"
    model.write_text('{"name": "tiny"}')
    status, _, err = run(["info", model], capsys)
    assert status == 2 and "is a JSON file, not a model" in err


# ----------- a rerun read its own worklist, inside the input folder, as a film
def test_a_rerun_skips_and_counts_its_own_earlier_outputs_inside_the_input_folder(
        tiny_screener, tmp_path, capsys):
    folder = tmp_path / "films"
    shutil.copytree(tiny_screener["films"], folder)
    argv = ["screen", folder, "--model", tiny_screener["folder"], "--out", folder / "w.csv",
            "--summary-json", folder / "s.json"]
    assert run(argv, capsys)[0] == 0
    first = (folder / "w.csv").read_text()
    status, _, err = run(argv, capsys)
    assert status == 0
    assert (folder / "w.csv").read_text() == first  # the same rows: no row for the old outputs
    assert f"{folder / 'w.csv'} skipped (this run's --out, left by an earlier run)" in err
    summary = json.loads((folder / "s.json").read_text())
    assert summary["counts"]["skipped"] == 2
    assert summary["skipped_earlier_outputs"] == [str(folder / "s.json"), str(folder / "w.csv")]


def test_a_film_at_the_output_path_inside_the_input_folder_is_still_refused(
        tiny_screener, tmp_path, capsys, no_screening):
    folder = tmp_path / "films"
    shutil.copytree(tiny_screener["films"], folder)
    film = folder / "NORMAL" / "00.png"
    status, _, err = run(["screen", folder, "--model", tiny_screener["folder"], "--out", film],
                         capsys)
    assert status == 2 and "writing it would destroy the input" in err


# --------------- calibrate --overwrite over the model's own folder destroyed it
@pytest.mark.parametrize("kind", ["folder", "pretrained"])
def test_calibrate_out_over_the_model_being_calibrated_is_a_usage_error_before_any_work(
        kind, tiny_screener, tmp_path, capsys, monkeypatch):
    folder, before = copy_folder(tiny_screener, tmp_path)
    model = folder
    if kind == "pretrained":  # the shipped folder itself, named by its pretrained name
        model = skcxr.list_pretrained()[0]
        folder = skcxr.pretrained.pretrained_folder(model)
        before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}

    def no_work(*args, **kwargs):
        raise AssertionError("the model was calibrated before --out was checked")

    monkeypatch.setattr("skcxr.site.calibrate_screener", no_work)
    status, _, err = run(["calibrate", tiny_screener["films"], "--model", model, "--out",
                          folder, "--overwrite"], capsys)
    assert status == 2
    assert f"--out {str(folder)!r} is the model being calibrated" in err
    assert "choose another folder" in err
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.iterdir()} == before


# ------- pipes in a training folder were counted as films, then stopped it one per run
@pytest.mark.parametrize("command", ["train", "calibrate"])
def test_every_non_regular_entry_of_a_training_folder_is_named_in_one_error_before_any_work(
        command, tiny_screener, tmp_path, capsys, monkeypatch):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    data = tmp_path / "site"
    shutil.copytree(tiny_screener["films"], data)
    os.mkfifo(data / "NORMAL" / "pipe.png")
    os.mkfifo(data / "PNEUMONIA" / "pipe2")
    (data / "PNEUMONIA" / "gone.png").symlink_to(tmp_path / "nowhere.png")

    def no_work(*args, **kwargs):
        raise AssertionError("the run started before the folder was checked")

    monkeypatch.setattr("skcxr.fit_screener", no_work)
    monkeypatch.setattr("skcxr.site.calibrate_screener", no_work)
    model = ["--init"] if command == "train" else ["--model"]
    status, _, err = run([command, data, *model, tiny_screener["folder"], "--out",
                          tmp_path / "out"], capsys)
    assert status == 2
    assert "3 entries in the class folders" in err
    for name, reason in [("NORMAL/pipe.png", "a named pipe (FIFO), never opened"),
                         ("PNEUMONIA/pipe2", "a named pipe (FIFO), never opened"),
                         ("PNEUMONIA/gone.png", "broken symbolic link")]:
        assert f"{data / name} (" in err and reason in err
    assert not (tmp_path / "out").exists()


# ------------- a worklist to a full standard output said only "[Errno 28]"
def test_a_worklist_to_a_full_standard_output_says_so_and_where_its_rows_went(
        tiny_screener, tmp_path):
    import subprocess
    import sys

    from conftest import REPO_ROOT

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TMPDIR": str(tmp_path)}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "skcxr", "screen", *tiny_screener["paths"][:3], "--model",
             tiny_screener["folder"], "--out", "-"], stdout=full, stderr=subprocess.PIPE,
            text=True, env=env, timeout=300)
    assert done.returncode == 1
    assert "Writing the worklist to standard output failed (ENOSPC: No space left on device)" \
        in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("error:") == 1
    rescued = list(tmp_path.glob("skcxr-worklist-*.csv"))
    assert len(rescued) == 1 and f"rows were saved to {str(rescued[0])!r}" in done.stderr
    assert len(rescued[0].read_text().splitlines()) == 4  # the header and one row per film


# ------------- `skcxr evaluate > /dev/full` said only "[Errno 28] No space left on device"
def test_an_evaluation_report_to_a_full_standard_output_says_so_and_what_was_written(
        tiny_screener, tmp_path):
    import subprocess
    import sys

    from conftest import REPO_ROOT

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    summary = tmp_path / "summary.json"
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "skcxr", "evaluate", str(tiny_screener["films"]), "--model",
             tiny_screener["folder"], "--bootstraps", "50", "--summary-json", str(summary)],
            stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=300)
    assert done.returncode == 1
    assert ("Printing the evaluation report to standard output failed (ENOSPC: No space left "
            f"on device); written before it: --summary-json {summary}.") in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("error:") == 1
    assert summary.is_file()


# ------------- opset_version=1 gave a library traceback; the sidecar lacked the opset
@pytest.mark.parametrize("opset", [1, 17, 99, 18.0, True, "18"])
def test_an_unsupported_onnx_opset_is_a_value_error_naming_the_range_before_any_work(
        opset, tiny_screener, tmp_path, monkeypatch):
    from skcxr.backends import _export

    def no_work(*args, **kwargs):
        raise AssertionError("the export started before opset_version was checked")

    monkeypatch.setattr(_export, "find_classifier", no_work)
    with pytest.raises(ValueError, match=r"opset_version must be None \(the exporter's default\) "
                                         r"or an integer from 18 to \d+; got "):
        skcxr.export(tiny_screener["screener"], tmp_path / "net.onnx", format="onnx",
                     opset_version=opset)
    with pytest.raises(ValueError, match="opset_version applies to format='onnx' only"):
        skcxr.export(tiny_screener["screener"], tmp_path / "net.pt", opset_version=18)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("opset", [None, 18])
def test_the_export_sidecar_records_the_onnx_opset_written(opset, tiny_screener, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnx

    path = tmp_path / "net.onnx"
    metadata = skcxr.export(tiny_screener["screener"], path, format="onnx", opset_version=opset)
    written = next(o.version for o in onnx.load(str(path)).opset_import if o.domain == "")
    assert metadata["opset_version"] == written and (opset is None or written == opset)
    assert json.loads((tmp_path / "net.onnx.json").read_text())["opset_version"] == written


def _rewrite_guard(folder, change):
    """Apply ``change`` to the folder's guard.npz arrays and record its new sha256 on the card."""
    path = folder / "guard.npz"
    with np.load(path) as arrays:
        state = dict(arrays)
    change(state)
    with open(path, "wb") as f:
        np.savez(f, **state)
    card = json.loads((folder / "card.json").read_text())
    card["guard"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "card.json").write_text(json.dumps(card))


@pytest.mark.parametrize("change, says", [
    (lambda state: state.pop("features.mean"), "lacks features.mean"),
    (lambda state: state.update({"features.mean": np.zeros(10)}),
     r"features.mean has shape \(10,\), not \(512,\)"),
])
def test_a_guard_state_missing_or_misshapen_is_named_on_loading(tmp_path, change, says):
    """Audit: a missing key said only 'features.mean'; a wrong shape failed mid-screen with
    numpy's broadcasting error and no file named."""
    from skcxr.pretrained import _registry

    folder = tmp_path / "shipped"
    shutil.copytree(_registry.pretrained_folder(skcxr.list_pretrained()[0]), folder)
    _rewrite_guard(folder, change)
    with pytest.raises(ScreenerFolderError, match=f"guard.npz'.*{says}"):
        load_screener(folder)


def test_a_card_whose_loader_size_is_not_a_size_names_the_card(tiny_screener, tmp_path):
    """Audit: loader.size "big" failed in ImageLoader's parameter check, the card not named."""
    folder, _ = copy_folder(tiny_screener, tmp_path)
    card = json.loads((folder / "card.json").read_text())
    card["loader"]["size"] = "big"
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ScreenerFolderError, match="card.json.*loader.size must be a positive int"):
        load_screener(folder)


# ============ third audit (issue 19): weak messages and behaviours made precise

@pytest.fixture
def no_unpickling(monkeypatch):
    """Fails the test if anything is unpickled (the refusal must come first)."""
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("a file was unpickled")

    monkeypatch.setattr(joblib, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)


# ---- 1j: a screener folder's weights.pt / guard.npz were unpickled as joblib files
@pytest.mark.parametrize("part", ["weights.pt", "guard.npz"])
def test_a_screener_folders_weights_or_guard_as_model_names_the_folder_without_unpickling(
        part, tiny_screener, tmp_path, capsys, no_unpickling):
    folder, _ = copy_folder(tiny_screener, tmp_path)
    if not (folder / part).exists():  # the tiny screener has no guard: any file there counts
        (folder / part).write_bytes(b"PK\x03\x04 a zip archive")
    status, _, err = run(["screen", tiny_screener["paths"][0], "--model", folder / part], capsys)
    assert status == 2
    assert (f"is a file of the screener folder {str(folder)!r}: give the folder "
            f"(--model {str(folder)!r})") in err
    assert "runs code" not in err


@pytest.mark.parametrize("save", ["torch", "numpy"])
def test_a_torch_or_numpy_archive_as_model_is_refused_without_unpickling(
        save, tmp_path, capsys, no_unpickling, tiny_screener):
    path = tmp_path / "archive"
    if save == "torch":
        torch.save({"w": torch.zeros(2)}, path)
    else:
        with open(path, "wb") as file:
            np.savez(file, w=np.zeros(2))
    status, _, err = run(["screen", tiny_screener["paths"][0], "--model", path], capsys)
    assert status == 2 and "is a zip archive (torch.save and numpy.savez" in err and "not a model" in err
    assert "runs code" not in err


# ---- 1k: 'Resnet18-Kermany-128 ' (a trailing space) slipped past the ambiguity check
@pytest.mark.parametrize("name", ["Resnet18-Kermany-128 ", " resnet18-kermany-128",
                                  "resnet18-kermany-128\u200b",  # a zero-width space
                                  "DEFAULT\t"])
def test_a_pickle_named_like_a_pretrained_name_with_spaces_around_it_is_never_unpickled(
        name, tiny_screener, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_code_running_pickle(tmp_path / name, tmp_path / "code_ran")
    status, _, err = run(["screen", tiny_screener["paths"][0], "--model", name], capsys)
    assert status == 2
    assert f"{name!r} is ambiguous" in err and "Nothing was loaded" in err
    assert f"--model {shlex.quote('./' + name)} to mean that path" in err
    assert not (tmp_path / "code_ran").exists()


def test_a_pretrained_name_with_a_space_that_is_no_file_says_names_are_exact(
        tiny_screener, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, _, err = run(["screen", tiny_screener["paths"][0], "--model",
                          "resnet18-kermany-128 "], capsys)
    assert status == 2 and "Names are matched exactly" in err
    assert "did you mean 'resnet18-kermany-128'?" in err


# ---- 1m: info's messages spoke of --model and "leave the option out", which info has not
def test_info_messages_name_its_positional_argument_not_an_option(tiny_screener, tmp_path,
                                                                  monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(["info", tiny_screener["file"]], capsys)
    assert status == 0 and f"NAME {tiny_screener['file']!r} is a joblib file" in err
    write_code_running_pickle(tmp_path / "default", tmp_path / "code_ran")
    status, _, err = run(["info", "default"], capsys)
    assert status == 2 and "NAME 'default' is ambiguous" in err
    assert "write ./default to mean that path" in err
    assert "--model" not in err and "the option" not in err
    status, _, err = run(["screen", tiny_screener["paths"][0], "--model", "default"], capsys)
    assert status == 2 and "(leave --model out for that)" in err
    assert not (tmp_path / "code_ran").exists()


# ---- 1n: an empty or cut-off joblib file said only "EOFError"
@pytest.mark.parametrize("cut", [0, 2, "half"])
def test_an_empty_or_cut_off_joblib_file_says_so_with_its_size(cut, tiny_screener, tmp_path,
                                                              capsys):
    whole = open(tiny_screener["file"], "rb").read()
    size = len(whole) // 2 if cut == "half" else cut
    model = tmp_path / "x.joblib"
    model.write_bytes(whole[:size])
    status, _, err = run(["screen", tiny_screener["paths"][0], "--model", model], capsys)
    assert status == 2
    assert (f"{str(model)!r} is not a complete joblib file ({size} bytes): it is empty or was "
            "cut off") in err
    assert "EOFError" not in err


# ---- 10p: a card.json that is a folder or a pipe was called "no card.json"
@pytest.mark.parametrize("kind, says", [("folder", "a folder"), ("fifo", "a named pipe (FIFO)")])
@pytest.mark.parametrize("command", ["screen", "info"])
def test_a_card_json_that_is_no_file_says_the_screener_folder_is_damaged(
        kind, says, command, tiny_screener, tmp_path, capsys):
    folder, _ = copy_folder(tiny_screener, tmp_path)
    (folder / "card.json").unlink()
    if kind == "folder":
        (folder / "card.json").mkdir()
    elif hasattr(os, "mkfifo"):
        os.mkfifo(folder / "card.json")
    else:
        pytest.skip("no named pipes on this system")
    argv = (["screen", tiny_screener["paths"][0], "--model", folder] if command == "screen"
            else ["info", folder])
    status, _, err = run(argv, capsys)  # a pipe is never opened: this would block otherwise
    assert status == 2
    assert f"its card.json is {says}, not a file: the screener folder is damaged" in err
    assert "holds no card.json" not in err


# ---- 4h: calibrate --out inside a class folder wrote the screener among the films
@pytest.mark.parametrize("command", ["train", "calibrate"])
@pytest.mark.parametrize("out", ["NORMAL/new", "new", ".", "link/new"])
def test_a_screener_written_inside_its_training_folder_is_refused_before_any_work(
        command, out, tiny_screener, tmp_path, capsys, monkeypatch):
    data = tmp_path / "site"
    shutil.copytree(tiny_screener["films"], data)
    (tmp_path / "link").symlink_to(data / "PNEUMONIA")
    out = tmp_path / "link" / "new" if out.startswith("link") else data / out

    def no_work(*args, **kwargs):
        raise AssertionError("work started before --out was checked")

    monkeypatch.setattr("skcxr.site.calibrate_screener", no_work)
    monkeypatch.setattr("skcxr.fit_screener", no_work)
    monkeypatch.setattr("skcxr.screener.labelled_folder", no_work)
    argv = [command, data, "--out", out] + (["--model", tiny_screener["folder"]]
                                            if command == "calibrate" else [])
    status, _, err = run(argv, capsys)
    assert status == 2
    assert f"--out {str(out)!r} is {'DATA_DIR' if out == data / '.' else 'inside DATA_DIR'}" in err
    assert "would be read as films by the next run on that folder" in err
    assert sorted(p.name for p in data.iterdir()) == ["NORMAL", "PNEUMONIA"]
    assert not (tmp_path / "link" / "new").exists()


# ---- 11g: --summary-json - and --report - wrote files named "-" in the current folder
def test_summary_json_dash_goes_to_standard_output_when_the_worklist_has_a_file(
        tiny_screener, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(["screen", tiny_screener["films"], "--model", tiny_screener["folder"],
                            "--out", "w.csv", "--summary-json", "-"], capsys)
    assert status == 0, err
    assert json.loads(out)["counts"]["files"] == 40
    assert "summary to standard output" in err
    assert sorted(os.listdir(tmp_path)) == ["w.csv"]  # no file named "-"


@pytest.mark.parametrize("command, argv, says", [
    ("screen", ["--out", "w.csv", "--report", "-"], "--report -: the report is a file"),
    ("screen", ["--summary-json", "-"], "--summary-json - and the worklist cannot both go to "
                                        "standard output"),
    ("screen", ["--out", "-", "--summary-json", "-"], "cannot both go to standard output"),
    ("evaluate", ["--summary-json", "-"], "--summary-json -: standard output carries the "
                                          "evaluation report"),
    ("evaluate", ["--out", "-"], "--out -: standard output carries the evaluation report"),
])
def test_a_dash_that_cannot_mean_standard_output_is_a_usage_error_before_screening(
        command, argv, says, tiny_screener, tmp_path, monkeypatch, capsys, no_screening):
    monkeypatch.chdir(tmp_path)
    status, out, err = run([command, tiny_screener["films"], "--model", tiny_screener["folder"],
                            *argv], capsys)
    assert status == 2 and says in err and out == ""
    assert os.listdir(tmp_path) == []


def test_the_help_says_what_a_dash_means_for_the_summary_and_the_report(capsys):
    with pytest.raises(SystemExit):
        main(["screen", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "'-' writes it to standard output when --out names a file" in help_text
    assert "HTML report to this file, never standard output" in help_text


# ---------------- audit verification: what was named as a model but is no joblib file
@pytest.mark.parametrize("name, content, says", [
    ("evil.pt", None, "named as a PyTorch file, not a joblib file: skcxr never unpickles it"),
    ("evil.npz", None, "named as a numpy file"),
    ("film.joblib", "jpeg", "is not a joblib file: it holds an image (JPEG)"),
    ("nl.joblib", b"\n\n", "is not a joblib file: it holds a text file"),
])
def test_what_is_named_as_a_model_but_is_no_joblib_file_is_never_unpickled(
        tmp_path, capsys, monkeypatch, name, content, says):
    """Verification audit: a pickle named evil.pt ran its code after the joblib warning; a
    film or a text file as --model failed with '255' or '10'."""

    marker = tmp_path / "ran"
    path = tmp_path / name
    if content is None:
        write_code_running_pickle(path, marker)
    elif content == "jpeg":
        Image.new("L", (8, 8)).save(path, format="JPEG")
    else:
        path.write_bytes(content)
    film = tmp_path / "film.png"
    Image.new("L", (64, 64), 128).save(film)
    status, _, err = run(["screen", str(film), "--model", str(path)], capsys)
    assert status == 2 and says in err and "runs code" not in err
    assert not marker.exists()


def test_a_learning_rate_beyond_float32_is_a_parameter_error_not_a_traceback(capsys, tmp_path):
    """Verification audit: --lr 1e39 crashed inside torch (value cannot be converted to float)."""
    (tmp_path / "site").mkdir()
    status, _, err = run(["train", str(tmp_path / "site"), "--out", str(tmp_path / "o"), "--lr",
                          "1e39"], capsys)
    assert status == 2 and "--lr must be positive and at most 3.4e+38" in err
    with pytest.raises(ValueError, match="'lr' parameter of CXRClassifier"):
        skcxr.CXRClassifier(lr=1e39).fit(np.zeros((4, 1, 32, 32), dtype=np.uint8), [0, 1, 0, 1])


def test_a_card_json_that_is_a_fifo_is_refused_not_read(tiny_screener, tmp_path):
    """Verification audit: load_screener on a folder whose card.json is a FIFO hung."""
    folder, _ = copy_folder(tiny_screener, tmp_path)
    (folder / "card.json").unlink()
    os.mkfifo(folder / "card.json")
    with pytest.raises(ScreenerFolderError, match="card.json' is not a regular file"):
        load_screener(folder)


def test_info_checks_the_guards_arrays_and_a_pickle_needs_no_folder(tmp_path, capsys):
    """Verification audit: `skcxr info` said "matches" for a guard.npz that cannot load (its
    sha256 edited onto the card); a loaded screener could not be pickled once its folder was
    gone; a string array in guard.npz loaded without a word."""
    from skcxr.pretrained import _registry

    folder = tmp_path / "shipped"
    shutil.copytree(_registry.pretrained_folder(skcxr.list_pretrained()[0]), folder)
    screener = load_screener(folder)
    _rewrite_guard(folder, lambda state: state.update(
        {"features.mean": state["features.mean"].astype("U8")}))
    status, out, err = run(["info", str(folder)], capsys)
    assert status != 0 and "  guard.npz: DAMAGED" in out
    assert "features.mean holds <U8 values, not numbers" in err
    with pytest.raises(ScreenerFolderError, match="features.mean holds <U8 values"):
        load_screener(folder)
    shutil.rmtree(folder)  # the screener loaded before keeps the weights it checked
    assert isinstance(pickle.loads(pickle.dumps(screener)).classifier.classifier_,
                      skcxr.CXRClassifier)


def test_dev_stdout_as_a_second_output_counts_as_standard_output(tiny_screener, tmp_path):
    """Verification audit: --summary-json /dev/stdout with the worklist on standard output ran
    the CSV and the JSON together, where --summary-json - is refused."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "skcxr", "screen", str(tiny_screener["films"]), "--model",
         str(tiny_screener["folder"]), "--summary-json", "/dev/stdout"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert "cannot both go to standard output" in result.stderr


# ---- audit round 5 (lead)
def test_an_icon_holding_two_pictures_is_refused_not_read_as_one(tmp_path):
    """Audit round 5: an ICO holding two different films was scored on one of them."""
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(0, 255, (256, 256), dtype=np.uint8))
    small = Image.fromarray(rng.integers(0, 255, (128, 128), dtype=np.uint8))
    path = tmp_path / "two.ico"
    big.save(path, sizes=[(256, 256), (128, 128)], append_images=[small])
    with pytest.raises(ValueError, match=r"2 pictures \(icon with several sizes\)"):
        ImageLoader(size=64).transform([str(path)])


def test_an_archive_that_inflates_beyond_its_file_is_refused_before_reading(tmp_path):
    """Audit round 5: a 10 MB guard.npz whose member inflated to 8.6 GB (its sha256 edited onto
    the card) took 9 GB of memory before failing with numpy's internal message."""
    import zipfile

    from skcxr.pretrained import _registry

    folder = tmp_path / "shipped"
    shutil.copytree(_registry.pretrained_folder(skcxr.list_pretrained()[0]), folder)
    path = folder / "guard.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("features.mean.npy", b"\0" * (64 << 20))  # 64 MiB of zeros, ~64 kB
    card = json.loads((folder / "card.json").read_text())
    card["guard"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ScreenerFolderError, match="guard.npz' inflates to 67,108,864 bytes"):
        load_screener(folder)


def test_an_export_path_ending_in_a_slash_is_refused(tmp_path):
    """Audit round 5: export(s, 'outdir/') wrote a file named outdir."""
    with pytest.raises(ValueError, match="names a folder; give the file to write in it"):
        skcxr.export(object(), f"{tmp_path}/outdir/", format="onnx")
    assert not (tmp_path / "outdir").exists()


# ---- audit round 5
@pytest.mark.parametrize("option", ["--out", "--report", "--summary-json"])
def test_an_output_pipe_without_a_reader_fails_at_once_instead_of_hanging(
        option, tiny_screener, tmp_path, capsys, monkeypatch):
    """Audit 7-N1: --out o.fifo with no process reading the pipe blocked forever."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the rescued rows go
    monkeypatch.setattr("tempfile.tempdir", None)
    fifo = tmp_path / "o.fifo"
    os.mkfifo(fifo)
    argv = ["screen", tiny_screener["paths"][0], "--model", tiny_screener["folder"], option, fifo]
    if option != "--out":
        argv += ["--out", tmp_path / "w.csv"]
    status, _, err = run(argv, capsys)
    assert status == 1
    assert f"{str(fifo)!r} is a named pipe that no process reads" in err
    if option == "--out":
        rescued = err.split("its rows were saved to '")[1].split("' instead")[0]
        assert open(rescued).read().startswith("path,score,flagged")
    else:
        assert (tmp_path / "w.csv").read_text().startswith("path,score,flagged")


def test_an_output_pipe_with_a_reader_still_gets_the_whole_worklist(tiny_screener, tmp_path,
                                                                     capsys):
    """Audit 7-N1: the fix must keep --out >(cat > x.csv) (a pipe with a reader) working."""
    import threading

    fifo = tmp_path / "o.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo).read()), daemon=True)
    reader.start()
    status, _, _ = run(["screen", *tiny_screener["paths"][:2], "--model",
                        tiny_screener["folder"], "--out", fifo], capsys)
    reader.join(timeout=60)
    assert status == 0
    assert received[0].startswith("path,score,flagged") and len(received[0].splitlines()) == 3


@pytest.mark.parametrize("dash", ["\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015",
                                  "\u2212", "\ufe63", "\uff0d"])
def test_a_pickle_named_like_a_pretrained_name_with_look_alike_dashes_is_never_unpickled(
        dash, tiny_screener, tmp_path, monkeypatch, capsys):
    """Audit 1-N1: 'resnet18‐kermany‐128' (U+2010 hyphens) slipped past the ambiguity check."""
    monkeypatch.chdir(tmp_path)
    name = skcxr.list_pretrained()[0].replace("-", dash)
    write_code_running_pickle(tmp_path / name, tmp_path / "code_ran")
    status, _, err = run(["screen", tiny_screener["paths"][0], "--model", name], capsys)
    assert status == 2
    assert f"{name!r} is ambiguous" in err and "Nothing was loaded" in err
    assert "runs code" not in err
    assert not (tmp_path / "code_ran").exists()


@pytest.mark.parametrize("command", ["screen", "info"])
def test_a_model_file_named_with_a_trailing_slash_is_refused_before_loading(
        command, tiny_screener, tmp_path, monkeypatch, capsys):
    """Audit 1-N3: --model x/ for a pickle file x warned, unpickled, then said "Not a directory"."""
    monkeypatch.chdir(tmp_path)
    write_code_running_pickle(tmp_path / "model.joblib", tmp_path / "code_ran")
    argv = (["screen", tiny_screener["paths"][0], "--model", "model.joblib/"]
            if command == "screen" else ["info", "model.joblib/"])
    status, _, err = run(argv, capsys)
    assert status == 2
    assert "'model.joblib/' names a folder, but 'model.joblib' is a file" in err
    assert "runs code" not in err and "Not a directory" not in err
    assert not (tmp_path / "code_ran").exists()


@pytest.mark.parametrize("how", ["fifo", "process substitution"])
def test_a_model_that_is_a_pipe_is_said_to_be_one_and_never_opened(how, tiny_screener, tmp_path,
                                                                  monkeypatch, capsys):
    """Audit 1-N4: --model model.joblib (a FIFO) or <(cat real.joblib) was "neither a pretrained
    screener ... nor an existing ... model file", for a path that exists."""
    monkeypatch.chdir(tmp_path)
    if how == "fifo":
        os.mkfifo(tmp_path / "model.joblib")
        spec, keep = "model.joblib", None
    else:  # what bash hands for <(...): /dev/fd/N, an anonymous pipe
        read_end, keep = os.pipe()
        spec = f"/dev/fd/{read_end}"
    try:
        status, _, err = run(["screen", tiny_screener["paths"][0], "--model", spec], capsys)
    finally:
        if keep is not None:
            os.close(keep)
            os.close(read_end)
    assert status == 2  # and it returned: a pipe opened to read would have waited for a writer
    assert f"--model {spec!r} is a named pipe (FIFO), not a model file" in err
    assert "neither" not in err


def test_the_summary_line_shows_an_undecodable_output_name_as_the_worklist_cells_do(
        tiny_screener, tmp_path, monkeypatch, capsys):
    """Audit 5-N2: the stderr summary named output w\\xff.csv as 'w\\udcff.csv', the cells
    as 'w\\xff.csv'."""
    monkeypatch.chdir(tmp_path)
    out = os.fsdecode(b"w\xff.csv")
    status, _, err = run(["screen", tiny_screener["paths"][0], "--model", tiny_screener["folder"],
                          "--out", out], capsys)
    assert status == 0
    assert "; worklist w\\xff.csv\n" in err
    assert "udcff" not in err
    # The same name as a worklist cell: screened as an input, its row names it w\xff.csv.
    status, worklist, _ = run(["screen", out, "--model", tiny_screener["folder"]], capsys)
    assert worklist.splitlines()[1].startswith("w\\xff.csv,")


@pytest.mark.parametrize("command", ["train", "calibrate"])
@pytest.mark.parametrize("seed, says", [
    ("-1", "--seed must be a non-negative integer; got -1."),
    ("4294967296", "--seed must be a non-negative integer of at most 4294967295")])
def test_a_seed_numpy_cannot_take_is_a_usage_error_naming_seed_not_random_state(
        command, seed, says, tiny_screener, tmp_path, capsys):
    """Audit 8-N4: calibrate --seed -1 said "The 'random_state' parameter of InputGuard must be
    an int ..." from deep inside the fit."""
    (tmp_path / "site").mkdir()
    argv = [command, tmp_path / "site", "--out", tmp_path / "o", "--seed", seed]
    if command == "calibrate":
        argv += ["--model", tiny_screener["folder"]]
    status, _, err = run(argv, capsys)
    assert status == 2 and says in err
    assert "random_state" not in err and not (tmp_path / "o").exists()


# ---- audit round 6 (lead)
def test_round_6_model_files_that_are_no_joblib_are_named(tmp_path, capsys, monkeypatch):
    """A dash look-alike outside the first list (U+2043) beside a pickle of that name; a tarred
    screener folder (gzip, as joblib's compressor writes); an undecodable name shown as \\xHH."""
    import tarfile

    marker = tmp_path / "ran"
    monkeypatch.chdir(tmp_path)
    look_alike = skcxr.list_pretrained()[0].replace("-", "\u2043")
    write_code_running_pickle(tmp_path / look_alike, marker)
    (tmp_path / "film.png").write_bytes(b"")
    status, _, err = run(["screen", "film.png", "--model", look_alike], capsys)
    assert status == 2 and "is ambiguous" in err and not marker.exists()
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "card.json").write_text("{}")
    with tarfile.open(tmp_path / "d.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "d", arcname="d")
    status, _, err = run(["screen", "film.png", "--model", "d.tar.gz"], capsys)
    assert status == 2 and "is a compressed file, but what it holds is no pickle" in err
    status, _, err = run(["screen", "film.png", "--model", os.fsdecode(b"mod\xff")], capsys)
    assert status == 2 and "'mod\\xff'" in err and "udcff" not in err


def test_round_6_folder_damage_is_named_by_info_and_load(tiny_screener, tmp_path, capsys):
    """A gzipped card.json; a weights.pt that inflates beyond its file (info said "matches")."""
    import gzip
    import zipfile

    folder, _ = copy_folder(tiny_screener, tmp_path)
    path = folder / "weights.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\0" * (64 << 20))
    card = json.loads((folder / "card.json").read_text())
    card["weights"]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "card.json").write_text(json.dumps(card))
    status, out, err = run(["info", str(folder)], capsys)
    assert status == 2 and "  weights.pt: DAMAGED" in out and "inflates to 67,108,864" in err
    (folder / "card.json").write_bytes(gzip.compress(json.dumps(card).encode()))
    with pytest.raises(ScreenerFolderError, match="is not UTF-8 JSON text .*1f8b.*compressed or binary"):
        load_screener(folder)


def test_a_dicom_data_set_without_its_preamble_is_named_as_such(tmp_path):
    """Audit rounds 5-6: it read "not an image (unknown content)"."""
    pydicom = pytest.importorskip("pydicom")
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
    ds.Modality = "DX"
    path = tmp_path / "bare"
    with pydicom.filebase.DicomFileLike(open(path, "wb")) as file:
        file.is_little_endian, file.is_implicit_VR = True, False
        pydicom.filewriter.write_dataset(file, ds)
    assert skcxr.preprocessing.sniff_format(path) == (
        "DICOM data without its 128-byte preamble and DICM marker")


# ---- audit round 7 (lead)
def test_a_homoglyph_of_the_default_name_beside_a_pickle_loads_nothing(tmp_path, capsys,
                                                                       monkeypatch):
    """Audit round 7: a Cyrillic 'е' for 'e' passed the look-alike check and the pickle ran."""

    marker = tmp_path / "ran"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "film.png").write_bytes(b"")
    name = skcxr.list_pretrained()[0]
    for homoglyph in (name.replace("e", "\u0435", 1), name.replace("n", "\u03b7", 1)):
        write_code_running_pickle(tmp_path / homoglyph, marker)
        status, _, err = run(["screen", "film.png", "--model", homoglyph], capsys)
        assert status == 2 and "is ambiguous" in err and not marker.exists()


def test_format_characters_in_names_are_escaped_and_restored():
    """Audit round 7: U+061C (Arabic letter mark) and U+00AD (soft hyphen) were written raw."""
    from skcxr.screener import decode_worklist_cell
    from skcxr.screener._cells import worklist_text

    for name in ("alm\u061c.png", "soft\u00adhy.png", "zw\u200b.png", "lit\\u0041.png", "é.png"):
        cell = worklist_text(name)
        assert decode_worklist_cell(cell) == name
        assert not any(ch in cell for ch in "\u061c\u00ad\u200b")


def test_a_32_bit_dicom_is_scaled_by_the_bits_its_values_use(tmp_path):
    """Audit round 7: values 0..241000 in 32 bits were called a near-constant frame."""
    pydicom = pytest.importorskip("pydicom")
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta, ds.SOPClassUID = meta, SecondaryCaptureImageStorage
    ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPInstanceUID, "DX"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 64, 64, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 32, 32, 31, 0
    ramp = np.linspace(0, 241000, 64 * 64).reshape(64, 64).astype(np.uint32)
    ds.PixelData = ramp.tobytes()
    path = tmp_path / "u32.dcm"
    ds.save_as(path, enforce_file_format=True)
    with pytest.warns(UserWarning, match="scaled by 18 bits"):
        image = ImageLoader(size=32).transform([str(path)])[0, 0]
    assert image.min() < 10 and image.max() > 200  # the whole ramp, not 0 to 1 of 255
    assert pydicom  # the module was needed to write the file


# ---- audit round 8 (lead)
@pytest.mark.parametrize("suffix", ["\u0301", "\ufe0f", "soft"])
def test_a_name_with_marks_or_a_soft_hyphen_beside_a_pickle_loads_nothing(tmp_path, capsys,
                                                                          monkeypatch, suffix):
    """Audit round 8: a combining accent, a variation selector or a soft hyphen in the default
    name beside a pickle of that name let the pickle run."""

    marker = tmp_path / "ran"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "film.png").write_bytes(b"")
    name = skcxr.list_pretrained()[0]
    spoof = name.replace("-", "\u00ad", 1) if suffix == "soft" else name + suffix
    write_code_running_pickle(tmp_path / spoof, marker)
    status, _, err = run(["screen", "film.png", "--model", spoof], capsys)
    assert status == 2 and "is ambiguous" in err and not marker.exists()


def test_round_8_archives_cards_and_labels_are_named(tmp_path, capsys, tiny_screener):
    """A tar of a screener folder as --model; a card giving one key twice (the last won: a
    second operating point changed the threshold unseen); None among the labels."""
    import tarfile

    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "card.json").write_text("{}")
    with tarfile.open(tmp_path / "d.tar", "w") as archive:
        archive.add(tmp_path / "d", arcname="d")
    film = tmp_path / "film.png"
    Image.new("L", (64, 64), 128).save(film)
    status, _, err = run(["screen", str(film), "--model", str(tmp_path / "d.tar")], capsys)
    assert status == 2 and "it holds a tar archive" in err
    folder, _ = copy_folder(tiny_screener, tmp_path)
    text = (folder / "card.json").read_text()
    (folder / "card.json").write_text(text.rstrip().rstrip("}") +
                                      ', "operating_point": {"threshold": 0.01}}')
    with pytest.raises(ScreenerFolderError, match="gives 'operating_point' more than once"):
        load_screener(folder)
    X = np.zeros((4, 1, 32, 32), dtype=np.uint8)
    with pytest.raises(ValueError, match="y mixes labels of types that cannot be compared"):
        skcxr.CXRClassifier(module="tiny").fit(X, ["NORMAL", None, "PNEUMONIA", "NORMAL"])


# ---- audit round 9 (lead)
def test_a_file_named_twice_gets_one_row_and_the_summary_says_so(tiny_screener, tmp_path, capsys):
    """Audit round 9: four names of two films gave two rows and "2 files", without a word."""
    film = tiny_screener["paths"][0]
    other = tiny_screener["paths"][1]
    summary = tmp_path / "s.json"
    status, out, err = run(["screen", film, film, other, film, "--model",
                            str(tiny_screener["folder"]), "--summary-json", str(summary)],
                           capsys)
    assert len(out.strip().splitlines()) == 3  # the header and one row per film
    assert "2 named more than once (one row each)" in err
    assert json.loads(summary.read_text())["named_more_than_once"] == [film, film]


# ------------- `skcxr screen -rf.jpeg` got only argparse's "arguments are required: PATH"
def test_a_file_read_as_an_option_is_named_with_the_way_round_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("-rf.jpeg").write_bytes(b"")
    with pytest.raises(SystemExit) as exited:
        main(["screen", "-rf.jpeg"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "arguments are required: PATH" in err
    assert "'-rf.jpeg' is a file, read here as an option: write ./-rf.jpeg, or put -- " \
           "before the files." in err
