"""
====================================================================
Patient-grouped search over learning rate, width and augmentation
====================================================================

Tune learning rate, network width and augmentation with GridSearchCV by
patient. GroupKFold keeps each patient's films in one fold. With
scikit-learn's metadata routing on, the same patient ids reach the splitter
and the classifier's own early-stopping split. ImageLoader is cached
(``Pipeline(memory=...)``) so images are decoded once for the whole search.
On a GPU keep ``n_jobs=1`` (one model at a time on the device).

.. code-block:: bash

    python examples/grid_search.py --quick   # 600 images, 64 px, 2 epochs, 4 settings: a CPU works
    python examples/grid_search.py           # full grid at 128 px (use a GPU)

How long ``--quick`` took, and on which machine: ``docs/_static/figures/README.md``.

``--out FOLDER`` also saves the figure there as a PNG file. The documentation
build does not run this example (it trains a network per setting and fold);
the figure on this page was made by the command written under it.
"""

import argparse
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit
from sklearn.pipeline import Pipeline

from skcxr import CXRClassifier, ImageLoader
from skcxr.datasets import load_chest_xray

parser = argparse.ArgumentParser(
    description="Tune learning rate, network width and augmentation with GridSearchCV by patient.")
parser.add_argument("--quick", action="store_true",
                    help="600 images, 64 px, 2 epochs, 4 settings (a CPU works)")
parser.add_argument("--out", help="folder to save the figure in, as a PNG file")
args = parser.parse_args()
sklearn.set_config(enable_metadata_routing=True)

# %%
# The data and the grid
# ---------------------
# ``--quick`` keeps 600 films of whole patients and a small grid.

train = load_chest_xray(subset="train")
X, y, groups = train.data, train.target, train.groups
if args.quick:
    _, keep = next(GroupShuffleSplit(1, test_size=600 / len(X), random_state=0)
                   .split(X, y, groups))
    X, y, groups = X[keep], y[keep], groups[keep]
size, epochs = (64, 2) if args.quick else (128, 15)
grid = {
    "clf__lr": [0.015] if args.quick else [0.005, 0.015, 0.03],
    "clf__module__channels": [(16, 32, 56), (32, 64, 112)],
    "clf__augmentation": [0.5, 1.5] if args.quick else [0.0, 0.5, 1.0, 2.0],
}

# %%
# Search, grouped by patient
# --------------------------
# ``groups`` goes to GroupKFold and, through metadata routing, to each
# CXRClassifier's early-stopping split (``set_fit_request(groups=True)``).

with tempfile.TemporaryDirectory() as cache:
    pipe = Pipeline([
        ("load", ImageLoader(size=size, n_jobs=-1)),
        ("clf", CXRClassifier(max_epochs=epochs, random_state=0).set_fit_request(groups=True)),
    ], memory=cache)
    search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=3), scoring="roc_auc", n_jobs=1)
    search.fit(X, y, groups=groups)
order = np.argsort(-search.cv_results_["mean_test_score"])
for i in order:
    print(f"{search.cv_results_['mean_test_score'][i]:.3f} "
          f"+/- {search.cv_results_['std_test_score'][i]:.3f}  {search.cv_results_['params'][i]}")
print("best:", search.best_params_)

# %%
# .. literalinclude:: /_static/figures/grid_search/output.txt
#    :language: none
#    :caption: Printed by the command that made the figure below
#
# The settings side by side
# -------------------------
# Mean ROC AUC over the three patient-grouped folds, with one standard
# deviation across folds: differences smaller than the bars are not worth a
# decision.



def plot_cv_scores(results, grid, title):
    """Each setting's mean ROC AUC over the folds with its SD, best on top."""
    order = np.argsort(-results["mean_test_score"])
    varying = [key for key, values in grid.items() if len(values) > 1]
    names = [", ".join(f"{key.split('__')[-1]}={params[key]}" for key in varying)
             for params in results["params"]]
    fig, ax = plt.subplots(figsize=(7, 1.5 + 0.35 * len(order)), layout="constrained")
    ax.errorbar(results["mean_test_score"][order], np.arange(len(order)),
                xerr=results["std_test_score"][order], fmt="o", capsize=3)
    ax.set_yticks(np.arange(len(order)), [names[i] for i in order])
    ax.invert_yaxis()  # best on top
    ax.set(xlabel="ROC AUC, mean and SD over 3 patient-grouped folds", title=title)
    return fig


fig = plot_cv_scores(search.cv_results_, grid,
                     f"GridSearchCV, {len(X)} films at {size} px, {epochs} epochs")
if args.out:
    Path(args.out).mkdir(parents=True, exist_ok=True)
    fig.savefig(Path(args.out) / "cv_scores.png", dpi=100, bbox_inches="tight")
plt.show()
# sphinx_gallery_thumbnail_path = "_static/figures/grid_search/cv_scores.png"

# %%
# .. figure:: /_static/figures/grid_search/cv_scores.png
#    :alt: Mean cross-validated ROC AUC of each setting, with its spread across folds
#
#    Made by ``python examples/grid_search.py --quick --out docs/_static/figures/grid_search``
#    on a 2-core CPU; its printed output is kept as ``output.txt`` beside the figure
#    (see ``docs/_static/figures/README.md``).
