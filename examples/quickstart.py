"""Quickstart: train a screening model, fix its operating point, report on test.

The whole job in a few lines of ordinary scikit-learn:

1. load the Kermany training split (paths, labels, patient ids);
2. hold out 15% of the training *patients* to choose the operating point;
3. fit ImageLoader -> CXRClassifier on the rest (its own early-stopping
   split is also by patient);
4. pick the threshold that reaches 97% sensitivity on the held-out patients;
5. evaluate once on the test split, at 0.5 and at that threshold, with
   patient-level bootstrap 95% confidence intervals.

Run from the repository root (data from $SKCXR_DATA, e.g. ../shared/data)::

    python examples/quickstart.py --quick   # ~3-4 min on 2 CPU cores: 1,500 images, 96 px
    python examples/quickstart.py           # all 5,216 images, 224 px (use a GPU: ~2 min on an H100)
"""

import argparse
import time

import numpy as np
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.utils import Bunch

from skcxr import CXRClassifier, ImageLoader
from skcxr.datasets import load_chest_xray
from skcxr.metrics import screening_report, select_threshold

TARGET_SENSITIVITY = 0.97


def split_patients(bunch, test_size, seed):
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    return next(splitter.split(bunch.data, bunch.target, bunch.groups))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="1,500 training images at 96 px, 6 epochs: minutes on a CPU")
    args = parser.parse_args()
    size, epochs = (96, 6) if args.quick else (224, 30)

    train = load_chest_xray(subset="train")
    test = load_chest_xray(subset="test")
    labels = train.target_names  # predict "NORMAL" / "PNEUMONIA", not 0 / 1
    if args.quick:  # a random subset of whole patients
        _, keep = split_patients(train, 1500 / len(train.data), seed=0)
        train = Bunch(**{k: train[k][keep] for k in ("data", "target", "groups")})
    fit_idx, val_idx = split_patients(train, 0.15, seed=0)

    model = make_pipeline(
        ImageLoader(size=size, n_jobs=-1),
        CXRClassifier.from_preset("recommended", max_epochs=epochs, random_state=0, verbose=1),
    )
    start = time.perf_counter()
    model.fit(train.data[fit_idx], labels[train.target[fit_idx]],
              cxrclassifier__groups=train.groups[fit_idx])
    print(f"trained in {time.perf_counter() - start:.0f} s")

    val_score = model.predict_proba(train.data[val_idx])[:, 1]
    threshold = select_threshold(labels[train.target[val_idx]], val_score,
                                 min_sensitivity=TARGET_SENSITIVITY, pos_label="PNEUMONIA")
    print(f"screening threshold for {TARGET_SENSITIVITY:.0%} validation sensitivity: {threshold:.3f}")

    test_score = model.predict_proba(test.data)[:, 1]
    for name, t in (("default threshold 0.5", 0.5), ("screening threshold", threshold)):
        print(f"\n== Test split, {name} ==")
        print(screening_report(labels[test.target], test_score, threshold=t,
                               pos_label="PNEUMONIA", groups=test.groups, random_state=0))
    print("\nA screening aid flags films for earlier review; it never replaces the radiologist.")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
