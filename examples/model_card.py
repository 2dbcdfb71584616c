"""
=======================================================
The shipped screener's model card, with its figures
=======================================================

skcxr ships a trained screener: ``skcxr.load_pretrained(name)`` returns a
fitted scikit-learn estimator over image files, with its operating threshold,
its input guard and its model card, offline, checked by sha256.

This page reads the card, then scores the 624 films of the Kermany test split
once and draws what the card's numbers mean: the ROC curve with the operating
point, the confusion matrix at the screening threshold, the reliability
diagram, and HiResCAM heatmaps of a true positive, a false positive and a
false negative. The test labels only *report* here: the threshold was chosen
on held-out training patients before the test split was scored.

.. code-block:: bash

    python examples/model_card.py          # no training: it scores the 624 test films once

The documentation build's own timing of it is at the end of this page.

The documentation build runs this example on the data in ``$SKCXR_DATA``.
"""

import argparse
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import skcxr
from skcxr.datasets import load_chest_xray
from skcxr.explain import gradcam
from skcxr.metrics import format_screening_report, screening_report
from skcxr.plot import plot_confusion_matrix, plot_gradcam, plot_reliability, plot_roc

parser = argparse.ArgumentParser(description="The shipped screener's card and figures.")
parser.add_argument("--name", default=None, help="a pretrained name (default: the first)")
parser.add_argument("--out", default=None, help="also save the figures as PNG files here")
args = parser.parse_args()
name = args.name or skcxr.list_pretrained()[0]

# %%
# The card
# --------
# Every number on the card was computed with the half-precision weights that
# ship. The operating point says how its threshold was chosen.

card = skcxr.pretrained.get_card(name)  # a skcxr.ModelCard
point = card.operating_point
print(card.title)
for line in ("Intended use: " + card.intended_use,
             "Not validated on: " + "; ".join(card.not_validated_on),
             f"Training: {card.training['device']}, {card.training['how']}",
             f"Made by: {card.training['command']} (commit {card.training['commit']})",
             f"Threshold {point['threshold']:.4f}: {point['rule']}",
             f"Validation AUC {card.validation['auc']:.4f}",
             "Backends: " + "; ".join(f"{backend}: threshold {entry['threshold']:.4f}, test AUC "
                                      f"{entry['test_auc']:.4f}"
                                      for backend, entry in card.backends.items())):
    print(textwrap.fill(line, 88, subsequent_indent="    "))

# %%
# Score the test split once
# -------------------------
# The screener takes file paths; ``predict_proba`` gives P(NORMAL) and
# P(PNEUMONIA) in ``classes_`` order, ``predict`` flags at the card's
# threshold. By default it refuses to score films its input guard refuses
# (about 1% of these test films, "unlike the training films"); the card's
# numbers score every film, so this reproduction does too
# (``on_refusal="score"``).

# The card's numbers were computed with PyTorch; the screener's default backend
# is its int8 ONNX file (its own threshold and test AUC are on the card too).
screener = skcxr.load_pretrained(name, on_refusal="score", backend="torch")
test = load_chest_xray(subset="test")
y_test = test.target_names[test.target]
score = screener.predict_proba(test.data)[:, list(screener.classes_).index("PNEUMONIA")]
threshold = screener.decision_threshold
# One bootstrap, printed here and read for the ROC figure's title below.
ci = screening_report(y_test, score, threshold=threshold, pos_label="PNEUMONIA",
                      groups=test.groups, n_bootstraps=1000, random_state=0, output_dict=True)
print(format_screening_report(ci))
flagged_normals = np.mean(score[y_test == "NORMAL"] >= threshold)
print(f"At this threshold, about {100 * flagged_normals:.0f} of every 100 normal films are "
      "flagged for review, and every film still goes to the radiologist.")

# %%
# ROC curve with the operating point
# ----------------------------------
# The marker is the screening threshold, chosen on training patients for 97%
# sensitivity; the test films' shift (see the card's failure modes) puts the
# test operating point at a lower specificity than validation promised.

# Each figure is drawn by a function, laid out when it is created (the docs
# build saves it at the end of its section), so that tests/test_figures.py
# can check its layout on made-up scores without the data.


def plot_card_roc(y_true, score, threshold, name, ci):
    """ROC with the operating point; the title holds the AUC and the point's CIs."""
    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    plot_roc(y_true, score, threshold=threshold, pos_label="PNEUMONIA", name=name, ax=ax)
    auc, sens, spec = ci["auc"], ci["sensitivity"], ci["specificity"]
    ax.set_title(f"Kermany test split: AUC {auc['value']:.3f} "
                 f"(95% CI {auc['ci_low']:.3f}–{auc['ci_high']:.3f})\n"
                 f"at the threshold: sensitivity {sens['ci_low']:.3f}–{sens['ci_high']:.3f}, "
                 f"specificity {spec['ci_low']:.3f}–{spec['ci_high']:.3f}", fontsize=9)
    return fig


figures = {"roc": plot_card_roc(y_test, score, threshold, name, ci)}

# %%
# Confusion matrix at the screening threshold
# -------------------------------------------



def plot_card_confusion_matrix(y_true, score, threshold):
    """Counts of the four outcomes at the screening threshold."""
    fig, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
    plot_confusion_matrix(y_true, score, threshold=threshold, pos_label="PNEUMONIA", ax=ax)
    ax.set_title(f"At the screening threshold {threshold:.3f}")
    return fig


figures["confusion_matrix"] = plot_card_confusion_matrix(y_test, score, threshold)

# %%
# Calibration
# -----------
# A screening score is a ranking, not a probability: the reliability diagram
# shows how far P(PNEUMONIA) is from the observed share of pneumonia films.
# Calibrate on a site's own films (``CalibratedClassifierCV`` with
# ``FrozenEstimator``) before reading it as a probability.



def plot_card_reliability(y_true, score, name):
    """Observed share of pneumonia films against the score, by bins of the score."""
    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    plot_reliability(y_true, score, pos_label="PNEUMONIA", name=name, ax=ax)
    return fig


figures["reliability"] = plot_card_reliability(y_test, score, name)

# %%
# Why: HiResCAM on a true positive, a false positive and a false negative
# -------------------------------------------------------------------------
# The most confident film of each kind: the heatmap shows which part of the
# film raised P(PNEUMONIA). A false positive that lights up outside the lungs
# (text, tubes, the film's border) is a warning about what the network uses.

flagged = score >= threshold
is_pneumonia = y_test == "PNEUMONIA"
cases = {
    "true positive": np.flatnonzero(flagged & is_pneumonia),
    "false positive": np.flatnonzero(flagged & ~is_pneumonia),
    "false negative": np.flatnonzero(~flagged & is_pneumonia),
}
picked, titles = [], []
for kind, index in cases.items():
    if len(index):
        # Most confident true and false positives; the most missed false negative.
        i = index[np.argmin(score[index])] if kind == "false negative" else index[
            np.argmax(score[index])]
        picked.append(i)
        titles.append(f"{kind}\nP(PNEUMONIA) = {score[i]:.2f}")
pipeline = screener.fitted_estimator
images = pipeline[:-1].transform(test.data[picked])
heatmaps = gradcam(pipeline[-1], images, target_class="PNEUMONIA")
figures["gradcam"] = plot_gradcam(images, heatmaps, titles=titles, ncols=len(picked))
plt.show()

if args.out:
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for key, fig in figures.items():
        fig.savefig(Path(args.out) / f"{key}.png", dpi=100, bbox_inches="tight")
