"""
==========================================================
The original project's CNN+FC, with class weights
==========================================================

The original project's network with its hyperparameters: three 5x5 conv
blocks (16, 32, 56 filters, ReLU, 2x2 max-pool), FC 512 -> 2, SGD momentum
0.9, lr 0.015, batch 54: CXRClassifier's defaults. Where the original deleted
images to balance classes, this uses ``class_weight="balanced"`` (also a
default).

.. code-block:: bash

    python examples/original_cnn.py --quick   # all 5,216 images at 96 px, 3 epochs: a CPU works
    python examples/original_cnn.py           # 224 px, 30 epochs (use a GPU)

How long ``--quick`` took, and on which machine: ``docs/_static/figures/README.md``;
the full run is the ``original`` row of the H100 table on the Benchmarks page.

``--out FOLDER`` also saves the figure there as a PNG file. The documentation
build does not run this example (it trains a network); the figure on this
page was made by the command written under it.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator
from sklearn.pipeline import make_pipeline

from skcxr import CXRClassifier, ImageLoader
from skcxr.datasets import load_chest_xray
from skcxr.metrics import screening_report

parser = argparse.ArgumentParser(
    description="The original project's CNN+FC with its hyperparameters, and class weights.")
parser.add_argument("--quick", action="store_true", help="96 px, 3 epochs (a CPU works)")
parser.add_argument("--out", help="folder to save the figure in, as a PNG file")
args = parser.parse_args()
size, epochs = (96, 3) if args.quick else (224, 30)

# %%
# Train on the training split, score the test split
# -------------------------------------------------
# The ``original`` preset is the original network and optimiser. Passing the
# patient ids makes the classifier's early-stopping validation split keep
# each patient's films together.

train, test = load_chest_xray(subset="train"), load_chest_xray(subset="test")
model = make_pipeline(ImageLoader(size=size, n_jobs=-1),
                      CXRClassifier.from_preset("original", max_epochs=epochs,
                                                random_state=0, verbose=1))
model.fit(train.data, train.target, cxrclassifier__groups=train.groups)
print(screening_report(test.target, model.predict_proba(test.data)[:, 1], threshold=0.5,
                       groups=test.groups, random_state=0))

# %%
# .. literalinclude:: /_static/figures/original_cnn/output.txt
#    :language: none
#    :caption: Printed by the command that made the figure below (machine, load: figures README)
#
# How training went
# -----------------
# ``history_`` holds a row per epoch: the training loss, and the loss and ROC
# AUC on the validation patients. Early stopping keeps the weights of the
# epoch with the lowest validation loss (dotted line).


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


fig = plot_training_curves(model[-1].history_, f"Original CNN+FC, {size} px")
if args.out:
    Path(args.out).mkdir(parents=True, exist_ok=True)
    fig.savefig(Path(args.out) / "training_curves.png", dpi=100, bbox_inches="tight")
plt.show()
# sphinx_gallery_thumbnail_path = "_static/figures/original_cnn/training_curves.png"

# %%
# .. figure:: /_static/figures/original_cnn/training_curves.png
#    :alt: Training and validation loss, and validation ROC AUC, per epoch
#
#    Made by ``python examples/original_cnn.py --quick --out docs/_static/figures/original_cnn``
#    on a 2-core CPU; its printed output is kept as ``output.txt`` beside the figure
#    (see ``docs/_static/figures/README.md``).
