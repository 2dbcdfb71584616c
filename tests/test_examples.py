"""The examples run (their --quick modes) on the real data and write their figures."""

import os
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def run_example(name, *args, data_home):
    env = {**os.environ, "SKCXR_DATA": str(data_home), "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(REPO_ROOT / "examples" / name), "--quick", *args],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_svm_baseline(data_home, tmp_path):
    out = run_example("svm_baseline.py", "--out", str(tmp_path / "pca.png"), data_home=data_home)
    assert "ROC AUC" in out and (tmp_path / "pca.png").stat().st_size > 10_000


def test_screening_workflow(data_home, tmp_path):
    out = run_example("screening_workflow.py", "--out", str(tmp_path), data_home=data_home)
    assert "Specificity" in out and "flags" in out
    for figure in ("roc", "precision_recall", "confusion_matrix", "reliability", "gradcam"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 10_000, figure


def test_grid_search(data_home, tmp_path):
    out = run_example("grid_search.py", "--out", str(tmp_path), data_home=data_home)
    assert "best: {" in out and out.count("+/-") == 4
    assert (tmp_path / "cv_scores.png").stat().st_size > 10_000


def test_accuracy_benchmark_svm_row(data_home, tmp_path):
    env = {**os.environ, "SKCXR_DATA": str(data_home)}
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "accuracy.py"), "--models", "svm",
         "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    import json

    row = json.loads((tmp_path / "accuracy.json").read_text())["rows"][0]
    assert row["model"] == "svm" and 0.5 < row["default"]["auc"]["value"] <= 1
    assert row["screening"]["sensitivity"]["value"] >= 0.9
    assert "| Linear SVM" in (tmp_path / "accuracy.md").read_text()
