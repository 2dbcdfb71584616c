"""Tune learning rate, network width and augmentation with GridSearchCV by patient.

GroupKFold keeps each patient's films in one fold. With scikit-learn's
metadata routing on, the same patient ids reach the splitter and the
classifier's own early-stopping split. ImageLoader is cached
(``Pipeline(memory=...)``) so images are decoded once for the whole search.
On a GPU keep ``n_jobs=1`` (one model at a time on the device).

    python examples/grid_search.py --quick   # 600 images, 64 px, 2 epochs, 4 settings: ~1 min on a CPU
    python examples/grid_search.py           # full grid at 128 px (use a GPU)
"""

import argparse
import tempfile

import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit
from sklearn.pipeline import Pipeline

from skcxr import CXRClassifier, ImageLoader
from skcxr.datasets import load_chest_xray


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sklearn.set_config(enable_metadata_routing=True)

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


if __name__ == "__main__":
    main()
