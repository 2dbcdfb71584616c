"""The HTML report: its structure, and the page as a person sees it in a real browser."""

import csv
import os
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from conftest import write_dicom_film, write_mixed_folder
from PIL import Image

from skcxr.cli import main

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


class ReportParser(HTMLParser):
    """Collects the worklist table's rows (cell texts and images) and every URL of the page."""

    def __init__(self):
        super().__init__()
        self.rows, self.urls, self.tags = [], [], []
        self._in_body = self._cell = None
        self._stack = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        for name in ("src", "href", "action", "data"):
            if name in attrs:
                self.urls.append(attrs[name])
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append({"class": attrs.get("class"), "cells": [], "images": {}})
        elif tag == "td" and self._in_body:
            self._cell = attrs.get("class") or ""
            self.rows[-1]["cells"].append("")
        elif tag == "img" and self._cell is not None:
            self.rows[-1]["images"][self._cell] = attrs["src"]

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self.rows[-1]["cells"][-1] += data


@pytest.fixture(scope="module")
def screened(tiny_screener, tmp_path_factory):
    """A labelled folder with odd files screened into worklist.csv and report.html."""
    folder = tmp_path_factory.mktemp("report")
    films = folder / "films"
    shutil.copytree(tiny_screener["films"], films)
    write_mixed_folder(films / "odd", tiny_screener["paths"][1])
    write_dicom_film(films / "NORMAL" / "IMG0002", tiny_screener["paths"][0], PatientID="P-9")
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(films / "NORMAL" / "Thumbs.db", "PNG")
    status = main(["screen", str(films), "--model", tiny_screener["file"], "--out",
                   str(folder / "worklist.csv"), "--report", str(folder / "report.html"),
                   "--labels-from-folders", "--max-heatmaps", "5"])
    assert status == 0
    with open(folder / "worklist.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return folder, rows


def parse(path):
    parser = ReportParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_report_table_has_one_row_per_file_in_csv_order(screened):
    folder, csv_rows = screened
    page = parse(folder / "report.html")
    assert len(page.rows) == len(csv_rows) == 46  # 40 films, 5 odd files, 1 DICOM
    for row, line in zip(page.rows, csv_rows):
        rank, _film, _heat, path, score, flagged, status, reason, label, patient, *_ = row["cells"]
        name, folder_name = line["path"].rsplit("/", 1)[1], line["path"].rsplit("/", 1)[0]
        assert path == name + folder_name + "/"  # file name first, then its folder
        assert status == line["status"] and reason == line["reason"] and label == line["true_label"]
        assert score == ("" if not line["score"] else f"{float(line['score']):.3f}")
        assert flagged == {"true": "yes", "false": "no", "": ""}[line["flagged"]]
        assert patient == line["PatientID"]
        assert row["class"] == ("flagged" if line["flagged"] == "true" else line["status"])


def test_report_shows_heatmaps_for_the_top_flagged_films_only(screened):
    folder, csv_rows = screened
    page = parse(folder / "report.html")
    with_images = [i for i, row in enumerate(page.rows) if row["images"]]
    assert with_images == list(range(5))  # the first five rows: the top flagged films
    assert all(csv_rows[i]["flagged"] == "true" for i in with_images)
    assert sum(r["flagged"] == "true" for r in csv_rows) > 5
    for i in with_images:
        assert set(page.rows[i]["images"]) == {"film", "heatmap"}
        film = page.rows[i]["images"]["film"]
        heat = page.rows[i]["images"]["heatmap"]
        assert film.startswith("data:image/png;base64,") and heat.startswith(
            "data:image/png;base64,") and film != heat
    html = (folder / "report.html").read_text()
    assert "HiResCAM heatmaps for the top 5 of" in html and "(at most 5 are drawn)" in html


def test_report_is_self_contained_with_warning_and_curves(screened):
    folder, _ = screened
    page = parse(folder / "report.html")
    html = (folder / "report.html").read_text()
    assert all(url.startswith("data:image/png;base64,") for url in page.urls)
    assert "http://" not in html and "https://" not in html
    assert not {"script", "link", "iframe", "object"} & set(page.tags)
    assert "A screening aid, not a diagnosis." in html and "For tests only." in html
    assert "Threshold</dt><dd>0.4 (the model&#x27;s screening threshold)" in html
    for title in ("ROC curve", "Precision-recall curve", "Confusion matrix",
                  "Reliability diagram"):
        assert f'alt="{title}"' in html
    assert "Files that were not screened" in html and "truncated JPEG &times; 1" in html
    assert "bootstrap resamples of" in html


def _chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium is not installed (.ci/run installs it)")


def test_report_renders_in_a_real_browser(screened, tmp_path):
    """Headless Chromium: the page is not blank, the table and heatmap images are there."""
    folder, csv_rows = screened
    browser = _chromium()
    url = (folder / "report.html").as_uri()
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1280,2400", url],
                   capture_output=True, timeout=180, env=env, check=True)
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float32)
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 20  # a blank (all white) page has none
    # The heatmaps are drawn: strongly coloured pixels (jet's reds/blues) exist.
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    assert (saturation > 120).sum() > 500
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True,
                         timeout=180, env=env, check=True).stdout
    page = ReportParser()
    page.feed(dom)
    assert len(page.rows) == len(csv_rows)
    heatmaps = [r["images"]["heatmap"] for r in page.rows if "heatmap" in r["images"]]
    assert len(heatmaps) == 5 and all(h.startswith("data:image/png") for h in heatmaps)
