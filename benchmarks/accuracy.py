"""Accuracy benchmark on the Kermany test split, measured the honest way.

Every model trains on the training split only. 10% of the training *patients*
are held out to choose the screening threshold (the highest one reaching the
target sensitivity on them); each CXRClassifier also stops early on its own
patient-grouped split of the rest. The 624-image test split is scored once per
model, at the default decision rule and at the validation-chosen threshold,
with patient-level bootstrap 95% confidence intervals. Nothing is chosen on
test labels.

Writes ``<out>/accuracy.json`` (machine-readable) and ``<out>/accuracy.md``
(the table for the README), adding each row as soon as it is done.

    python benchmarks/accuracy.py                                  # GPU: 224 px, 30 epochs
    python benchmarks/accuracy.py --size 128 --epochs 10 --models svm original recommended
"""

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import LinearSVC

from skcxr import CXRClassifier, ImageLoader
from skcxr.classifier import RandomAugment
from skcxr.classifier._classifier import resolve_device
from skcxr.datasets import load_chest_xray
from skcxr.metrics import screening_report, select_threshold

METRICS = ("auc", "accuracy", "sensitivity", "specificity", "ppv", "npv")


def flatten(X):
    return X.reshape(len(X), -1)


def svm_baseline():
    """The original project's baseline: a linear SVM on flattened 64 px pixels."""
    return make_pipeline(ImageLoader(size=64, n_jobs=-1), FunctionTransformer(flatten),
                         StandardScaler(), LinearSVC(C=1e-3, class_weight="balanced"))


def torchvision_classifier(arch, epochs):
    return CXRClassifier(arch, optimizer=torch.optim.AdamW, lr=1e-3, batch_size=32,
                         max_epochs=epochs, patience=8, random_state=0,
                         augmentation=RandomAugment(contrast=0.45, gamma=0.45, brightness=0.15))


MODELS = {
    "svm": ("Linear SVM on 64 px pixels (original baseline)", None),
    "original": ("CXRNet, original hyperparameters + class weights",
                 lambda e: CXRClassifier.from_preset("original", max_epochs=e, random_state=0)),
    "recommended": ("skcxr recommended recipe",
                    lambda e: CXRClassifier.from_preset("recommended", max_epochs=e, random_state=0)),
    "resnet18": ("ResNet-18 from scratch", lambda e: torchvision_classifier("resnet18", e)),
    "densenet121": ("DenseNet-121 from scratch", lambda e: torchvision_classifier("densenet121", e)),
}


def commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def evaluate(name, model, data, args, pixels):
    train_idx, val_idx, train, test = data["fit"], data["val"], data["train"], data["test"]
    start = time.perf_counter()
    if name == "svm":
        model.fit(train.data[train_idx], train.target[train_idx])
        val_score = model.decision_function(train.data[val_idx])
        test_score = model.decision_function(test.data)
        default_threshold = 0.0  # LinearSVC.predict's rule
        train_seconds = time.perf_counter() - start
    else:
        model.fit(pixels["train"][train_idx], train.target[train_idx],
                  groups=train.groups[train_idx])
        train_seconds = time.perf_counter() - start
        val_score = model.predict_proba(pixels["train"][val_idx])[:, 1]
        test_score = model.predict_proba(pixels["test"])[:, 1]
        default_threshold = 0.5
    threshold = select_threshold(train.target[val_idx], val_score,
                                 min_sensitivity=args.target_sensitivity)
    reports = {
        label: screening_report(test.target, test_score, threshold=t, groups=test.groups,
                                n_bootstraps=1000, random_state=0, output_dict=True)
        for label, t in (("default", default_threshold), ("screening", threshold))
    }
    epochs = None if name == "svm" else len(model.history)
    return dict(
        model=name, description=MODELS[name][0], train_seconds=round(train_seconds, 1),
        epochs_run=epochs, size=64 if name == "svm" else args.size,
        default_threshold=default_threshold, screening_threshold=threshold,
        validation_auc=roc_auc_score(train.target[val_idx], val_score),
        validation_sensitivity_target=args.target_sensitivity, **reports,
    )


def markdown(rows, meta):
    def cell(report, key):
        entry = report[key]
        return f"{entry['value']:.3f}"

    lines = [
        f"Device: {meta['device']}; commit {meta['commit']}; {meta['date']}. Test split: 624 images "
        f"of 427 patients; 95% CIs from 1,000 patient-level bootstrap resamples. Screening "
        f"threshold: the highest reaching {meta['target']:.0%} sensitivity on the 10% of training "
        f"patients held out.",
        "",
        "| model | px | epochs | train time | val AUC | test AUC (95% CI) | acc | sens | spec | PPV "
        "| NPV | screening thr | acc | sens | spec | PPV | NPV |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        d, s = row["default"], row["screening"]
        auc = d["auc"]
        lines.append(
            f"| {row['description']} | {row['size']} | {row['epochs_run'] or '-'} | "
            f"{row['train_seconds'] / 60:.1f} min | {row.get('validation_auc', float('nan')):.3f} | "
            f"{auc['value']:.3f} "
            f"({auc['ci_low']:.3f}-{auc['ci_high']:.3f}) | "
            + " | ".join(cell(d, k) for k in METRICS[1:])
            + f" | {row['screening_threshold']:.3g} | "
            + " | ".join(cell(s, k) for k in METRICS[1:]) + " |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--target-sensitivity", type=float, default=0.97)
    parser.add_argument("--out", default="results")
    args = parser.parse_args()

    train, test = load_chest_xray(subset="train"), load_chest_xray(subset="test")
    splitter = GroupShuffleSplit(n_splits=1, test_size=0.1, random_state=0)
    fit_idx, val_idx = next(splitter.split(train.data, train.target, train.groups))
    data = dict(train=train, test=test, fit=fit_idx, val=val_idx)
    pixels = {}
    if any(m != "svm" for m in args.models):
        loader = ImageLoader(size=args.size, n_jobs=-1)
        pixels = {"train": loader.fit_transform(train.data), "test": loader.transform(test.data)}

    device = resolve_device("auto")
    meta = dict(
        device=(torch.cuda.get_device_name() if device == "cuda"
                else f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"),
        commit=commit(), date=time.strftime("%Y-%m-%d"), target=args.target_sensitivity,
        size=args.size, max_epochs=args.epochs, torch=torch.__version__,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.models:
        factory = MODELS[name][1]
        model = svm_baseline() if name == "svm" else factory(args.epochs)
        row = evaluate(name, model, data, args, pixels)
        rows.append(row)
        d = row["default"]
        print(f"{name}: test AUC {d['auc']['value']:.3f}, sens/spec at default "
              f"{d['sensitivity']['value']:.3f}/{d['specificity']['value']:.3f}, at screening "
              f"{row['screening']['sensitivity']['value']:.3f}/"
              f"{row['screening']['specificity']['value']:.3f}, {row['train_seconds']:.0f} s",
              flush=True)
        (out / "accuracy.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
        (out / "accuracy.md").write_text(markdown(rows, meta))
    print(markdown(rows, meta))


if __name__ == "__main__":
    main()
