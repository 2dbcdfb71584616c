"""Site adaptation, measured: the Kermany test split taken as a new site, cross-fitted by patient.

The shipped network never saw the test split, so it stands in for a hospital
that adapts the screener to its own films. The split is cut into five
patient-grouped folds (StratifiedGroupKFold, shuffled, seed 0). For each
fold, the site "adapts" on the other four folds and the fold itself is
scored; the five scored folds are pooled, so every film is scored once per
seed by a screener that never saw it nor chose anything with it.

Rows:

* the shipped screener at its card threshold (no adaptation);
* threshold-only calibration (``calibrate_screener``: the site's guard, and
  the threshold by fit_screener's rule, on all the adaptation films);
* fine-tuning the shipped weights (``fit_screener(init=...)`` with the
  defaults it ships) and training the recommended preset from scratch on
  the same films, each with 50, 100, 200 and all of the fold's adaptation
  films (whole patients, drawn per seed), each with several seeds.

The threshold rule is fit_screener's, with its defaults: the highest
threshold whose one-sided 95% Clopper-Pearson lower bound for sensitivity
reaches the target, on a quarter of the adaptation films' patients, held
out (the network that is scored is the one that scored them). The target is 0.97 where those
films hold enough pneumonia films; otherwise the strongest of 0.95, 0.9,
0.85, 0.8, 0.7, 0.6, 0.5 they support (none missed): what fit_screener's
InsufficientPositivesError tells a site to ask for, rounded down to that
list. The row says which. The scored fold never chooses anything.

Rule history: the first full run (results kept in
``benchmarks/results/cpu-site-adaptation-rule1``) asked for a target those
films support *with one miss to spare*, which for the ~78 held-out pneumonia
films of a full fold is 0.9, not the 0.95 they support; a 0.9 lower bound
lets about three of them be missed, so its expected sensitivity on new films
was about 0.95 (75/79), a coin toss against the issue's 0.95. It also fitted
the site guard's threshold on films the network had trained on; fit_screener
now sets it on the held-out patients' films.

Every number here is about adaptation; the model card's own test numbers stay
those of the unadapted shipped screener.

    python benchmarks/site_adaptation.py --out benchmarks/results/cpu-site-adaptation
    python benchmarks/site_adaptation.py --quick --out /tmp/site   # a smoke run, minutes
"""

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import skcxr
from skcxr.datasets import load_chest_xray
from skcxr.metrics import (
    InsufficientPositivesError,
    screening_report,
    sensitivity_lower_bound,
)
from skcxr.model_selection import patient_split
from skcxr.site import calibrate_screener, fit_screener

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import commit  # noqa: E402
from site_defaults import site_folds  # noqa: E402

BASE = "resnet18-kermany-128"
POS = "PNEUMONIA"
CONFIDENCE = 0.95
TARGETS = (0.97, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5)
VALIDATION_FRACTION = 0.25
RULE = ("its target per row: the strongest of 0.97, 0.95, 0.9, ... those pneumonia films "
        "support, none missed (the target fit_screener's error advises, rounded down); the site "
        "guard's threshold set on the held-out patients' films")


# ------------------------------------------------------------------ the work
def subsample(indices, y, groups, n_films, seed):
    """About ``n_films`` of ``indices``, whole patients, both classes kept in proportion."""
    if n_films is None or n_films >= len(indices):
        return indices
    keep, _ = patient_split(y[indices], groups[indices], test_size=1 - n_films / len(indices),
                            stratify=False, random_state=seed)
    return indices[keep]


def strongest_target(y, groups, seed, cross_fitted):
    """The strongest of TARGETS the threshold's pneumonia films support (none missed).

    That is the advice of fit_screener's InsufficientPositivesError (the
    highest supportable target), rounded down to TARGETS: a round number,
    and room for the guard to refuse a held-out pneumonia film or two.
    """
    if cross_fitted:
        positives = int(np.sum(y == POS))
    else:
        _, held_out = patient_split(y, groups, test_size=VALIDATION_FRACTION, stratify=True,
                                    random_state=seed)
        positives = int(np.sum(y[held_out] == POS))
    for target in TARGETS:
        if sensitivity_lower_bound(positives, positives, CONFIDENCE) >= target:
            return target, positives
    raise InsufficientPositivesError(positives, TARGETS[-1], CONFIDENCE, POS)


def run_fit(kind, fold, seed, n_films, data, args):
    """One adaptation on one fold: its scores on the scored fold, threshold and what it cost."""
    test, folds = data["test"], data["folds"]
    labels, groups = data["labels"], test.groups
    scored = folds[fold]
    adaptation = np.sort(np.concatenate([f for k, f in enumerate(folds) if k != fold]))
    films = subsample(adaptation, labels, groups, n_films, seed)
    started = time.perf_counter()
    entry = {"kind": kind, "fold": fold, "seed": seed, "size": n_films or "all",
             "films": len(films), "patients": len(set(groups[films]))}
    if kind == "base":
        screener = data["base"]
        entry["target"] = None
    elif kind == "calibrate":
        target, _ = strongest_target(labels[films], groups[films], seed, cross_fitted=True)
        screener = calibrate_screener(data["base"], test.data[films], labels[films], groups[films],
                                      min_sensitivity=target, confidence=CONFIDENCE,
                                      random_state=seed)
        entry["target"] = target
    else:
        target, positives = strongest_target(labels[films], groups[films], seed, False)
        # The guard needs about 1/0.02 held-out films of its own: only the full sites get one.
        with_guard = n_films is None
        screener = fit_screener(
            test.data[films], labels[films], groups[films],
            init=BASE if kind == "fine-tune" else None, min_sensitivity=target,
            confidence=CONFIDENCE, validation_fraction=VALIDATION_FRACTION, guard=with_guard,
            random_state=seed, compare_with=None, device="cpu")
        entry.update(target=target, threshold_positives=positives, guard=with_guard,
                     threshold_from=screener.card.recipe["threshold_from"])
    entry["seconds"] = round(time.perf_counter() - started, 1)
    refusals, proba = screener.check_and_score(list(test.data[scored]), score_refused=True)
    entry.update(
        threshold=float(screener.threshold),
        scored=[int(i) for i in scored],
        score=[float(p) for p in proba[:, list(screener.classes_).index(POS)]],
        refused=[r is not None for r in refusals] if screener.fitted_guard is not None else None,
    )
    if kind != "base":
        point = screener.card.operating_point
        entry["lower_bound"] = point.get("sensitivity_lower_bound")
        entry["operating_point"] = point
        guard_card = screener.card.guard or {}
        entry["guard_refused_held_out"] = guard_card.get("refused_share_of_held_out_films")
    return entry


def work_list(args):
    """(kind, fold, seed, size) in the order the results are most needed."""
    sizes = [None] + [s for s in args.sizes if s]
    items = [("base", f, 0, None) for f in range(args.folds)]
    items += [("calibrate", f, 0, None) for f in range(args.folds)]
    for size in sizes:  # all films first: the row the defaults are judged by
        for kind in ("fine-tune", "from scratch"):
            items += [(kind, f, s, size) for s in args.seeds for f in range(args.folds)]
    return items


def key(kind, fold, seed, size):
    return f"{kind}|{fold}|{seed}|{size or 'all'}"


# ------------------------------------------------------------------- report
def pooled(entries, data):
    """Metrics of one row (one kind, size and seed) over its pooled scored folds."""
    labels, groups = data["labels"], data["test"].groups
    index = np.concatenate([e["scored"] for e in entries])
    score = np.concatenate([e["score"] for e in entries])
    flagged = np.concatenate([np.asarray(e["score"]) >= e["threshold"] for e in entries])
    # Flags at each fold's own threshold, pooled: a threshold of 0.5 on flags 0/1.
    report = screening_report(labels[index], flagged.astype(float), threshold=0.5, pos_label=POS,
                              groups=groups[index], n_bootstraps=1000, random_state=0,
                              output_dict=True)
    auc = screening_report(labels[index], score, threshold=0.5, pos_label=POS,
                           groups=groups[index], n_bootstraps=1000, random_state=0,
                           output_dict=True)["auc"]
    refused = [e["refused"] for e in entries]
    return {
        "auc": auc, "sensitivity": report["sensitivity"], "specificity": report["specificity"],
        "counts": report["counts"], "films": len(index),
        "refused_share": (None if any(r is None for r in refused)
                          else float(np.mean(np.concatenate(refused)))),
        "seconds_per_fit": float(np.mean([e["seconds"] for e in entries])),
        "targets": sorted({e["target"] for e in entries if e["target"] is not None}),
        "thresholds": [round(e["threshold"], 4) for e in entries],
    }


def summarise(results, data, args):
    rows = []
    kinds = dict.fromkeys((r["kind"], r["size"]) for r in results.values())
    for kind, size in kinds:
        by_seed = {}
        for entry in results.values():
            if (entry["kind"], entry["size"]) == (kind, size):
                by_seed.setdefault(entry["seed"], []).append(entry)
        complete = {seed: es for seed, es in by_seed.items() if len(es) == args.folds}
        if not complete:
            continue
        seeds = {seed: pooled(es, data) for seed, es in sorted(complete.items())}
        rows.append({"kind": kind, "size": size, "films_per_fold": int(np.mean(
            [e["films"] for es in complete.values() for e in es])), "seeds": seeds})
    return rows


def markdown(rows, meta):
    """The table, as benchmarks/tables.py renders it into the README and the docs."""
    from tables import markdown_table, site_table

    return markdown_table(*site_table({"meta": meta, "rows": rows}))


# --------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for results.json and table.md")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sizes", type=int, nargs="*", default=[50, 100, 200])
    parser.add_argument("--kinds", nargs="+", default=["base", "calibrate", "fine-tune",
                                                       "from scratch"])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: two folds, one seed, all films, 1 epoch, no scratch rows")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.quick:
        args.folds, args.seeds, args.sizes = 2, [0], []
        args.kinds = [k for k in args.kinds if k != "from scratch"]
        import skcxr.site._defaults as defaults

        defaults.FINE_TUNE["epochs"] = defaults.FROM_SCRATCH["epochs"] = 1
    test = load_chest_xray(subset="test")
    data = {"test": test, "labels": test.target_names[test.target],
            "folds": site_folds(test, args.folds),
            "base": skcxr.load_pretrained(BASE, device="cpu", on_refusal="score")}
    results_file = out / "results.json"
    saved = json.loads(results_file.read_text()) if results_file.exists() else {}
    results = saved.get("fits", {})
    todo = [item for item in work_list(args) if item[0] in args.kinds
            and key(*item) not in results]
    meta = {"commit": commit(), "date": time.strftime("%Y-%m-%d"), "folds": args.folds,
            "device": f"CPU ({platform.machine()}, {torch.get_num_threads()} torch threads)",
            "torch": torch.__version__, "command": " ".join(sys.argv), "rule": RULE}
    if not todo and "meta" in saved:
        # Only summarising: the numbers are those of the runs that made the fits.
        meta = dict(saved["meta"], rule=saved["meta"].get("rule", RULE))
    for n, (kind, fold, seed, size) in enumerate(todo, 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # small-site fits warn; rows say why
            entry = run_fit(kind, fold, seed, size, data, args)
        results[key(kind, fold, seed, size)] = entry
        results_file.write_text(json.dumps({"meta": meta, "fits": results}))
        print(f"[{n}/{len(todo)}] {kind} fold {fold} seed {seed} size {size or 'all'}: "
              f"threshold {entry['threshold']:.4f} (target {entry['target']}), "
              f"{entry['seconds']:.0f} s", flush=True)
    rows = summarise(results, data, args)
    (out / "rows.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    (out / "table.md").write_text(markdown(rows, meta))
    print(markdown(rows, meta))


if __name__ == "__main__":
    main()
