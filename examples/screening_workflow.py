"""
==================================================================
The screening workflow: threshold, calibration, report, heatmaps
==================================================================

The screening workflow, end to end, with pictures.

1. Fit ImageLoader -> CXRClassifier on 85% of the training patients.
2. On the other 15% (validation patients): choose the threshold reaching 97%
   sensitivity, wrap the model in FixedThresholdClassifier, and calibrate a
   copy with CalibratedClassifierCV (sigmoid and isotonic) on the same patients.
3. Report once on the test split with patient-level 95% CIs.
4. Save ROC and PR curves with the operating point, the confusion matrix,
   a reliability diagram (raw vs calibrated) and HiResCAM overlays for a few
   correct and incorrect test cases.

.. code-block:: bash

    python examples/screening_workflow.py --quick   # 1,500 images at 96 px, 6 epochs: a CPU works
    python examples/screening_workflow.py           # all images at 224 px (use a GPU)

How long ``--quick`` took, and on which machine: ``docs/_static/figures/README.md``.

The figures are saved as PNG files in ``--out`` (default
``screening_figures/``). The documentation build does not run this example
(it trains a network); the figures on this page were made by the command
written under them, except the heatmaps, which are drawn over the dataset's
films and so are not kept in the repository: run the script to see them.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import FixedThresholdClassifier, GroupShuffleSplit

from skcxr import CXRClassifier, ImageLoader
from skcxr.datasets import load_chest_xray
from skcxr.explain import gradcam
from skcxr.metrics import screening_report, select_threshold
from skcxr.plot import (
    plot_confusion_matrix,
    plot_gradcam,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
)

POSITIVE = "PNEUMONIA"

parser = argparse.ArgumentParser(description="The screening workflow, end to end, with pictures.")
parser.add_argument("--quick", action="store_true")
parser.add_argument("--out", default="screening_figures")
args = parser.parse_args()
out = Path(args.out)
out.mkdir(exist_ok=True)
size, epochs = (96, 6) if args.quick else (224, 30)

# %%
# Decode once, split by patient
# -----------------------------
# The images are decoded once with ImageLoader; the classifier then takes the
# arrays. 15% of the training patients are kept aside to choose the threshold
# and to calibrate.


def patient_split(y, groups, test_size, seed=0):
    index = np.arange(len(y))
    return next(GroupShuffleSplit(1, test_size=test_size, random_state=seed).split(index, y, groups))


train, test = load_chest_xray(subset="train"), load_chest_xray(subset="test")
names = train.target_names
idx = np.arange(len(train.data))
if args.quick:
    _, idx = patient_split(train.target, train.groups, 1500 / len(idx))
loader = ImageLoader(size=size, n_jobs=-1)
X, y, groups = loader.fit_transform(train.data[idx]), names[train.target[idx]], train.groups[idx]
X_test, y_test = loader.transform(test.data), names[test.target]
fit, val = patient_split(y, groups, 0.15)

# %%
# Fit, choose the threshold, calibrate
# ------------------------------------
# The fitted model is frozen: FixedThresholdClassifier applies the
# validation-chosen threshold, and CalibratedClassifierCV only learns a
# mapping of its scores on the validation patients.

model = CXRClassifier.from_preset("original", max_epochs=epochs, random_state=0, verbose=1)
model.fit(X[fit], y[fit], groups=groups[fit])
val_score = model.predict_proba(X[val])[:, 1]
threshold = select_threshold(y[val], val_score, min_sensitivity=0.97, pos_label=POSITIVE)
screen = FixedThresholdClassifier(FrozenEstimator(model), threshold=threshold,
                                  pos_label=POSITIVE).fit(X[val], y[val])
calibrated = {m: CalibratedClassifierCV(FrozenEstimator(model), method=m).fit(X[val], y[val])
              for m in ("sigmoid", "isotonic")}

# %%
# Report once on the test split
# -----------------------------

test_score = model.predict_proba(X_test)[:, 1]
print(f"threshold {threshold:.3f} (97% sensitivity on {len(np.unique(groups[val]))} "
      "validation patients)")
print(screening_report(y_test, test_score, threshold=threshold, pos_label=POSITIVE,
                       groups=test.groups, random_state=0))
flagged = screen.predict(X_test) == POSITIVE
print(f"FixedThresholdClassifier flags {flagged.sum()} of {len(flagged)} test films for review")

# %%
# .. literalinclude:: /_static/figures/screening_workflow/output.txt
#    :language: none
#    :caption: Printed by the command in the note at the end of this page (machine, load: figures README)
#
# ROC and precision-recall curves, with the operating point
# ---------------------------------------------------------


def plot_operating_curves(y_true, score, threshold):
    """ROC, precision-recall and the confusion matrix at ``threshold``, as figures by name."""
    kwargs = {"threshold": threshold, "pos_label": POSITIVE}
    return {
        "roc": plot_roc(y_true, score, name="CXRNet", **kwargs).figure_,
        "precision_recall": plot_precision_recall(y_true, score, name="CXRNet", **kwargs).figure_,
        "confusion_matrix": plot_confusion_matrix(y_true, score, **kwargs).figure_,
    }


curves = plot_operating_curves(y_test, test_score, threshold)
for key in ("roc", "precision_recall"):
    curves[key].savefig(out / f"{key}.png")
# sphinx_gallery_thumbnail_path = "_static/figures/screening_workflow/roc.png"

# %%
# .. image:: /_static/figures/screening_workflow/roc.png
#    :alt: ROC curve on the test split with the screening operating point marked
#    :width: 48%
#
# .. image:: /_static/figures/screening_workflow/precision_recall.png
#    :alt: Precision-recall curve on the test split with the screening operating point marked
#    :width: 48%
#
# Made by the command in the note at the end of this page.
#
# The confusion matrix at the screening threshold
# -----------------------------------------------

curves["confusion_matrix"].savefig(out / "confusion_matrix.png")

# %%
# .. image:: /_static/figures/screening_workflow/confusion_matrix.png
#    :alt: Confusion matrix of the test split at the screening threshold
#    :width: 48%
#
# Reliability: raw scores against calibrated probabilities
# --------------------------------------------------------
# Calibration was fitted on the validation patients; the diagram shows the
# test split.



def plot_calibration(y_true, scores):
    """Reliability diagrams of several scores of the same films, on one axes."""
    fig, ax = plt.subplots(figsize=(6, 6), layout="constrained")
    for name, score in scores.items():
        plot_reliability(y_true, score, name=name, ax=ax, pos_label=POSITIVE)
    return fig


scores = {"raw": test_score, **{method: calibrator.predict_proba(X_test)[:, 1]
                                for method, calibrator in calibrated.items()}}
plot_calibration(y_test, scores).savefig(out / "reliability.png")

# %%
# .. image:: /_static/figures/screening_workflow/reliability.png
#    :alt: Reliability diagram of raw, sigmoid- and isotonic-calibrated scores on the test split
#    :width: 48%
#
# Where the network looked: HiResCAM overlays
# -------------------------------------------
# Four correct calls (top row) and four errors (bottom row), picked at random
# from the test split. These overlays are drawn over the dataset's films,
# which this repository does not redistribute: run the script to see them.

predicted = np.where(test_score >= threshold, POSITIVE, "NORMAL")
rng = np.random.default_rng(0)
picks = []
for correct in (True, False):
    pool = np.flatnonzero((predicted == y_test) == correct)
    picks += list(rng.choice(pool, size=min(4, len(pool)), replace=False))
heatmaps = gradcam(model, X_test[picks])
titles = [f"true {y_test[i]}\nP(pneumonia) {test_score[i]:.2f}" for i in picks]
plot_gradcam(X_test[picks], heatmaps, titles=titles, ncols=4).savefig(out / "gradcam.png")
print(f"figures in {out}/ (top row: correct calls, bottom row: errors)")
plt.show()

# %%
# .. note::
#
#    The figures on this page were made by
#
#    .. code-block:: bash
#
#        python examples/screening_workflow.py --quick --out /tmp/screening \
#            | sed 's/\x1b\[[0-9;]*m//g' > docs/_static/figures/screening_workflow/output.txt
#        cp /tmp/screening/{roc,precision_recall,confusion_matrix,reliability}.png \
#           docs/_static/figures/screening_workflow/
#
#    (``gradcam.png`` is left out on purpose; see ``docs/_static/figures/README.md``).
