"""The screening workflow, end to end, with pictures.

1. Fit ImageLoader -> CXRClassifier on 85% of the training patients.
2. On the other 15% (validation patients): choose the threshold reaching 97%
   sensitivity, wrap the model in FixedThresholdClassifier, and calibrate a
   copy with CalibratedClassifierCV (sigmoid and isotonic) on the same patients.
3. Report once on the test split with patient-level 95% CIs.
4. Save ROC and PR curves with the operating point, the confusion matrix,
   a reliability diagram (raw vs calibrated) and HiResCAM overlays for a few
   correct and incorrect test cases.

    python examples/screening_workflow.py --quick   # 1,500 images at 96 px: minutes on a CPU
    python examples/screening_workflow.py           # all images at 224 px (use a GPU)
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.calibration import CalibratedClassifierCV  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.model_selection import FixedThresholdClassifier, GroupShuffleSplit  # noqa: E402

from skcxr import CXRClassifier, ImageLoader  # noqa: E402
from skcxr.datasets import load_chest_xray  # noqa: E402
from skcxr.explain import gradcam  # noqa: E402
from skcxr.metrics import screening_report, select_threshold  # noqa: E402
from skcxr.plot import (  # noqa: E402
    plot_confusion_matrix,
    plot_gradcam,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
)

POSITIVE = "PNEUMONIA"


def patient_split(y, groups, test_size, seed=0):
    index = np.arange(len(y))
    return next(GroupShuffleSplit(1, test_size=test_size, random_state=seed).split(index, y, groups))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="screening_figures")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    size, epochs = (96, 6) if args.quick else (224, 30)

    train, test = load_chest_xray(subset="train"), load_chest_xray(subset="test")
    names = train.target_names
    idx = np.arange(len(train.data))
    if args.quick:
        _, idx = patient_split(train.target, train.groups, 1500 / len(idx))
    loader = ImageLoader(size=size, n_jobs=-1)
    X, y, groups = loader.fit_transform(train.data[idx]), names[train.target[idx]], train.groups[idx]
    X_test, y_test = loader.transform(test.data), names[test.target]
    fit, val = patient_split(y, groups, 0.15)

    model = CXRClassifier.from_preset("original", max_epochs=epochs, random_state=0, verbose=1)
    model.fit(X[fit], y[fit], groups=groups[fit])
    val_score = model.predict_proba(X[val])[:, 1]
    threshold = select_threshold(y[val], val_score, min_sensitivity=0.97, pos_label=POSITIVE)
    screen = FixedThresholdClassifier(FrozenEstimator(model), threshold=threshold,
                                      pos_label=POSITIVE).fit(X[val], y[val])
    calibrated = {m: CalibratedClassifierCV(FrozenEstimator(model), method=m).fit(X[val], y[val])
                  for m in ("sigmoid", "isotonic")}

    test_score = model.predict_proba(X_test)[:, 1]
    print(f"threshold {threshold:.3f} (97% sensitivity on {len(np.unique(groups[val]))} "
          "validation patients)")
    print(screening_report(y_test, test_score, threshold=threshold, pos_label=POSITIVE,
                           groups=test.groups, random_state=0))
    flagged = screen.predict(X_test) == POSITIVE
    print(f"FixedThresholdClassifier flags {flagged.sum()} of {len(flagged)} test films for review")

    kwargs = dict(pos_label=POSITIVE)
    plot_roc(y_test, test_score, threshold=threshold, name="CXRNet", **kwargs).figure_.savefig(out / "roc.png")
    plot_precision_recall(y_test, test_score, threshold=threshold, name="CXRNet",
                          **kwargs).figure_.savefig(out / "precision_recall.png")
    plot_confusion_matrix(y_test, test_score, threshold=threshold, **kwargs).figure_.savefig(
        out / "confusion_matrix.png")
    fig, ax = plt.subplots(figsize=(6, 6))
    plot_reliability(y_test, test_score, name="raw", ax=ax, **kwargs)
    for method, calibrator in calibrated.items():
        plot_reliability(y_test, calibrator.predict_proba(X_test)[:, 1], name=method, ax=ax, **kwargs)
    fig.savefig(out / "reliability.png")

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


if __name__ == "__main__":
    main()
