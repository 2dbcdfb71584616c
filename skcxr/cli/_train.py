"""``skcxr train``: an image folder to a screener with its threshold and model card."""

import datetime
import os
import shlex
import sys
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from ..classifier import CXRClassifier
from ..classifier._split import holdout_indices
from ..guard import InputGuard
from ..metrics import select_threshold, sensitivity_score, specificity_score
from ..preprocessing import ImageLoader
from ..screener import Screener, discover_files, patient_groups
from ._models import UsageError

INTENDED_USE = (
    "A preliminary screening aid that puts films likely to show {positive} first in the "
    "reading queue for radiologist review. It does not diagnose and never rules a film out. "
    "Trained and validated only on films from {data}; it has not been validated on other "
    "sites, devices, age groups or views."
)


def run_train(args):
    """``skcxr train DATA_DIR --out MODEL``; returns the exit status."""
    started = time.perf_counter()
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"--out {args.out!r}: folder {str(out.parent)!r} does not exist.")
    if not 0 < args.validation_fraction < 0.5:
        raise UsageError(
            f"--validation-fraction must be in (0, 0.5); got {args.validation_fraction}.")
    if args.size < 32:
        raise UsageError(f"--size must be at least 32 pixels; got {args.size}.")
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1; got {args.epochs}.")
    if not 0 < args.guard_false_rejection < 1:
        raise UsageError(
            f"--guard-false-rejection must be in (0, 1); got {args.guard_false_rejection}.")
    if not 0 < args.sensitivity <= 1:
        raise UsageError(f"--sensitivity must be in (0, 1]; got {args.sensitivity}.")
    files, labels, classes = _image_folder(args.data_dir)
    if args.positive not in classes:
        raise UsageError(
            f"--positive {args.positive!r} is not one of the class folders {classes}.")
    groups, n_named = patient_groups(files)
    _say(f"{len(files)} films in {len(classes)} classes: "
         + ", ".join(f"{c} {np.sum(labels == c)}" for c in classes)
         + f"; {len(set(groups))} patients")
    if n_named < len(files):
        _say(f"patient ids: {n_named} of {len(files)} file names give one (Kermany naming); "
             f"each of the other {len(files) - n_named} files counts as its own patient, so "
             "films of one patient may fall on both sides of the validation split.")

    # Held-out patients choose the threshold; the network never sees them.
    fit_idx, val_idx = holdout_indices(labels, groups, args.validation_fraction, args.seed)
    _say(f"threshold chosen on {len(val_idx)} films of {len(set(groups[val_idx]))} held-out "
         f"patients; fitting on {len(fit_idx)} films of {len(set(groups[fit_idx]))} patients")

    loader = ImageLoader(size=args.size, n_jobs=-1).fit(files)
    X = loader.transform(files)  # raises naming any unreadable file: training drops nothing
    params = {"random_state": args.seed, "verbose": 1}
    if args.epochs is not None:
        params["max_epochs"] = args.epochs
    classifier = CXRClassifier.from_preset(args.preset, **params)
    classifier.fit(X[fit_idx], labels[fit_idx], groups=groups[fit_idx])

    val_score = classifier.predict_proba(X[val_idx])[:, list(classifier.classes_).index(
        args.positive)]
    threshold = select_threshold(labels[val_idx], val_score, min_sensitivity=args.sensitivity,
                                 pos_label=args.positive)
    negative = next(c for c in classes if c != args.positive)
    y_val, y_pred = labels[val_idx], np.where(val_score >= threshold, args.positive, negative)
    validation = {
        "films": int(len(val_idx)),
        "patients": int(len(set(groups[val_idx]))),
        "auc": float(roc_auc_score(y_val == args.positive, val_score)),
        "sensitivity": float(sensitivity_score(y_val, y_pred, pos_label=args.positive)),
        "specificity": float(specificity_score(y_val, y_pred, pos_label=args.positive)),
    }
    # The input guard learns what the network's training films look like (its
    # features and small thumbnails); its own threshold is set on patients it
    # holds out of the fitting films, for a false-rejection rate of
    # max_false_rejection (see skcxr.guard.InputGuard).
    guard = None
    if not args.no_guard:
        guard = InputGuard(classifier, max_false_rejection=args.guard_false_rejection,
                           random_state=args.seed)
        try:
            guard.fit(X[fit_idx], groups=groups[fit_idx])
        except ValueError as exc:
            # Too few films to set its threshold: say how to go on, write nothing.
            raise ValueError(f"the input guard cannot be fitted: {exc} Or pass --no-guard "
                             "to write a screener without one.") from exc
        _say(f"input guard fitted: it refuses about {guard.max_false_rejection:.0%} of films "
             "like the training films, and films unlike them")
    else:
        _say("--no-guard: the screener has no input guard")
    del X

    pipeline = Pipeline([("imageloader", loader), ("cxrclassifier", classifier)])
    card = _card(args, out, classes, labels, groups, n_named, fit_idx, validation, threshold,
                 classifier)
    card["input_guard"] = None if guard is None else {
        "max_false_rejection": guard.max_false_rejection,
        "threshold": float(guard.threshold_),
        "fitted_on": f"{len(fit_idx)} fitting films; threshold on patients it held out"}
    screener = Screener(pipeline, threshold=threshold, pos_label=args.positive, guard=guard,
                        card=card)
    joblib.dump(screener, out)
    _say(f"validation ({validation['patients']} patients): AUC {validation['auc']:.3f}; at "
         f"threshold {threshold:.4g}: sensitivity {validation['sensitivity']:.3f}, "
         f"specificity {validation['specificity']:.3f}")
    _say(f"wrote {out} in {(time.perf_counter() - started) / 60:.1f} min; screen with: "
         f"skcxr screen FOLDER --model {shlex.quote(str(out))}")
    return 0


def _image_folder(data_dir):
    """Files, labels and class names of ``data_dir/<class>/...`` (files recognised by content)."""
    root = Path(data_dir)
    if not root.is_dir():
        raise UsageError(f"DATA_DIR {data_dir!r} is not a folder.")
    files, _ = discover_files([root])
    by_folder = {}
    outside = 0
    for f in files:
        parts = Path(os.path.relpath(f, root)).parts
        if len(parts) < 2:
            outside += 1
            continue
        by_folder.setdefault(parts[0], []).append(f)
    classes = sorted(by_folder)
    if len(classes) != 2:
        raise UsageError(
            f"DATA_DIR {data_dir!r} needs exactly two class folders holding films (e.g. "
            f"NORMAL/ and PNEUMONIA/); found {classes or 'none'}.")
    if outside:
        _say(f"ignoring {outside} file(s) directly in {data_dir} (not in a class folder)")
    paths = [f for c in classes for f in by_folder[c]]
    labels = np.asarray([c for c in classes for _ in by_folder[c]], dtype=object)
    return paths, labels, classes


def _card(args, out, classes, labels, groups, n_named, fit_idx, validation, threshold,
          classifier):
    from .. import __version__

    data = os.path.abspath(args.data_dir)
    history = classifier.history_
    return {
        "name": out.stem,
        "title": f"{args.preset} preset ({classifier.module}), {args.size} px, "
                 f"trained with skcxr train on {Path(data).name}",
        "intended_use": INTENDED_USE.format(positive=args.positive, data=data),
        "not_validated_on": "anything but held-out patients of the training folder: other "
                            "sites, devices, adults, lateral views, CT",
        "threshold": float(threshold),
        "threshold_rule": (
            f"the highest threshold reaching {args.sensitivity:.0%} sensitivity on "
            f"{validation['patients']} held-out training patients ({validation['films']} "
            f"films, {args.validation_fraction:.0%} of the patients); no test data used"),
        "pos_label": args.positive,
        "command": args.command_line,
        "data": data,
        "classes": list(classes),
        "counts": {str(c): int(np.sum(labels == c)) for c in classes},
        "patients": int(len(set(groups))),
        "patient_ids": f"{n_named} of {len(labels)} files named by Kermany patient id; "
                       "others one patient per file",
        "fit": {"films": int(len(fit_idx)), "patients": int(len(set(groups[fit_idx])))},
        "validation": validation,
        "preset": args.preset,
        "size": int(args.size),
        "epochs_run": int(len(history)) if history is not None else None,
        "seed": args.seed,
        "skcxr_version": __version__,
        "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def _say(message):
    print(f"skcxr train: {message}", file=sys.stderr)
