"""The HTML report: its structure, and the page as a person sees it in a real browser."""

import csv
import os
import re
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
    # Long DICOM identifiers and a long folder name: the table must still fit 1,280 px.
    write_dicom_film(films / "NORMAL" / "IMG0002", tiny_screener["paths"][0], PatientID="P-9",
                     AccessionNumber="ACC2026000012345",  # 16 characters: the most DICOM allows
                     StudyInstanceUID="1.2.826.0.1.3680043.8.498.1234567890123456789012345678901")
    deep = films / "export_from_pacs_site_a_2026_12_05_radiology_department_chest" / "batch_0001"
    deep.mkdir(parents=True)
    shutil.copy(tiny_screener["paths"][2], deep / "a_rather_long_file_name_of_a_chest_film.png")
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
    assert len(page.rows) == len(csv_rows) == 47  # 41 films, 5 odd files, 1 DICOM
    for row, line in zip(page.rows, csv_rows):
        rank, _film, _heat, path, score, flagged, status, reason, label, dicom = row["cells"]
        name, folder_name = line["path"].rsplit("/", 1)[1], line["path"].rsplit("/", 1)[0]
        assert path == name + folder_name + "/"  # file name first, then its folder
        assert status == line["status"] and label == line["true_label"]
        assert reason == line["reason"] + line["reason_code"]  # the sentence, then its code
        if line["score"]:
            assert abs(float(score) - float(line["score"])) < 5e-4 and len(score) >= 5
        else:
            assert score == ""
        assert flagged == {"true": "yes", "false": "no", "": ""}[line["flagged"]]
        assert (f"Patient {line['PatientID']}" in dicom) == bool(line["PatientID"])
        assert row["class"] == ("flagged" if line["flagged"] == "true" else line["status"])


def test_report_scores_tell_neighbouring_rows_apart(screened):
    folder, csv_rows = screened
    page = parse(folder / "report.html")
    for flagged in ("yes", "no"):
        shown = [row["cells"][4] for row in page.rows if row["cells"][5] == flagged]
        scores = [float(line["score"]) for line in csv_rows
                  if line["flagged"] == {"yes": "true", "no": "false"}[flagged]]
        assert len(shown) == len(scores) > 1
        for (a, b), (text_a, text_b) in zip(zip(scores, scores[1:]), zip(shown, shown[1:])):
            assert float(text_a) >= float(text_b)  # descending, as ordered
            if text_a == text_b:  # the page shows a tie only where the scores are one
                assert a == b, (text_a, a, b)


def test_score_texts_by_hand():
    from skcxr.screener._report_table import score_texts

    assert score_texts([0.99999988, 0.99999976, 0.9, None, 0.1234, 0.1231]) == [
        "0.9999999", "0.9999998", "0.900", "", "0.1234", "0.1231"]
    assert score_texts([0.999999993, 0.999999991]) == ["0.99999999", "0.99999999"]  # at most 8
    assert score_texts([1.0, 1.0, 0.5]) == ["1.000", "1.000", "0.500"]  # ties stay ties
    # A tie reads the same even when only one of its rows borders a close score.
    assert score_texts([0.0000018, 0.0000017, 0.0000017, 0.0000001]) == [
        "0.0000018", "0.0000017", "0.0000017", "0.000000"]


def test_report_shows_heatmaps_for_the_top_flagged_films_only(screened):
    folder, csv_rows = screened
    page = parse(folder / "report.html")
    with_heatmaps = [i for i, row in enumerate(page.rows) if "heatmap" in row["images"]]
    assert with_heatmaps == list(range(5))  # the first five rows: the top flagged films
    assert all(csv_rows[i]["flagged"] == "true" for i in with_heatmaps)
    assert sum(r["flagged"] == "true" for r in csv_rows) > 5
    for i in with_heatmaps:
        assert set(page.rows[i]["images"]) == {"film", "heatmap"}
        film = page.rows[i]["images"]["film"]
        heat = page.rows[i]["images"]["heatmap"]
        assert film.startswith("data:image/jpeg;base64,") and heat.startswith(
            "data:image/jpeg;base64,") and film != heat
    # Files that were not screened show their picture where they decode: none of these does.
    for row, line in zip(page.rows, csv_rows):
        if line["status"] != "screened":
            assert not row["images"], line["path"]
    html = (folder / "report.html").read_text()
    assert "HiResCAM heatmaps for the top 5 of" in html and "(at most 5 are drawn)" in html


def test_report_is_self_contained_with_warning_and_curves(screened):
    folder, _ = screened
    page = parse(folder / "report.html")
    html = (folder / "report.html").read_text()
    assert all(url.startswith(("data:image/png;base64,", "data:image/jpeg;base64,", "#row-",
                               "#code-")) for url in page.urls)
    assert "http://" not in html and "https://" not in html
    assert not {"script", "link", "iframe", "object"} & set(page.tags)
    assert "A screening aid, not a diagnosis." in html and "For tests only." in html
    assert html.count("not cleared") == 1  # the banner says it once
    assert "Threshold</dt><dd>0.4 (the model&#x27;s screening threshold)" in html
    for title in ("ROC curve", "Precision-recall curve", "Confusion matrix",
                  "Reliability diagram"):
        assert f'alt="{title}"' in html
    assert "bootstrap resamples of" in html
    assert "At the operating threshold" in html and "At the threshold 0.5, for comparison" in html
    assert "<title>skcxr screening worklist:" in html and "<h1>Screening worklist</h1>" in html


def test_report_groups_files_not_screened_by_reason_code(screened):
    folder, csv_rows = screened
    html = (folder / "report.html").read_text()
    section = html[html.index('<section id="not-screened">'):html.index('<section id="worklist">')]
    assert "Files that were not screened (3)" in section
    # One group per code, with its explanation and count, whatever the sentences say.
    assert section.count('<div class="group') == 2
    assert ('<code>not_image</code> <span class="status">error</span> &times; 2' in section
            and "Not an image (a text file, a PDF, an archive, an empty file)." in section)
    assert '<code>truncated</code> <span class="status">error</span> &times; 1' in section
    ranks = {line["path"].rsplit("/", 1)[1]: rank for rank, line in enumerate(csv_rows, 1)}
    assert f'<a href="#row-{ranks["truncated.jpeg"]}">truncated.jpeg</a>: truncated JPEG' in section
    assert f'<tr id="row-{ranks["notes.jpeg"]}" class="error">' in html
    assert 'href="#code-not_image"' in html and 'id="code-not_image"' in html


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
    assert len(heatmaps) == 5 and all(h.startswith("data:image/jpeg") for h in heatmaps)


@pytest.fixture(scope="module")
def out_of_population(tiny_screener, tmp_path_factory):
    """A report where the guard refused 12 of 40 films as unlike the training films."""
    from skcxr.screener import WorklistRow, worklist_order, write_report

    screener = tiny_screener["screener"]
    paths, labels = tiny_screener["paths"], tiny_screener["labels"]
    scores = screener.predict_proba(paths)[:, 1]
    refused = set(range(0, 40, 10)) | set(range(1, 40, 5))  # 4 + 8 = 12 films, both classes
    rows = [WorklistRow(i, path, "unsuitable", reason=f"unlike the training films (novelty "
                        f"{3 + i / 100:.2f}, above the limit 2.56)", code="unlike_training",
                        label=label)
            if i in refused else
            WorklistRow(i, path, "screened", score=float(score), flagged=bool(score >= 0.4),
                        label=label)
            for i, (path, label, score) in enumerate(zip(paths, labels, scores))]
    rows = worklist_order(rows)
    path = tmp_path_factory.mktemp("ood") / "report.html"
    write_report(path, rows, screener, model_name="tiny-model", max_heatmaps=2)
    return path, rows


def test_report_says_when_a_folder_looks_out_of_population(out_of_population):
    path, rows = out_of_population
    html = path.read_text()
    top = html[:html.index('<section id="summary">')]
    assert '<div class="notice" role="alert"><strong>Out of population?</strong>' in top
    assert "30% of its readable films (12 of 40" in top and "more than the 10%" in top
    by_class = {label: sum(r.label == label and r.code == "unlike_training" for r in rows)
                for label in ("NORMAL", "PNEUMONIA")}
    assert f"(12 of 40: {by_class['NORMAL']} of 20 NORMAL, {by_class['PNEUMONIA']} of 20 PNEUMONIA)" in top
    assert "skcxr train SITE_FOLDER --init tiny-model --out DIR" in top


def test_report_folds_a_long_group_and_shows_refused_films(out_of_population):
    path, rows = out_of_population
    html = path.read_text()
    assert "<details><summary>The 12 files</summary>" in html
    assert '<code>unlike_training</code> <span class="status">unsuitable</span> &times; 12' in html
    page = parse(path)
    for row, worklist_row in zip(page.rows, rows):
        # Refused films decode: each shows its picture (no heatmap: it was not scored).
        if worklist_row.status == "unsuitable":
            assert set(row["images"]) == {"film"}, worklist_row.path
            assert row["images"]["film"].startswith("data:image/jpeg;base64,")


def test_report_draws_films_at_their_aspect_ratio(tiny_screener, tmp_path):
    """A wide film is shown wide, though the model reads it as a 64 x 64 square."""
    import base64
    import io

    from skcxr.screener import screen_files, worklist_order, write_report

    screener = tiny_screener["screener"]
    scores = screener.predict_proba(tiny_screener["paths"])[:, 1]
    source = tiny_screener["paths"][int(np.argmax(scores))]  # flagged: it gets a heatmap too
    wide = tmp_path / "wide.png"
    Image.open(source).resize((300, 150)).save(wide)
    rows = worklist_order(screen_files(screener, [str(wide)]))
    assert rows[0].flagged
    write_report(tmp_path / "r.html", rows, screener, model_name="tiny")
    images = parse(tmp_path / "r.html").rows[0]["images"]
    for url in images.values():
        picture = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        assert picture.size == (256, 128)


def page_width(browser, page, tmp_path, width):
    """``(document scroll width, widest overflow of a scrolling box)`` of ``page`` in Chromium.

    The report runs no script; a copy of it gets one that writes the widths
    into the DOM, which --dump-dom then prints.
    """
    probe = tmp_path / f"probe_{width}.html"
    script = (
        "<script>const boxes = [...document.querySelectorAll('*')].filter(e => "
        "['auto', 'scroll'].includes(getComputedStyle(e).overflowX));"
        "document.body.dataset.width = document.documentElement.scrollWidth + ' ' + "
        "Math.max(0, ...boxes.map(e => e.scrollWidth - e.clientWidth));</script></body>")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", script),
                     encoding="utf-8")
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([browser, *flags, f"--window-size={width},900", "--dump-dom",
                          probe.as_uri()], capture_output=True, text=True, timeout=180,
                         env={**os.environ, "HOME": str(tmp_path)}, check=True).stdout
    found = re.search(r'data-width="(\d+) (\d+)"', dom)
    assert found, dom[:2000]
    return int(found.group(1)), int(found.group(2))


def test_report_fits_a_1280_px_window(screened, tmp_path):
    """No sideways scrolling with DICOM columns, long paths and long identifiers."""
    folder, _ = screened
    browser = _chromium()
    document, overflow = page_width(browser, folder / "report.html", tmp_path, 1280)
    assert document <= 1280 and overflow == 0, (document, overflow)
    # The probe can see an overflow: at 700 px the fixed columns no longer fit.
    document, overflow = page_width(browser, folder / "report.html", tmp_path, 700)
    assert document > 700 or overflow > 0


def test_evaluate_report_holds_everything_evaluate_prints(tiny_screener, tmp_path, capsys):
    import html as html_module

    status = main(["evaluate", tiny_screener["films"], "--model", tiny_screener["file"],
                   "--bootstraps", "50", "--report", str(tmp_path / "e.html")])
    out = capsys.readouterr().out
    assert status == 0
    page = (tmp_path / "e.html").read_text()
    assert "<title>skcxr evaluation:" in page and "<h1>Evaluation on a labelled folder</h1>" in page
    assert "<h2>Metrics</h2>" in page and "Screening worklist" not in page
    text = html_module.unescape(re.sub(r"<[^>]+>", "\n", page))
    for line in out.splitlines():
        if not line.strip() or line.startswith(("Model:", "== ")):
            continue
        assert line in text, line  # every printed line, the 0.5 comparison too
    assert "== threshold 0.5, for comparison ==" in out
    assert "At the threshold 0.5, for comparison" in page and "50 bootstrap resamples" in page
    assert 'alt="Reliability diagram"' in page
