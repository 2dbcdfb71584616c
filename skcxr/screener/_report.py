"""The screening report: one self-contained HTML page a radiologist reads top-down.

Everything is inline (styles, ``data:`` images), nothing is fetched and no
script runs, so the page opens the same from a USB stick, a PACS share or
an e-mail attachment. Rows are written as they are formatted: a worklist of
100,000 films never exists as one string.
"""

import datetime
import html
import os
from collections import Counter

import numpy as np

from ..explain import gradcam
from ..metrics import screening_report
from ._card import describe_site, describe_threshold
from ._cells import ESCAPE_ERRORS, escape_undecodable
from ._figures import curve_figures, film_image, overlay_image, png_data_url
from ._labels import patient_groups
from ._reading import DICOM_FIELDS, read_film
from ._worklist import count_statuses, positive_class, screening_parts

DEFAULT_INTENDED_USE = (
    "A preliminary screening aid that puts films likely to show the flagged finding first "
    "in the reading queue for radiologist review. It does not diagnose."
)

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:24px;
color:#1b1b1b;line-height:1.4;max-width:1400px}
h1{font-size:1.6em;margin:0 0 .4em}h2{font-size:1.25em;margin:1.6em 0 .5em;
border-bottom:1px solid #ccc;padding-bottom:.2em}
.warning{background:#fff4ce;border:2px solid #c98a00;border-radius:6px;padding:12px 16px;
margin:12px 0}.warning strong{font-size:1.1em}
dl.model{display:grid;grid-template-columns:max-content auto;gap:4px 16px;margin:0}
dl.model dt{font-weight:600}dl.model dd{margin:0}
.counts{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.count{border:1px solid #bbb;border-radius:6px;padding:8px 14px;min-width:90px;text-align:center}
.count b{display:block;font-size:1.5em}.count.flagged{border-color:#b3261e;color:#b3261e}
.count.attention{border-color:#c98a00;color:#8a5a00}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border:1px solid #d0d0d0;padding:4px 8px;text-align:left;vertical-align:middle}
th{background:#f0f0f0}
.scroll{overflow-x:auto}td{white-space:nowrap}
td.path,td.reason,td.uid{white-space:normal;overflow-wrap:anywhere}
td.reason{min-width:140px}td.uid{max-width:200px;font-size:.9em}
tr.flagged td:first-child{border-left:5px solid #b3261e}
tr.unsuitable,tr.error{background:#fff4ce}
td.path{min-width:180px;max-width:420px}
td.path .dir{color:#666;font-size:.9em}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.film img,td.heatmap img{width:150px;height:auto;display:block;image-rendering:auto}
.figures{display:flex;flex-wrap:wrap;gap:16px}.figures figure{margin:0}
.figures img{width:420px;height:auto;border:1px solid #ddd}
pre{background:#f6f6f6;padding:10px;overflow-x:auto}
.note{color:#555;font-size:.92em}
"""


def write_report(path, rows, screener, *, model_name, threshold_note="", n_skipped=0,
                 max_heatmaps=50, command=None):
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
    """
    rows = list(rows)
    counts = count_statuses(rows)
    with_labels = any(row.label is not None for row in rows)
    with_dicom = any(row.dicom is not None for row in rows)
    images, heatmap_note = _heatmap_images(rows, screener, max_heatmaps)
    with open(path, "w", encoding="utf-8", errors=ESCAPE_ERRORS) as out:
        out.write(_head(model_name))
        out.write(_header(screener, model_name, threshold_note, counts, n_skipped, command))
        if with_labels:
            out.write(_performance(rows, screener))
        out.write(_not_screened(rows, counts))
        out.write(_table_start(counts, heatmap_note, with_labels, with_dicom))
        for rank, row in enumerate(rows, 1):
            out.write(_table_row(rank, row, images.get(row.index), with_labels, with_dicom))
        out.write("</tbody></table></div></section>\n</body></html>\n")


def _head(model_name):
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>skcxr screening worklist: {html.escape(model_name)}</title>"
        f"<style>{_STYLE}</style></head>\n<body>\n"
    )


def _header(screener, model_name, threshold_note, counts, n_skipped, command):
    card = screener.card
    e = html.escape
    flagged_class = positive_class(screener)
    attention = counts["unsuitable"] + counts["error"]
    parts = [
        "<header><h1>Screening worklist</h1>",
        '<div class="warning" role="note"><strong>A screening aid, not a diagnosis.</strong> ',
        e(card.intended_use if card is not None else DEFAULT_INTENDED_USE),
        "<br>A film that is not flagged is not cleared: every film still needs a "
        "radiologist's read.</div>",
        f"<p><b>{counts['flagged']}</b> of {counts['files']} files flagged {e(str(flagged_class))}"
        f" for earlier review"
        + (f"; <b>{attention}</b> could not be screened and need a person's look" if attention
           else "") + ".</p>",
        '<h2>Model and operating point</h2><dl class="model">',
        f"<dt>Model</dt><dd>{e(model_name)}"
        + (f" &mdash; {e(card.title)}" if card is not None else "") + "</dd>",
        f"<dt>Flagged class</dt><dd>{e(str(flagged_class))}</dd>",
        f"<dt>Threshold</dt><dd>{screener.decision_threshold:.4g}"
        + (f" ({e(threshold_note)})" if threshold_note else "") + "</dd>",
    ]
    # The card's rule only while its threshold is the one in use (see describe_threshold).
    parts.append(f"<dt>How it was chosen</dt><dd>{e(describe_threshold(card, screener.threshold))}"
                 "</dd>")
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
    parts.append("</dl><h2>Summary</h2><div class=\"counts\">")
    for key, label, css in (("files", "files", ""), ("screened", "screened", ""),
                            ("flagged", "flagged", "flagged"),
                            ("unsuitable", "unsuitable", "attention"),
                            ("error", "error", "attention")):
        parts.append(f'<div class="count {css}"><b>{counts[key]}</b>{label}</div>')
    parts.append(f'<div class="count"><b>{n_skipped}</b>skipped</div></div>')
    parts.append(
        '<p class="note">Unsuitable: refused by the input guard (a film the model was not made '
        "for). Error: the file could not be read. Skipped: hidden or system files "
        "(<code>.DS_Store</code>, <code>._*</code>, <code>Thumbs.db</code>).</p></header>\n")
    return "".join(parts)


def _performance(rows, screener):
    """Metrics and curves on the screened films whose true label is known."""
    e = html.escape
    known = [r for r in rows if r.status == "screened" and r.label is not None]
    n_other = sum(1 for r in rows if r.label is not None) - len(known)
    pos = positive_class(screener)
    parts = ["<section id=\"performance\"><h2>Performance on these films</h2>",
             f"<p>True labels were taken from the folder names. {len(known)} screened films "
             "have one"
             + (f"; {n_other} labelled files that were not screened are left out" if n_other
                else "") + ".</p>"]
    y_true = np.asarray([r.label for r in known], dtype=object)
    if len(set(y_true)) < 2:
        parts.append("<p>Curves need films of both classes; these labels have "
                     f"{len(set(y_true))}.</p></section>\n")
        return "".join(parts)
    y_score = np.asarray([r.score for r in known])
    groups, n_named = patient_groups([r.path for r in known])
    report = screening_report(y_true, y_score, threshold=screener.decision_threshold,
                              pos_label=pos, groups=groups, random_state=0)
    parts.append(f"<pre>{e(report)}</pre>")
    parts.append(f"<p class=\"note\">Confidence intervals resample patients: {n_named} files "
                 "named a patient (Kermany naming), the others count as one patient each.</p>")
    parts.append('<div class="figures">')
    for title, url in curve_figures(y_true, y_score, threshold=screener.decision_threshold,
                                    pos_label=pos):
        parts.append(f'<figure><img src="{url}" alt="{e(title)}"><figcaption>{e(title)}'
                     "</figcaption></figure>")
    parts.append("</div></section>\n")
    return "".join(parts)


def _not_screened(rows, counts):
    if not counts["unsuitable"] + counts["error"]:
        return ""
    reasons = Counter((r.status, r.reason) for r in rows if r.status != "screened")
    items = "".join(
        f"<li><b>{status}</b>: {html.escape(reason)} &times; {n}</li>"
        for (status, reason), n in sorted(reasons.items(), key=lambda kv: (kv[0][0], -kv[1])))
    return ("<section id=\"not-screened\"><h2>Files that were not screened</h2>"
            "<p>These are listed right after the flagged films in the worklist below: look at "
            f"them yourself.</p><ul>{items}</ul></section>\n")


def _heatmap_images(rows, screener, max_heatmaps):
    """``{row index: (film URL, overlay URL)}`` for the top flagged films, and a note."""
    flagged = [r for r in rows if r.flagged]
    top = flagged[:max_heatmaps]
    if not top:
        return {}, ""
    loader, classifier = screening_parts(screener)
    if not hasattr(classifier, "module_"):
        return {}, ("No heatmaps: the model's classifier is not a CXRClassifier "
                    f"({type(classifier).__name__}).")
    films = [(r.index, read_film(r.path, loader)) for r in top]
    films = [(i, f.array) for i, f in films if f.array is not None]
    images = {}
    if films:
        X = np.stack([a for _, a in films])
        heatmaps = gradcam(classifier, X, target_class=positive_class(screener))
        for (i, array), heatmap in zip(films, heatmaps):
            images[i] = (png_data_url(film_image(array)),
                         png_data_url(overlay_image(array, heatmap)))
    note = (f"HiResCAM heatmaps for the top {len(top)} of {len(flagged)} flagged films"
            + ("" if len(top) == len(flagged) else f" (at most {max_heatmaps} are drawn)")
            + ". Colour marks where the network found evidence for the flagged class; it shows "
              "what the model looked at, not where a lesion is.")
    return images, note


def _table_start(counts, heatmap_note, with_labels, with_dicom):
    e = html.escape
    columns = ["#", "Film", "Heatmap", "path", "score", "flagged", "status", "reason"]
    columns += ["true label"] * with_labels + list(DICOM_FIELDS) * with_dicom
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    return (
        "<section id=\"worklist\"><h2>Worklist</h2>"
        "<p>Same order as the CSV: flagged films by descending score, then files that were "
        "not screened (unsuitable, error), then the other films by descending score. "
        f"{counts['files']} rows, one per file.</p>"
        + (f'<p class="note">{e(heatmap_note)}</p>' if heatmap_note else "")
        + f'<div class="scroll"><table class="worklist"><thead><tr>{head}</tr></thead><tbody>\n'
    )


def _path_cell(path):
    """The file name first (what a reader looks for), its folder under it.

    Split at the system's separators only (a backslash is part of a POSIX
    name); bytes that are not UTF-8 are shown as in the CSV (``\\xHH``).
    """
    cut = max(path.rfind(sep) for sep in {os.sep, os.altsep or os.sep})
    name = html.escape(escape_undecodable(path[cut + 1:]))
    if cut < 0:
        return f"<b>{name}</b>"
    folder = html.escape(escape_undecodable(path[:cut + 1]))
    return f'<b>{name}</b><br><span class="dir">{folder}</span>'


def _table_row(rank, row, images, with_labels, with_dicom):
    def e(text):
        return html.escape(escape_undecodable(str(text)))

    film = heatmap = ""
    if images is not None:
        film = f'<img src="{images[0]}" alt="film {rank}">'
        heatmap = f'<img src="{images[1]}" alt="HiResCAM heatmap {rank}">'
    cells = [
        f'<td class="num">{rank}</td>',
        f'<td class="film">{film}</td>',
        f'<td class="heatmap">{heatmap}</td>',
        f'<td class="path">{_path_cell(row.path)}</td>',
        f'<td class="num">{"" if row.score is None else f"{row.score:.3f}"}</td>',
        f"<td>{'' if row.flagged is None else ('yes' if row.flagged else 'no')}</td>",
        f"<td>{row.status}</td>",
        f'<td class="reason">{e(row.reason)}</td>',
    ]
    if with_labels:
        cells.append(f"<td>{e(row.label or '')}</td>")
    if with_dicom:
        cells.extend(f'<td class="uid">{e(v)}</td>'
                     for v in (row.dicom or ("",) * len(DICOM_FIELDS)))
    css = "flagged" if row.flagged else row.status
    return f'<tr class="{css}">{"".join(cells)}</tr>\n'
