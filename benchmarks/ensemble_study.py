"""Seed ensembles and test-time augmentation of finished accuracy runs, without refitting.

Reads a results folder of ``benchmarks/accuracy.py`` run with ``--keep-scores``
(per-image validation and test scores in accuracy.json) and, for TTA, with
``--save-models DIR`` (each network's weights as ``<model>-seed<k>.pt``). For every
model trained with several seeds it adds:

* ``<model>_seed_ensemble``: the mean of the members' stored scores (no network needed);
* ``<model>_tta``, one per seed: the saved network rebuilt and scored with
  :class:`skcxr.ensemble.TestTimeAugmentation` (its default five views);
* ``<model>_tta_seed_ensemble``: the mean of the members' TTA scores, which is
  what ``TestTimeAugmentation(SeedEnsembleClassifier.from_fitted(members))``
  computes (the mean over views and over members commute; tests check it).

Each row is scored as accuracy.py scores its rows (``score_row``): the threshold
is the highest reaching the run's target sensitivity on the validation patients,
the test split is reported at it with patient-level bootstrap CIs. Nothing is
chosen on test labels. A rebuilt network must reproduce its stored validation
scores before it is used.

Writes ``<out>/ensemble_study.json`` and ``<out>/ensemble_study.md`` (the members'
rows followed by the new ones).

    python benchmarks/ensemble_study.py results/                    # models in results/models
    python benchmarks/ensemble_study.py results/ --models-dir DIR
    python benchmarks/ensemble_study.py results/ --no-tta           # score means only
"""

import argparse
import json
import time
from argparse import Namespace
from pathlib import Path

import accuracy
import numpy as np
import torch
from sklearn.frozen import FrozenEstimator

from skcxr import ImageLoader
from skcxr.classifier._classifier import resolve_device
from skcxr.ensemble import TestTimeAugmentation

# A rebuilt network whose validation scores differ more than this from the stored
# ones is not the network that was evaluated (bfloat16 on a GPU moves them ~1e-3).
REPRODUCTION_TOLERANCE = 0.01


def seed_runs(rows):
    """{model: [rows, by seed]} for the networks trained with at least two seeds."""
    runs = {}
    for row in rows:
        if row["model"] in ("svm", "ensemble") or row.get("seed") is None:
            continue
        if "scores" not in row:
            raise ValueError(f"Row {row['model']} (seed {row['seed']}) has no per-image scores; "
                             "rerun benchmarks/accuracy.py with --keep-scores.")
        runs.setdefault(row["model"], []).append(row)
    return {name: sorted(members, key=lambda r: r["seed"])
            for name, members in runs.items() if len(members) >= 2}


def mean_scores(score_sets):
    return {split: np.mean([s[split] for s in score_sets], axis=0) for split in ("val", "test")}


def derived_row(name, model, description, scores, members, data, args):
    row = accuracy.score_row(name, scores["val"], scores["test"], 0.5, data, args)
    row.update(model=model, description=description, seed=None,
               members=[m["seed"] for m in members],
               train_seconds=round(sum(m["train_seconds"] for m in members), 1))
    return row


def load_member(row, meta, classes, path):
    """The network of one accuracy.py row, rebuilt from its saved weights."""
    if not path.is_file():
        raise ValueError(f"No saved weights for {row['model']} seed {row['seed']}: {path} is "
                         "missing (run accuracy.py with --save-models).")
    net = accuracy.MODELS[row["model"]][1](meta["max_epochs"], row["seed"])
    # What fit would have set: the classes and the input shape the weights were made for.
    net.classes_ = classes
    net.input_shape_ = (1, meta["size"], meta["size"])
    net.initialize()
    net.load_params(f_params=path)
    return net


def check_reproduces(net, row, X_val, path):
    stored = np.asarray(row["scores"]["val"])
    difference = np.abs(net.predict_proba(X_val)[:, 1] - stored).max()
    print(f"{path.name}: max difference from the stored validation scores {difference:.2e}",
          flush=True)
    if difference > REPRODUCTION_TOLERANCE:
        raise ValueError(
            f"{path} does not reproduce the validation scores stored in accuracy.json "
            f"(max difference {difference:.3g}): other weights, preset or image size.")


def tta_rows(name, members, meta, data, images, args):
    """One row per member scored with TTA, and their mean; the member TTA scores too."""
    classes = np.unique(data["train"].target)
    rows, scores = [], []
    for member in members:
        path = Path(args.models_dir) / f"{name}-seed{member['seed']}.pt"
        net = load_member(member, meta, classes, path)
        check_reproduces(net, member, images["val"], path)
        start = time.perf_counter()
        tta = TestTimeAugmentation(FrozenEstimator(net)).fit(
            images["val"], data["train"].target[data["val"]])
        member_scores = {split: tta.predict_proba(images[split])[:, 1] for split in ("val", "test")}
        seconds = time.perf_counter() - start
        scores.append(member_scores)
        row = accuracy.score_row(name, member_scores["val"], member_scores["test"], 0.5, data, args)
        row.update(model=f"{name}_tta", seed=member["seed"], train_seconds=member["train_seconds"],
                   epochs_run=member.get("epochs_run"), best_epoch=member.get("best_epoch"),
                   description=f"{accuracy.MODELS[name][0]}, TTA ({len(tta.views_)} views)",
                   tta_views=tta.views_, inference_seconds=round(seconds, 1))
        rows.append(row)
        print(accuracy.summary(row), flush=True)
    both = derived_row(name, f"{name}_tta_seed_ensemble",
                       f"{accuracy.MODELS[name][0]}, TTA + seed ensemble of {len(members)}",
                       mean_scores(scores), members, data, args)
    print(accuracy.summary(both), flush=True)
    return rows + [both]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="folder with accuracy.json from accuracy.py --keep-scores")
    parser.add_argument("--models-dir", default=None,
                        help="saved weights <model>-seed<k>.pt (default: <results>/models)")
    parser.add_argument("--no-tta", action="store_true", help="only the seed ensembles of scores")
    parser.add_argument("--keep-scores", action="store_true", help="write per-image scores too")
    parser.add_argument("--out", default=None, help="output folder (default: results)")
    args = parser.parse_args()
    results = Path(args.results)
    args.models_dir = args.models_dir or results / "models"
    out = Path(args.out or results)
    out.mkdir(parents=True, exist_ok=True)

    source = json.loads((results / "accuracy.json").read_text())
    meta, runs = source["meta"], seed_runs(source["rows"])
    if not runs:
        raise SystemExit(f"{results / 'accuracy.json'} has no network trained with two or more "
                         "seeds; nothing to ensemble.")
    # score_row reads the target sensitivity and image size from the run's own settings.
    score_args = Namespace(target_sensitivity=meta["target"], size=meta["size"])
    data = accuracy.load_data(Namespace(quick=meta["quick"]))
    for members in runs.values():
        for member in members:
            sizes = {split: len(member["scores"][split]) for split in ("val", "test")}
            if sizes != {"val": len(data["val"]), "test": len(data["test"].data)}:
                raise ValueError(f"{member['model']} seed {member['seed']} has {sizes} scores; "
                                 f"this data has {len(data['val'])} validation and "
                                 f"{len(data['test'].data)} test images.")

    images = {}
    if not args.no_tta:
        if resolve_device("auto").type == "cuda":
            torch.backends.cudnn.benchmark = True
        loader = ImageLoader(size=meta["size"], n_jobs=-1)
        images = {"val": loader.fit_transform(data["train"].data[data["val"]]),
                  "test": loader.transform(data["test"].data)}

    rows = []
    for name, members in runs.items():
        rows += members
        row = derived_row(name, f"{name}_seed_ensemble",
                          f"{accuracy.MODELS[name][0]}, seed ensemble of {len(members)}",
                          mean_scores([m["scores"] for m in members]), members, data, score_args)
        rows.append(row)
        print(accuracy.summary(row), flush=True)
        if not args.no_tta:
            rows += tta_rows(name, members, meta, data, images,
                             Namespace(**vars(score_args), models_dir=args.models_dir))

    meta = {**meta, "ensemble_study": dict(commit=accuracy.commit(), date=time.strftime("%Y-%m-%d"),
                                           source=str(results / "accuracy.json"),
                                           tta=not args.no_tta)}
    written = [r if args.keep_scores else {k: v for k, v in r.items() if k != "scores"}
               for r in rows]
    (out / "ensemble_study.json").write_text(json.dumps({"meta": meta, "rows": written}, indent=1))
    table = accuracy.markdown(written, meta)
    (out / "ensemble_study.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
