"""The screening report: one self-contained HTML page a radiologist reads top-down.

Everything is inline (styles, ``data:`` images), nothing is fetched and no
script runs, so the page opens the same from a USB stick, a PACS share or
an e-mail attachment. Rows are written as they are formatted: a worklist of
100,000 films never exists as one string.

``skcxr screen --report`` writes it as a worklist; ``skcxr evaluate
--report`` passes its evaluation and gets the same page titled and ordered
as an evaluation, holding every number the command prints.
"""

import datetime
import html

import numpy as np

from ..metrics import format_screening_report
from ._card import describe_site, describe_threshold
from ._cells import ESCAPE_ERRORS
from ._evaluation import evaluate_rows, evaluation_notes
from ._figures import (
    curve_figures,
    display_film,
    jpeg_data_url,
    overlay_image,
)
from ._population import population_notice
from ._reading import read_film
from ._report_refusals import not_screened_section
from ._report_table import TABLE_END, score_texts, table_row, table_start
from ._saved_classifier import built
from ._worklist import count_statuses, positive_class, screening_parts

DEFAULT_INTENDED_USE = (
    "A preliminary screening aid that puts films likely to show the flagged finding first "
    "in the reading queue for radiologist review. It does not diagnose."
)

# Laid out for a 1,280 px window (tests/test_report.py checks it in Chromium):
# every long value wraps, nothing sets a minimum width the table cannot keep.
_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:24px;
color:#1b1b1b;line-height:1.4;max-width:1400px}
h1{font-size:1.6em;margin:0 0 .4em}h2{font-size:1.25em;margin:1.6em 0 .5em;
border-bottom:1px solid #ccc;padding-bottom:.2em}h3{font-size:1.05em;margin:1em 0 .3em}
.warning{background:#fff4ce;border:2px solid #c98a00;border-radius:6px;padding:12px 16px;
margin:12px 0}.warning strong{font-size:1.1em}
.notice{background:#fde7e4;border:2px solid #b3261e;border-radius:6px;padding:12px 16px;
margin:12px 0}.notice strong{font-size:1.1em;color:#8c1d18}
dl.model{display:grid;grid-template-columns:max-content auto;gap:4px 16px;margin:0}
dl.model dt{font-weight:600}dl.model dd{margin:0}
.counts{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.count{border:1px solid #bbb;border-radius:6px;padding:8px 14px;min-width:90px;text-align:center}
.count b{display:block;font-size:1.5em}.count.flagged{border-color:#b3261e;color:#b3261e}
.count.attention{border-color:#c98a00;color:#8a5a00}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid #d0d0d0;padding:4px 6px;text-align:left;vertical-align:middle}
th{background:#f0f0f0}
td.path,td.reason,td.dicom{overflow-wrap:break-word}td.path{min-width:12em}
td.dicom{font-size:.85em}td.dicom .key{color:#666}
tr.flagged td:first-child{border-left:5px solid #b3261e}
tr.unsuitable,tr.error{background:#fff4ce}
td.path .dir{color:#666;font-size:.9em}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.film,td.heatmap{width:128px;text-align:center}
td.film img,td.heatmap img{max-width:128px;max-height:128px;display:block;margin:auto}
a.code{font-family:monospace;font-size:.9em}
.group{border-left:4px solid #c98a00;padding:2px 12px;margin:10px 0}
.group.error{border-left-color:#777}.group h3 .status{font-weight:normal;color:#555}
.group p{margin:.2em 0}.group ul{margin:.3em 0}
.figures{display:flex;flex-wrap:wrap;gap:16px}.figures figure{margin:0}
.figures img{width:420px;height:auto;border:1px solid #ddd}
pre{background:#f6f6f6;padding:10px;overflow-x:auto}
.note{color:#555;font-size:.92em}
"""


def write_report(path, rows, screener, *, model_name, threshold_note="", n_skipped=0,
                 max_heatmaps=50, command=None, evaluation=None, max_refused_films=100):
    """Write the HTML report of a screen.

    Parameters
    ----------
    path : str or path-like
        Where to write the page.
    rows : list of WorklistRow
        In worklist order (:func:`worklist_order`), as in the CSV.
    screener : fitted Screener
        The model that screened them: its card, threshold, loader and
        classifier (heatmaps are recomputed for the top flagged films).
    model_name : str
        How the model was named (pretrained name or file).
    threshold_note : str, default=""
        Where the threshold came from, shown beside it.
    n_skipped : int, default=0
        Hidden or system files skipped.
    max_heatmaps : int, default=50
        HiResCAM heatmaps for at most this many flagged films (the top ones).
    command : str, default=None
        The command line that produced the screen.
    evaluation : dict, default=None
        What ``evaluate_rows`` returned for these rows (``skcxr
        evaluate``): the page is then an evaluation report, with these
        numbers. Without it, rows with true labels are evaluated here, with
        1,000 bootstrap resamples.
    max_refused_films : int, default=100
        Pictures of at most this many files that were not screened (the
        first ones in worklist order).
    """
    rows = list(rows)
    counts = count_statuses(rows)
    with_labels = any(row.label is not None for row in rows)
    with_dicom = any(row.dicom is not None for row in rows)
    is_evaluation = evaluation is not None
    if evaluation is None and with_labels:
        evaluation = evaluate_rows(rows, screener)
    notice = population_notice(rows, model_name=model_name)
    images, heatmap_note = _heatmap_images(rows, screener, max_heatmaps)
    refused_images = _refused_images(rows, screener, max_refused_films)
    images.update(refused_images)
    ranks = {row.index: rank for rank, row in enumerate(rows, 1)}
    # Undecodable bytes of file names are written as the CSV writes them (\xHH).
    with open(path, "w", encoding="utf-8", errors=ESCAPE_ERRORS) as out:
        out.write(_head(model_name, is_evaluation))
        out.write(_top(screener, counts, notice, evaluation if is_evaluation else None))
        out.write(_summary(counts, n_skipped))
        sections = [_model(screener, model_name, threshold_note, command)]
        if evaluation is not None:
            performance = _performance(rows, screener, evaluation, model_name, is_evaluation)
            # An evaluation is read for its numbers: they come before the model's details.
            sections.insert(0 if is_evaluation else 1, performance)
        out.write("".join(sections))
        out.write(not_screened_section(rows, ranks, n_pictures=len(refused_images),
                                       max_pictures=max_refused_films))
        out.write(table_start(counts, heatmap_note, with_labels, with_dicom))
        scores = score_texts([row.score for row in rows])
        for rank, (row, score) in enumerate(zip(rows, scores), 1):
            out.write(table_row(rank, row, score, images.get(row.index), with_labels,
                                with_dicom))
        out.write(TABLE_END + "</body></html>\n")


def _head(model_name, is_evaluation):
    kind = "evaluation" if is_evaluation else "screening worklist"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>skcxr {kind}: {html.escape(model_name)}</title>"
        f"<style>{_STYLE}</style></head>\n<body>\n"
    )


def _top(screener, counts, notice, evaluation):
    """Title, the screening-aid warning, the one-sentence result and any population notice.

    ``evaluation`` is given for an evaluation report, None for a worklist.
    """
    e = html.escape
    flagged_class = positive_class(screener)
    attention = counts["unsuitable"] + counts["error"]
    title = "Screening worklist" if evaluation is None else "Evaluation on a labelled folder"
    result = (f"<b>{counts['flagged']}</b> of {counts['files']} files flagged "
              f"{e(str(flagged_class))} for earlier review")
    if evaluation is not None:
        result = (f"Metrics of the <b>{evaluation['n_scored']}</b> screened films whose true "
                  f"label is known, from the class folders; {result}")
    parts = [
        f"<header><h1>{title}</h1>",
        '<div class="warning" role="note"><strong>A screening aid, not a diagnosis.</strong> '
        "A film that is not flagged is not cleared: every film still needs a radiologist's "
        "read.</div>",
        f"<p>{result}"
        + (f"; <b>{attention}</b> could not be screened and need a person's look" if attention
           else "") + ".</p>",
    ]
    if notice:
        parts.append(
            '<div class="notice" role="alert"><strong>Out of population?</strong> '
            f"{e(notice['message'])}<br>{e(notice['advice'])}</div>")
    parts.append("</header>\n")
    return "".join(parts)


def _summary(counts, n_skipped):
    parts = ['<section id="summary"><h2>Summary</h2><div class="counts">']
    for key, label, css in (("files", "files", ""), ("screened", "screened", ""),
                            ("flagged", "flagged", "flagged"),
                            ("unsuitable", "unsuitable", "attention"),
                            ("error", "error", "attention")):
        parts.append(f'<div class="count {css}"><b>{counts[key]}</b>{label}</div>')
    parts.append(f'<div class="count"><b>{n_skipped}</b>skipped</div></div>')
    parts.append(
        '<p class="note">Unsuitable: refused by the input guard (a film the model was not made '
        "for). Error: the file could not be read. Skipped: hidden or system files "
        "(<code>.DS_Store</code>, <code>._*</code>, <code>Thumbs.db</code>).</p></section>\n")
    return "".join(parts)


def _model(screener, model_name, threshold_note, command):
    card = screener.card
    e = html.escape
    parts = [
        '<section id="model"><h2>Model and operating point</h2><dl class="model">',
        f"<dt>Model</dt><dd>{e(model_name)}"
        + (f" &mdash; {e(card.title)}" if card is not None else "") + "</dd>",
        f"<dt>Intended use</dt><dd>{e(card.intended_use if card is not None else DEFAULT_INTENDED_USE)}"
        "</dd>",
        f"<dt>Flagged class</dt><dd>{e(str(positive_class(screener)))}</dd>",
        f"<dt>Threshold</dt><dd>{screener.decision_threshold:.4g}"
        + (f" ({e(threshold_note)})" if threshold_note else "") + "</dd>",
        f"<dt>Backend</dt><dd>{e(screener.backend_in_use)}"
        + (" (its own threshold on the card, chosen by the card's rule with its own scores)"
           if screener.decision_threshold != float(screener.threshold) else "") + "</dd>",
        # The card's rule only while its threshold is the one in use (describe_threshold).
        f"<dt>How it was chosen</dt><dd>{e(describe_threshold(card, screener.threshold))}</dd>",
    ]
    if describe_site(card):
        parts.append(f"<dt>Site</dt><dd>{e(describe_site(card))}</dd>")
    if card is not None and card.not_validated_on:
        limits = card.not_validated_on
        if isinstance(limits, (list, tuple)):  # one sentence per limit: a list, not a repr
            limits = "; ".join(str(item) for item in limits)
        parts.append(f"<dt>Not validated on</dt><dd>{e(str(limits))}</dd>")
    from .. import __version__  # the package finishes importing after this module

    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts.append(f"<dt>Generated</dt><dd>{e(when)} by skcxr {e(__version__)}</dd>")
    if command:
        parts.append(f"<dt>Command</dt><dd><code>{e(command)}</code></dd>")
    parts.append("</dl></section>\n")
    return "".join(parts)


def _performance(rows, screener, evaluation, model_name, is_evaluation):
    """The screening reports (as ``skcxr evaluate`` prints them) and the curves."""
    e = html.escape
    heading = "Metrics" if is_evaluation else "Performance on these films"
    parts = [f'<section id="performance"><h2>{heading}</h2>',
             f"<p>True labels were taken from the folder names. {evaluation['n_scored']} "
             "screened films have one. 95% confidence intervals resample patients.</p>"]
    parts += [f"<p>{e(note)}</p>" for note in evaluation_notes(evaluation)]
    for title, report in evaluation["reports"]:
        parts.append(f"<h3>At the {e(title)}</h3><pre>{e(format_screening_report(report))}</pre>")
    if evaluation["reports"]:
        known = [r for r in rows if r.status == "screened" and r.label is not None]
        y_true = np.asarray([r.label for r in known], dtype=object)
        y_score = np.asarray([r.score for r in known])
        parts.append("<h3>Curves, at the operating threshold</h3><div class=\"figures\">")
        for title, url in curve_figures(y_true, y_score, threshold=screener.decision_threshold,
                                        pos_label=positive_class(screener), name=model_name):
            parts.append(f'<figure><img src="{url}" alt="{e(title)}"><figcaption>{e(title)}'
                         "</figcaption></figure>")
        parts.append("</div>")
    parts.append("<p>A screening aid flags films for earlier review; it never replaces the "
                 "radiologist.</p></section>\n")
    return "".join(parts)


def _heatmap_images(rows, screener, max_heatmaps):
    """``{row index: (film URL, overlay URL)}`` for the top flagged films, and a note."""
    flagged = [r for r in rows if r.flagged]
    top = flagged[:max_heatmaps]
    if not top:
        return {}, ""
    from ..explain import gradcam  # torch: only when heatmaps are drawn

    loader, classifier = screening_parts(screener)
    classifier = built(classifier)
    if not hasattr(classifier, "module_"):
        return {}, ("No heatmaps: the model's classifier is not a CXRClassifier "
                    f"({type(classifier).__name__}).")
    films = [(r, read_film(r.path, loader)) for r in top]
    films = [(r, f.array) for r, f in films if f.array is not None]
    images = {}
    if films:
        X = np.stack([a for _, a in films])
        heatmaps = gradcam(classifier, X, target_class=positive_class(screener))
        for (row, array), heatmap in zip(films, heatmaps):
            # Drawn at the film's own shape; the model's square input would misshape the chest.
            picture = display_film(row.path, loader) or _model_input_image(array)
            images[row.index] = (jpeg_data_url(picture),
                                 jpeg_data_url(overlay_image(picture, heatmap)))
    note = (f"HiResCAM heatmaps for the top {len(top)} of {len(flagged)} flagged films"
            + ("" if len(top) == len(flagged) else f" (at most {max_heatmaps} are drawn)")
            + ". Colour marks where the network found evidence for the flagged class; it shows "
              "what the model looked at, not where a lesion is.")
    return images, note


def _refused_images(rows, screener, max_films):
    """``{row index: (film URL, None)}`` for the first files not screened that decode."""
    loader, _ = screening_parts(screener)
    images = {}
    for row in [r for r in rows if r.status != "screened"][:max_films]:
        picture = display_film(row.path, loader)
        if picture is not None:
            images[row.index] = (jpeg_data_url(picture), None)
    return images


def _model_input_image(array):
    from PIL import Image

    array = np.asarray(array)
    return Image.fromarray(array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0))
