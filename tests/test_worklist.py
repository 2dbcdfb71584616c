"""Screening files into worklist rows: discovery, content sniffing, reasons, streaming, order."""

import io
import os
import shutil

import numpy as np
import pytest
from conftest import write_dicom_film, write_mixed_folder
from PIL import Image

from skcxr.guard import Refusal
from skcxr.preprocessing import sniff_format
from skcxr.screener import (
    WorklistRow,
    _worklist,  # the reading internals a streaming test watches
    discover_files,
    screen_files,
    worklist_order,
    write_worklist,
)


# ------------------------------------------------------------------ discovery
def test_discover_files_recurses_sorted_and_skips_hidden_and_system_files(tmp_path):
    for name in ("b/2.png", "b/1.png", "a.png", "c/d/e.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    for name in (".DS_Store", "._a.png", "Thumbs.db", "b/desktop.ini", ".cache/x.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    files, skipped = discover_files([tmp_path])
    names = [str(p.relative_to(tmp_path)) for p in map(type(tmp_path), files)]
    assert names == ["a.png", "b/1.png", "b/2.png", "c/d/e.png"]
    assert skipped == 5  # four hidden/system files and the hidden folder .cache
    # A file named on the command line is screened even if hidden; each file once.
    again, skipped = discover_files([tmp_path / "._a.png", tmp_path / "a.png", tmp_path])
    assert again[:2] == [str(tmp_path / "._a.png"), str(tmp_path / "a.png")]
    assert len(again) == 5 and skipped == 5


def test_discover_files_names_every_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'nope'.*'gone/x.png'"):
        discover_files([tmp_path, "nope", "gone/x.png"])


@pytest.mark.parametrize(
    "content, kind",
    [
        (b"\xff\xd8\xff\xe0" + b"\0" * 200, "JPEG"),  # whatever its name
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 10, "PNG"),
        (b"\0" * 128 + b"DICM" + b"\0" * 10, "DICOM"),  # no extension needed
        (b"II*\x00" + b"\0" * 10, "TIFF"),
        (b"%PDF-1.7\n", "PDF"),
        (b"name,age\nA,3\n", "text file"),
        (b"", "empty file"),
        (bytes(range(1, 255)), "unknown content"),
    ],
)
def test_sniff_format_reads_the_content_not_the_name(tmp_path, content, kind):
    path = tmp_path / "file.png"
    path.write_bytes(content)
    assert sniff_format(path) == kind


# ------------------------------------------------------------------ screening
def test_every_file_gets_a_row_with_status_and_short_reason(tiny_screener, tmp_path):
    expected = write_mixed_folder(tmp_path / "in", tiny_screener["paths"][1])
    dicom = write_dicom_film(tmp_path / "in" / "IMG0001", tiny_screener["paths"][1],
                             PatientID="P-7", StudyInstanceUID="1.2.840.1", AccessionNumber="A42")
    image_named_dcm = tmp_path / "in" / "photo.dcm"
    shutil.copy(tiny_screener["paths"][3], image_named_dcm)
    files, _ = discover_files([tmp_path / "in"])
    rows = list(screen_files(tiny_screener["screener"], files, batch_size=3))
    assert [r.path for r in rows] == files and [r.index for r in rows] == list(range(len(files)))
    by_name = {r.path.rsplit("/", 1)[-1]: r for r in rows}
    for name, (status, reason) in expected.items():
        assert (by_name[name].status, by_name[name].reason) == (status, reason), name
    assert by_name["IMG0001"].status == "screened"
    assert by_name["IMG0001"].dicom == ("P-7", "1.2.840.1", "A42")
    assert by_name["photo.dcm"].status == "screened" and by_name["photo.dcm"].dicom is None
    for row in rows:
        if row.status == "screened":
            assert 0 <= row.score <= 1 and row.flagged == (row.score >= 0.4)
        else:
            assert row.score is None and row.flagged is None  # never "not flagged"
    assert dicom in files


def test_scores_and_flags_match_the_screener(tiny_screener):
    screener, paths = tiny_screener["screener"], tiny_screener["paths"]
    rows = list(screen_files(screener, paths, batch_size=7, n_jobs=2))
    np.testing.assert_allclose([r.score for r in rows], screener.predict_proba(paths)[:, 1],
                               atol=1e-6)
    assert [r.flagged for r in rows] == list(screener.predict(paths) == "PNEUMONIA")
    assert all(r.label is None for r in rows)


class RefusingGuard:
    """Test double of a fitted input guard: refuses CT DICOMs by header, flat frames by pixels."""

    def __init__(self):
        self.file_calls = 0

    def file_refusals(self, paths):
        self.file_calls += 1
        return [Refusal("not_radiograph", "not a chest radiograph (DICOM Modality CT)")
                if "ct_" in str(p) else None for p in paths]

    def refusals(self, X):
        flat = X.reshape(len(X), -1).std(axis=1) < 1
        return np.array([Refusal("blank", "near-constant frame") if f else None for f in flat],
                        dtype=object)


def test_guard_refusals_become_unsuitable_rows(tiny_screener, tmp_path):
    screener = tiny_screener["screener"]
    guarded = type(screener)(screener.estimator, threshold=0.4, pos_label="PNEUMONIA",
                             guard=RefusingGuard())
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(tiny_screener["paths"][1], folder / "a.png")
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(folder / "blank.png")
    write_dicom_film(folder / "ct_0001.dcm", tiny_screener["paths"][1], PatientID="P-CT")
    files, _ = discover_files([folder])
    rows = {r.path.rsplit("/", 1)[-1]: r for r in screen_files(guarded, files)}
    assert rows["a.png"].status == "screened"
    assert (rows["blank.png"].status, rows["blank.png"].reason) == (
        "unsuitable", "near-constant frame")
    ct = rows["ct_0001.dcm"]
    assert (ct.status, ct.reason) == ("unsuitable", "not a chest radiograph (DICOM Modality CT)")
    assert (ct.code, rows["blank.png"].code, rows["a.png"].code) == ("not_radiograph", "blank", "")
    assert ct.dicom[0] == "P-CT"  # the refused film still names its patient
    for row in (rows["blank.png"], ct):
        assert row.score is None and row.flagged is None


def test_reading_streams_a_few_chunks_ahead(tiny_screener, monkeypatch):
    """The screen decodes as it goes: taking the first row reads a few chunks, not all files."""
    read = []
    real = _worklist.read_film
    monkeypatch.setattr(_worklist, "read_film",
                        lambda p, loader, **kw: read.append(p) or real(p, loader, **kw))
    paths = tiny_screener["paths"] * 5  # 200 files
    rows = screen_files(tiny_screener["screener"], paths, batch_size=4)
    first = next(rows)
    # One chunk scored, at most two queued and one being read: 4 chunks of 4.
    assert first.index == 0 and len(read) <= 16
    rows.close()  # stops the reading thread
    count = len(read)
    assert count <= 20
    assert len(list(screen_files(tiny_screener["screener"], paths[:9], batch_size=4))) == 9


def test_a_failure_in_the_reading_thread_reaches_the_caller(tiny_screener):
    class BrokenGuard(RefusingGuard):
        def file_refusals(self, paths):
            raise RuntimeError("guard exploded")

    screener = tiny_screener["screener"]
    broken = type(screener)(screener.estimator, threshold=0.4, guard=BrokenGuard())
    with pytest.raises(RuntimeError, match="guard exploded"):
        list(screen_files(broken, tiny_screener["paths"], batch_size=4))


def test_screen_files_checks_its_arguments(tiny_screener):
    screener = tiny_screener["screener"]
    # Checked when called, before the first row is asked for.
    with pytest.raises(ValueError, match="'batch_size' parameter of screen_files must be an int"):
        screen_files(screener, ["a.png"], batch_size=0)
    with pytest.raises(ValueError, match="'n_jobs' parameter of screen_files must be an int"):
        screen_files(screener, ["a.png"], n_jobs=0)
    with pytest.raises(ValueError, match="labels has 1 entries but there are 2 files"):
        next(screen_files(screener, ["a.png", "b.png"], labels=["NORMAL"]))
    bare = type(screener)(screener.estimator[-1], threshold=0.4)
    with pytest.raises(ValueError, match="does not start with an ImageLoader"):
        next(screen_files(bare, ["a.png"]))


# ---------------------------------------------------------------- the order
def test_worklist_order_flagged_then_attention_then_the_rest():
    rows = [
        WorklistRow(0, "low", "screened", 0.1, False),
        WorklistRow(1, "err", "error", reason="truncated JPEG"),
        WorklistRow(2, "high", "screened", 0.9, True),
        WorklistRow(3, "unsuit", "unsuitable", reason="near-constant frame"),
        WorklistRow(4, "mid", "screened", 0.3, False),
        WorklistRow(5, "top", "screened", 0.95, True),
        WorklistRow(6, "err0", "error", reason="empty"),
        WorklistRow(7, "tie", "screened", 0.9, True),
    ]
    ordered = [r.path for r in worklist_order(rows)]
    assert ordered == ["top", "high", "tie", "unsuit", "err", "err0", "mid", "low"]


def test_write_worklist_columns():
    rows = [WorklistRow(0, "a.png", "screened", 0.25, False),
            WorklistRow(1, "b", "error", reason="truncated DICOM", code="truncated",
                        dicom=("P", "1.2", "")),
            WorklistRow(2, "c,d.png", "screened", 0.75, True, label="PNEUMONIA")]
    out = io.StringIO()
    write_worklist(rows[:1], out)
    assert out.getvalue() == ("path,score,flagged,status,reason,reason_code\n"
                              "a.png,0.250000,false,screened,,\n")
    out = io.StringIO()
    write_worklist(rows, out, with_labels=True)
    assert out.getvalue().splitlines() == [
        "path,score,flagged,status,reason,reason_code,true_label,PatientID,StudyInstanceUID,"
        "AccessionNumber",
        "a.png,0.250000,false,screened,,,,,,",
        "b,,,error,truncated DICOM,truncated,,P,1.2,",
        '"c,d.png",0.750000,true,screened,,,PNEUMONIA,,,',
    ]


def test_a_link_to_a_listed_film_is_an_entry_of_its_own(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "z-link.png").symlink_to(tmp_path / "a.png")
    files, _ = discover_files([tmp_path, tmp_path / "a.png", str(tmp_path) + "/./z-link.png"])
    assert [os.path.basename(f) for f in files] == ["a.png", "z-link.png"]
