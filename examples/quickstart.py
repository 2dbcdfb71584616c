"""
=====================================================================
Quickstart: train a screening model, fix its operating point, report
=====================================================================

The whole job in a few lines of ordinary scikit-learn:

1. load the Kermany training split (paths, labels, patient ids);
2. hold out 15% of the training *patients* to choose the operating point;
3. fit ImageLoader -> CXRClassifier on the rest (its own early-stopping
   split is also by patient);
4. pick the threshold that reaches 97% sensitivity on the held-out patients;
5. evaluate once on the test split, at 0.5 and at that threshold, with
   patient-level bootstrap 95% confidence intervals.

Run from the repository root (data from ``$SKCXR_DATA``, e.g. ``../shared/data``):

.. code-block:: bash

    python examples/quickstart.py --quick   # 1,000 images at 96 px, 5 epochs: CPU minutes
    python examples/quickstart.py           # all 5,216 images at 224 px, up to 30 epochs: use a GPU

How long each takes, measured, and on which machine: ``--quick`` in
``docs/_static/figures/README.md``, the full run in ``benchmarks/results/``
(the ``recommended`` row of the H100 table on the Benchmarks page).

``--out FOLDER`` also saves the figures there as PNG files. The
documentation build does not run this example (it trains a network); the
figures on this page were made by the command written under them.
"""

import argparse
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

from skcxr import CXRClassifier, ImageLoader
from skcxr.datasets import load_chest_xray
from skcxr.metrics import screening_report, select_threshold
from skcxr.plot import plot_roc

TARGET_SENSITIVITY = 0.97

parser = argparse.ArgumentParser(
    description="Quickstart: train a screening model, fix its operating point, report on test.")
parser.add_argument("--quick", action="store_true",
                    help="1,000 training images at 96 px, 5 epochs: minutes on a CPU")
parser.add_argument("--out", help="folder to save the figures in, as PNG files")
args = parser.parse_args()
# --quick is what CI runs: small enough to train in minutes on 2 CPU cores.
n_images, size, epochs = (1000, 96, 5) if args.quick else (None, 224, 30)
np.set_printoptions(precision=3)


def save(fig, name):
    """Save ``fig`` as ``--out/NAME.png`` when ``--out`` was given."""
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(args.out) / f"{name}.png", dpi=100, bbox_inches="tight")


# %%
# Load the data and split by patient
# ----------------------------------
# The loader returns file paths, labels and patient ids (``groups``). A
# patient's films stay together on one side of every split.


def split_patients(bunch, test_size, seed):
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    return next(splitter.split(bunch.data, bunch.target, bunch.groups))


train = load_chest_xray(subset="train")
test = load_chest_xray(subset="test")
labels = train.target_names  # predict "NORMAL" / "PNEUMONIA", not 0 / 1
if n_images:  # a random subset of whole patients
    _, keep = split_patients(train, n_images / len(train.data), seed=0)
    train = Bunch(**{k: train[k][keep] for k in ("data", "target", "groups")})
fit_idx, val_idx = split_patients(train, 0.15, seed=0)

# %%
# Train
# -----
# ImageLoader decodes the files; CXRClassifier trains the recommended preset
# (ResNet-18 from scratch), early-stopping on its own patient-grouped
# validation split.

model = make_pipeline(
    ImageLoader(size=size, n_jobs=-1),
    CXRClassifier.from_preset("recommended", max_epochs=epochs, random_state=0, verbose=1),
)
start = time.perf_counter()
model.fit(train.data[fit_idx], labels[train.target[fit_idx]],
          cxrclassifier__groups=train.groups[fit_idx])
print(f"trained in {time.perf_counter() - start:.0f} s")

# %%
# How training went
# -----------------
# ``history_`` holds a row per epoch. Early stopping keeps the weights of the
# epoch with the lowest validation loss (dotted line); a validation AUC that
# lags is the sign to refit with another ``random_state``.


def plot_training_curves(history, title):
    """Losses and validation ROC AUC per epoch, from a fitted classifier's ``history_``."""
    epoch = np.array(history[:, "epoch"])
    valid_loss = np.array(history[:, "valid_loss"])
    fig, (ax_loss, ax_auc) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
    ax_loss.plot(epoch, history[:, "train_loss"], "o-", label="training")
    ax_loss.plot(epoch, valid_loss, "o-", label="validation patients")
    ax_loss.set(xlabel="epoch", ylabel="loss")
    ax_auc.plot(epoch, history[:, "valid_auc"], "o-", color="C2")
    ax_auc.set(xlabel="epoch", ylabel="validation ROC AUC")
    for ax in (ax_loss, ax_auc):
        ax.axvline(epoch[np.argmin(valid_loss)], ls=":", color="grey",
                   label="weights kept (lowest validation loss)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*ax_loss.get_legend_handles_labels(), loc="outside lower center", ncols=3)
    fig.suptitle(title)
    return fig


fig = plot_training_curves(model[-1].history_, f"ResNet-18 from scratch, {size} px")
save(fig, "training_curves")

# %%
# .. figure:: /_static/figures/quickstart/training_curves.png
#    :alt: Training and validation loss, and validation ROC AUC, per epoch
#
#    Made by ``python examples/quickstart.py --quick --out docs/_static/figures/quickstart``
#    on a 2-core CPU; its printed output is kept as ``output.txt`` beside the figure
#    (see ``docs/_static/figures/README.md``).
#
# Choose the operating point on held-out patients
# -----------------------------------------------
# The highest threshold that still flags 97% of the pneumonia films of the
# validation patients. No test label takes part.

val_score = model.predict_proba(train.data[val_idx])[:, 1]
threshold = select_threshold(labels[train.target[val_idx]], val_score,
                             min_sensitivity=TARGET_SENSITIVITY, pos_label="PNEUMONIA")
print(f"screening threshold for {TARGET_SENSITIVITY:.0%} validation sensitivity: {threshold:.3f}")

# %%
# Report once on the test split
# -----------------------------
# At the default 0.5 and at the screening threshold, with 95% intervals from
# resampling test patients.

test_score = model.predict_proba(test.data)[:, 1]
for name, t in (("default threshold 0.5", 0.5), ("screening threshold", threshold)):
    print(f"\n== Test split, {name} ==")
    print(screening_report(labels[test.target], test_score, threshold=t,
                           pos_label="PNEUMONIA", groups=test.groups, random_state=0))
print("\nA screening aid flags films for earlier review; it never replaces the radiologist.")



def plot_test_roc(y_true, score, threshold):
    """The test split's ROC curve with the threshold chosen on validation patients."""
    display = plot_roc(y_true, score, threshold=threshold, pos_label="PNEUMONIA",
                       name="ResNet-18")
    display.ax_.set_title("Test split, with the threshold chosen on validation patients")
    return display.figure_


save(plot_test_roc(labels[test.target], test_score, threshold), "roc")
plt.show()
# sphinx_gallery_thumbnail_path = "_static/figures/quickstart/roc.png"

# %%
# .. figure:: /_static/figures/quickstart/roc.png
#    :alt: ROC curve on the test split with the screening operating point marked
#
#    Made by ``python examples/quickstart.py --quick --out docs/_static/figures/quickstart``.
#
# .. literalinclude:: /_static/figures/quickstart/output.txt
#    :language: none
#    :caption: Printed by the command that made the figures on this page (machine, load: figures README)
