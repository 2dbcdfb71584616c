"""A screen that refuses many films as unlike the training films says so, everywhere."""

import json

import pytest

from skcxr.cli import main
from skcxr.screener import UNLIKE_TRAINING_NOTICE_SHARE, WorklistRow, population_notice


def rows_with(n_refused, n_screened, *, n_other=0, n_errors=0, labels=None):
    """Worklist rows: ``n_refused`` unlike_training, ``n_other`` lateral, errors, screened."""
    rows = []
    kinds = ([("unsuitable", "unlike_training")] * n_refused + [("unsuitable", "lateral")] * n_other
             + [("error", "truncated")] * n_errors + [("screened", "")] * n_screened)
    for i, (status, code) in enumerate(kinds):
        label = None if labels is None else labels[i % len(labels)]
        if status == "screened":
            rows.append(WorklistRow(i, f"{i}.png", status, score=0.5, flagged=True, label=label))
        else:
            rows.append(WorklistRow(i, f"{i}.png", status, reason="why", code=code, label=label))
    return rows


def test_the_share_is_documented_and_ten_percent():
    assert UNLIKE_TRAINING_NOTICE_SHARE == 0.10


@pytest.mark.parametrize("n_refused, n_screened, n_other, n_errors, expected", [
    (0, 10, 0, 0, None),
    (1, 9, 0, 0, None),  # exactly 10%: not above it
    (2, 17, 0, 0, (2, 19)),  # 10.5%
    (2, 18, 0, 30, None),  # errors are not films: 2 of 20 readable
    (2, 15, 2, 0, (2, 19)),  # other refusals count among the films, not as unlike_training
    (0, 0, 0, 3, None),  # nothing readable
])
def test_population_notice_counts_readable_films(n_refused, n_screened, n_other, n_errors,
                                                 expected):
    notice = population_notice(rows_with(n_refused, n_screened, n_other=n_other,
                                         n_errors=n_errors))
    if expected is None:
        assert notice is None
    else:
        assert (notice["refused"], notice["films"]) == expected
        assert notice["share"] == pytest.approx(expected[0] / expected[1])
        assert notice["limit"] == 0.10 and notice["by_class"] is None


def test_population_notice_counts_by_class_and_names_the_model():
    rows = rows_with(6, 14, labels=["NORMAL", "PNEUMONIA"])  # refused: 0..5, alternating
    notice = population_notice(rows, model_name="resnet18-kermany-128", share=0.25)
    assert notice["by_class"] == {"NORMAL": {"refused": 3, "films": 10},
                                  "PNEUMONIA": {"refused": 3, "films": 10}}
    assert notice["message"].startswith(
        "This folder looks unlike the films the model was trained on: 30% of its readable films "
        "(6 of 20: 3 of 10 NORMAL, 3 of 10 PNEUMONIA) were refused")
    assert "more than the 25% at which skcxr warns" in notice["message"]
    assert "skcxr train SITE_FOLDER --init resnet18-kermany-128 --out DIR" in notice["advice"]
    assert "skcxr calibrate" in notice["advice"]
    json.dumps(notice)  # plain types: it goes into --summary-json as it is


def test_no_notice_from_the_cli_on_a_folder_like_the_training_films(tiny_screener, tmp_path,
                                                                     capsys):
    status = main(["screen", tiny_screener["films"], "--model", tiny_screener["file"], "--out",
                   str(tmp_path / "w.csv"), "--summary-json", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert status == 0 and "notice:" not in err and f"summary {tmp_path / 's.json'}" in err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["population_notice"] is None and summary["refusal_codes"] == {}
    assert summary["counts"] == {"files": 40, "flagged": summary["counts"]["flagged"],
                                 "screened": 40, "unsuitable": 0, "error": 0, "skipped": 0}
    assert summary["command"] == "screen" and summary["threshold"] == 0.4
    assert summary["model"] == tiny_screener["file"] and "metrics" not in summary


def test_summary_json_must_go_to_an_existing_folder(tiny_screener, tmp_path, capsys):
    status = main(["screen", tiny_screener["films"], "--model", tiny_screener["file"],
                   "--summary-json", str(tmp_path / "nope" / "s.json")])
    assert status == 2 and "--summary-json" in capsys.readouterr().err


@pytest.fixture
def refusing_screener(tiny_screener, monkeypatch):
    """The tiny screener with a guard that refuses every third film as unlike the training films."""
    from skcxr.guard import Refusal

    class EveryThird:
        count = 0

        def file_refusals(self, paths):
            return [None] * len(paths)

        def refusals(self, X):
            out = []
            for _ in X:
                EveryThird.count += 1
                out.append(Refusal("unlike_training", "unlike the training films (test)")
                           if EveryThird.count % 3 == 0 else None)
            return out

    monkeypatch.setattr(type(tiny_screener["screener"]), "fitted_guard",
                        property(lambda self: EveryThird()))
    return tiny_screener


def test_cli_screen_and_evaluate_give_the_notice(refusing_screener, tmp_path, capsys):
    films, model = refusing_screener["films"], refusing_screener["file"]
    status = main(["screen", films, "--model", model, "--out", str(tmp_path / "w.csv"),
                   "--summary-json", str(tmp_path / "s.json"), "--report",
                   str(tmp_path / "r.html")])
    err = capsys.readouterr().err
    assert status == 0
    assert "13 unsuitable" in err and "skcxr screen: notice: This folder looks unlike" in err
    assert f"--init {model} --out DIR" in err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["population_notice"]["refused"] == 13
    assert summary["population_notice"]["films"] == 40
    assert summary["refusal_codes"] == {"unlike_training": 13}
    assert "Out of population?" in (tmp_path / "r.html").read_text()

    status = main(["evaluate", films, "--model", model, "--bootstraps", "20",
                   "--summary-json", str(tmp_path / "e.json")])
    out, err = capsys.readouterr()
    assert status == 0 and "NOTICE: This folder looks unlike" in out
    assert "skcxr evaluate: notice:" in err
    summary = json.loads((tmp_path / "e.json").read_text())
    assert set(summary["population_notice"]["by_class"]) == {"NORMAL", "PNEUMONIA"}
    assert set(summary["metrics"]) == {"operating threshold", "threshold 0.5, for comparison"}
    assert summary["metrics"]["operating threshold"]["n_bootstraps"] == 20
