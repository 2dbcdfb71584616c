"""The report's worklist table: one row per file, in the CSV's order.

The table must fit a 1,280 px window without sideways scrolling: long
values (paths, reasons, DICOM UIDs) wrap, and the three DICOM identifiers
share one column.
"""

import html
import os
import re

from ..guard import REFUSAL_CODES
from ._cells import escape_undecodable
from ._reading import DICOM_FIELDS

MIN_SCORE_DECIMALS, MAX_SCORE_DECIMALS = 3, 8  # float32 scores differ by 6e-8 near 1


def score_texts(scores):
    """Each score with 3 decimals, or more where a neighbour would otherwise read the same.

    The worklist is ordered by score: with a fixed 3 decimals the top rows
    all read 1.000 and a reader cannot see why one comes before the next.
    A score gets the decimals that tell it from the nearest different
    scores just above and below it (up to 8, float32's resolution near 1);
    equal scores read the same, with the same decimals.

    Parameters
    ----------
    scores : sequence of (float or None)
        In table order; None for rows that were not scored (they separate
        runs: scores on either side are not neighbours).

    Returns
    -------
    texts : list of str
        "" for None.
    """
    scores = list(scores)
    # Runs of equal scores: [start, stop) index ranges, each with its value.
    runs = []
    for i, score in enumerate(scores):
        if runs and score is not None and scores[runs[-1][0]] == score and runs[-1][1] == i:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    texts = [""] * len(scores)
    for k, (start, stop) in enumerate(runs):
        score = scores[start]
        if score is None:
            continue
        neighbours = [scores[runs[n][0]] for n in (k - 1, k + 1) if 0 <= n < len(runs)]
        neighbours = [s for s in neighbours if s is not None]
        decimals = MIN_SCORE_DECIMALS
        while decimals < MAX_SCORE_DECIMALS and any(
                f"{s:.{decimals}f}" == f"{score:.{decimals}f}" for s in neighbours):
            decimals += 1
        texts[start:stop] = [f"{score:.{decimals}f}"] * (stop - start)
    return texts


def table_start(counts, heatmap_note, with_labels, with_dicom):
    """The worklist section's heading, notes and the table's header row."""
    e = html.escape
    columns = ["#", "Film", "Heatmap", "file", "score", "flagged", "status", "reason"]
    columns += ["true label"] * with_labels + ["DICOM"] * with_dicom
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    return (
        "<section id=\"worklist\"><h2>Worklist</h2>"
        "<p>Same order as the CSV: flagged films by descending score, then files that were "
        "not screened (unsuitable, error), then the other films by descending score. "
        f"{counts['files']} rows, one per file. Scores show the decimals that tell a row from "
        "its neighbours; films are drawn at their own aspect ratio (the model reads them "
        "stretched to a square).</p>"
        + (f'<p class="note">{e(heatmap_note)}</p>' if heatmap_note else "")
        + f'<table class="worklist"><thead><tr>{head}</tr></thead><tbody>\n'
    )


TABLE_END = "</tbody></table></section>\n"


def table_row(rank, row, score_text, images, with_labels, with_dicom):
    """One ``<tr>``; ``images`` is ``(film URL or None, heatmap URL or None)`` or None."""
    e = html.escape
    film_url, heatmap_url = images or (None, None)
    film = f'<img src="{film_url}" alt="film {rank}">' if film_url else ""
    heatmap = f'<img src="{heatmap_url}" alt="HiResCAM heatmap {rank}">' if heatmap_url else ""
    cells = [
        f'<td class="num">{rank}</td>',
        f'<td class="film">{film}</td>',
        f'<td class="heatmap">{heatmap}</td>',
        f'<td class="path">{_path_cell(row.path)}</td>',
        f'<td class="num">{score_text}</td>',
        f"<td>{'' if row.flagged is None else ('yes' if row.flagged else 'no')}</td>",
        f"<td>{row.status}</td>",
        f'<td class="reason">{_reason_cell(row)}</td>',
    ]
    if with_labels:
        cells.append(f"<td>{e(escape_undecodable(row.label or ''))}</td>")
    if with_dicom:
        cells.append(f'<td class="dicom">{_dicom_cell(row.dicom)}</td>')
    css = "flagged" if row.flagged else row.status
    return f'<tr id="row-{rank}" class="{css}">{"".join(cells)}</tr>\n'


def _path_cell(path):
    """The file name first (what a reader looks for), its folder under it.

    Split at the system's separators only (a backslash is part of a POSIX
    name); bytes that are not UTF-8 are shown as in the CSV (``\\xHH``).
    """
    cut = max(path.rfind(sep) for sep in {os.sep, os.altsep or os.sep})
    name = escape_undecodable(path[cut + 1:])
    if cut < 0:
        return f"<b>{_breakable(name)}</b>"
    folder = escape_undecodable(path[:cut + 1])
    return f'<b>{_breakable(name)}</b><br><span class="dir">{_breakable(folder)}</span>'


def _breakable(text):
    """Escaped ``text`` that may wrap after its separators (/ _ - .), not inside a word.

    A path or a DICOM UID has no spaces: without these break points it
    either widens the table or wraps at any letter.
    """
    return re.sub(r"([/_.\-])", r"\1<wbr>", html.escape(text, quote=False))


def _reason_cell(row):
    """The reason, and its code linking to the group that explains it."""
    if not row.reason:
        return ""
    code = ""
    if row.code in REFUSAL_CODES:
        code = f'<br><a class="code" href="#code-{row.code}">{html.escape(row.code)}</a>'
    return html.escape(escape_undecodable(row.reason)) + code


def _dicom_cell(values):
    """PatientID, AccessionNumber and StudyInstanceUID, each labelled, in one wrapping cell."""
    if values is None:
        return ""
    fields = dict(zip(DICOM_FIELDS, values))
    lines = [(label, fields[name]) for label, name in (
        ("Patient", "PatientID"), ("Accession", "AccessionNumber"),
        ("Study UID", "StudyInstanceUID")) if fields.get(name)]
    return "<br>".join(f'<span class="key">{label}</span> '
                       f'{_breakable(escape_undecodable(value))}'
                       for label, value in lines)
