"""The report's section on files that were not screened, grouped by reason code.

One group per code (``lateral``, ``unlike_training``, ``truncated``, ...)
with what the code means in plain words, its count and its files, each
linking to its row of the worklist, where its picture is. Grouping by the
sentence would split one cause into a line per file ("novelty 2.81",
"novelty 2.90", ...).
"""

import html
from collections import Counter

from ..guard import REFUSAL_CODES
from ._cells import escape_undecodable

OPEN_LIST_MAX = 5  # longer file lists are folded into a <details> element


def not_screened_section(rows, ranks, *, n_pictures, max_pictures):
    """The section's HTML, or "" when every file was screened.

    Parameters
    ----------
    rows : list of WorklistRow
    ranks : dict
        ``{row.index: position in the worklist table}``, for the links.
    n_pictures : int
        Not-screened files that got a picture in the table.
    max_pictures : int
        The most pictures drawn for such files.
    """
    refused = [row for row in rows if row.status != "screened"]
    if not refused:
        return ""
    counts = Counter((row.status, row.code) for row in refused)
    order = sorted(counts, key=lambda key: (key[0] != "unsuitable", -counts[key], key[1]))
    pictures = ("Each is a row of the worklist below, right after the flagged films, with its "
                "picture where the file decodes")
    if n_pictures < len(refused) and len(refused) > max_pictures:
        pictures += f" (pictures for the first {max_pictures} of {len(refused)})"
    parts = [
        f'<section id="not-screened"><h2>Files that were not screened ({len(refused)})</h2>',
        f"<p>{pictures}: look at them yourself. <b>Unsuitable</b>: the input guard refused "
        "a film the model was not made for, so it has no score. <b>Error</b>: the file could "
        "not be read. The skcxr documentation lists every code (The input guard, Refusal "
        "codes).</p>",
    ]
    for status, code in order:
        group = [row for row in refused if (row.status, row.code) == (status, code)]
        parts.append(_group(status, code, group, ranks))
    parts.append("</section>\n")
    return "".join(parts)


def _group(status, code, rows, ranks):
    e = html.escape
    n = len(rows)
    explanation = REFUSAL_CODES.get(code, "No code was given for these files.")
    anchor = f' id="code-{e(code)}"' if code else ""
    items = "".join(
        f'<li><a href="#row-{ranks[row.index]}">{e(escape_undecodable(_name(row.path)))}</a>: '
        f'{e(escape_undecodable(row.reason))}</li>'
        for row in rows)
    files = (f"<ul>{items}</ul>" if n <= OPEN_LIST_MAX else
             f"<details><summary>The {n} files</summary><ul>{items}</ul></details>")
    return (
        f'<div class="group {status}"{anchor}><h3><code>{e(code or "no code")}</code> '
        f'<span class="status">{status}</span> &times; {n}</h3>'
        f"<p>{e(explanation)}</p>{files}</div>"
    )


def _name(path):
    return path.replace("\\", "/").rpartition("/")[2] or path
