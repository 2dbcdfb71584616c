"""
==============================================================
Screen a folder into a ranked worklist, with the shipped model
==============================================================

What ``skcxr screen FOLDER --out worklist.csv --report report.html`` does, in
Python: find the files (by content, hidden and system files skipped), decode
them, let the input guard refuse what the model was not made for, score the
rest and order the rows for a reader going top-down: flagged films by
descending score, then the files a person must look at (``unsuitable``,
``error``), then the rest.

To show every status, the folder screened here holds 60 films of the Kermany
test split and four files a real export folder meets: a truncated JPEG, a
text file named ``.jpeg``, a colour photograph-like image and a blank frame.

.. code-block:: bash

    python examples/screen_a_folder.py     # no training: it screens 64 files

The documentation build's own timing of it is at the end of this page.

The documentation build runs this example on the data in ``$SKCXR_DATA``.
"""

import argparse
import collections
import io
import shutil
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import skcxr
from skcxr.datasets import load_chest_xray
from skcxr.screener import (
    count_statuses,
    discover_files,
    screen_files,
    worklist_order,
    write_report,
    write_worklist,
)

parser = argparse.ArgumentParser(description="Screen a folder into a ranked worklist.")
parser.add_argument("--out", default=None, help="also save the figure as a PNG file here")
args = parser.parse_args()

# %%
# A folder as an export from a PACS might look
# --------------------------------------------
# 30 NORMAL and 30 PNEUMONIA test films, plus the kinds of file that must
# never stop a screen or pass silently.

test = load_chest_xray(subset="test")
rng = np.random.default_rng(0)
picked = np.concatenate([rng.choice(np.flatnonzero(test.target == k), 30, replace=False)
                         for k in (0, 1)])
folder = Path(tempfile.mkdtemp(prefix="skcxr-screen-"))
for i in picked:
    shutil.copy(test.data[i], folder / Path(test.data[i]).name)
film = Path(test.data[picked[0]]).read_bytes()
(folder / "truncated.jpeg").write_bytes(film[: len(film) // 3])
(folder / "notes.jpeg").write_text("Reporting rota for December.\n")
colour = rng.integers(0, 255, (224, 224, 3), dtype=np.uint8)
colour[:, :112] = [200, 40, 40]  # a large saturated area: no radiograph looks like this
Image.fromarray(colour).save(folder / "photo.png")
Image.new("L", (224, 224), 128).save(folder / "blank.png")
(folder / ".DS_Store").write_bytes(b"\0\0")  # skipped and counted, never screened

files, n_skipped = discover_files([folder])
print(f"{len(files)} files to screen, {n_skipped} hidden or system file(s) skipped")

# %%
# Screen
# ------
# ``screen_files`` streams the files in chunks (decoding overlaps scoring),
# one row per file, always.

screener = skcxr.load_pretrained(skcxr.list_pretrained()[0])
# True labels ride along only to colour the figure below; nothing uses them.
truth = {Path(test.data[i]).name: test.target_names[test.target[i]] for i in picked}
rows = worklist_order(screen_files(screener, files,
                                   labels=[truth.get(Path(f).name) for f in files]))
print(count_statuses(rows))
text = io.StringIO()
write_worklist(rows, text)
lines = text.getvalue().splitlines()
shown = lines[:8] + ["..."] + [line for line in lines if ",unsuitable," in line or ",error," in line]
for line in shown:
    print(line.replace(str(folder) + "/", ""))

# The same page as ``skcxr screen --report``: films, heatmaps, counts, warnings.
write_report(folder / "report.html", rows, screener, model_name=skcxr.list_pretrained()[0],
             n_skipped=n_skipped, max_heatmaps=5)
print("report:", (folder / "report.html").stat().st_size // 1024, "KB", file=sys.stderr)

# %%
# What the reader sees
# --------------------
# Scores of the screened films by true folder, and the operating threshold.
# Films above it are flagged and come first in the worklist; nothing below
# it is cleared: every film still reaches the radiologist.



def plot_score_histogram(scores_by_label, threshold):
    """Scores of the screened films by true folder, the threshold marked.

    The legend sits beside the axes: inside, it would hide bars or the
    threshold line, wherever the scores fall.
    """
    fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
    bins = np.linspace(0, 1, 21)
    for label, colour_name in (("NORMAL", "tab:blue"), ("PNEUMONIA", "tab:red")):
        ax.hist(scores_by_label[label], bins=bins, alpha=0.6, color=colour_name,
                label=f"{label} ({len(scores_by_label[label])})")
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_xlabel("P(PNEUMONIA)")
    ax.set_ylabel("films")
    ax.set_title("Screened films of the folder")
    fig.legend(loc="outside right upper")
    return fig


by_label = collections.defaultdict(list)
for row in rows:
    if row.status == "screened":
        by_label[row.label].append(row.score)
fig = plot_score_histogram(by_label, screener.decision_threshold)
plt.show()

if args.out:
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
shutil.rmtree(folder)
