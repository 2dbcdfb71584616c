"""Write the accuracy tables of README.md and the docs from benchmarks/results/*.json.

No number in those tables is typed by hand: each table is rendered from one
results file (or, for ``model-card``, from the shipped screener's card in
skcxr/pretrained/weights/), into README.md between ``<!-- table:NAME -->``
markers and into ``docs/_generated/NAME.rst`` (which the docs include). The docs build runs
this with ``--docs-only``; after a new run, run it by hand and commit
README.md. ``--check`` exits 1 when README.md is not what the results say
(a test runs it).

    python benchmarks/tables.py            # rewrite README.md's tables and docs/_generated/
    python benchmarks/tables.py --check    # is README.md up to date?
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# name: (results file, short labels of the rows' models)
TABLES = {
    "h100-224px": ("h100-224px-30epochs.json", {
        "svm": "Linear SVM, 64 px pixels (original baseline)",
        "original": "Original CNN+FC, SGD, class weights (`original` preset)",
        # At e657ef3 the wide CXRNet recipe was called "recommended"; it is
        # the `compact` preset now, and ResNet-18 became `recommended`.
        "recommended": "Wide CXRNet (`compact` preset; `recommended` at e657ef3)",
        "resnet18": "**ResNet-18 from scratch (`recommended` preset)**",
        "densenet121": "DenseNet-121 from scratch, same recipe",
        "ensemble": "Mean of the three rows above",
    }),
    "cpu-seed-study": ("cpu-128px-6epochs-seeds.json", {
        "recommended": "ResNet-18, cosine, early stopping (`recommended` preset)",
        "stable_equalize": "ResNet-18, full cosine, weight EMA, histogram equalisation",
        "stable": "ResNet-18, full cosine, weight EMA",
        "recommended_seed_ensemble": "`recommended`: mean of its seeds",
        "recommended_tta": "`recommended` + test-time augmentation",
        "recommended_tta_seed_ensemble": "`recommended`: TTA + mean of its seeds",
        "stable_equalize_seed_ensemble": "full cosine + EMA + equalisation: mean of its seeds",
        "stable_equalize_tta": "full cosine + EMA + equalisation, + TTA",
        "stable_equalize_tta_seed_ensemble": "full cosine + EMA + equalisation: TTA + mean of seeds",
    }),
}
HEADER = ["model", "epochs run (best)", "val AUC", "val spec at 97% sens", "test AUC (95% CI)",
          "sens / spec at 0.5", "screening: sens", "screening: spec (95% CI)", "PPV / NPV",
          "train time"]


def _value(entry):
    return entry["value"]


def row_cells(row, label):
    d, s = row["default"], row["screening"]
    epochs = "-"
    if row.get("epochs_run"):
        star = "*" if row.get("stopped_by_time_budget") else ""
        epochs = f"{row['epochs_run']}{star} ({row.get('best_epoch')})"
    val_spec = row.get("validation_specificity_at_target")
    seed = f" (seed {row['seed']})" if row.get("several_seeds") else ""
    return [
        f"{label}{seed}", epochs, f"{row['validation_auc']:.3f}",
        "-" if val_spec is None else f"{val_spec:.3f}",
        f"{_value(d['auc']):.3f} ({d['auc']['ci_low']:.3f}–{d['auc']['ci_high']:.3f})",
        f"{_value(d['sensitivity']):.3f} / {_value(d['specificity']):.3f}",
        f"{_value(s['sensitivity']):.3f}",
        f"{_value(s['specificity']):.3f} ({s['specificity']['ci_low']:.3f}–"
        f"{s['specificity']['ci_high']:.3f})",
        f"{_value(s['ppv']):.3f} / {_value(s['npv']):.3f}",
        f"{row['train_seconds'] / 60:.1f} min",
    ]


def spread_cells(rows, label):
    """Mean ± standard deviation over the seeds of one model."""
    def stat(values):
        values = np.asarray(values, dtype=float)
        return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"

    d = [r["default"] for r in rows]
    s = [r["screening"] for r in rows]
    val_spec = [r.get("validation_specificity_at_target") for r in rows]
    return [
        f"**{label}: mean ± sd over {len(rows)} seeds**", "-",
        stat([r["validation_auc"] for r in rows]),
        "-" if None in val_spec else stat(val_spec),
        stat([_value(x["auc"]) for x in d]),
        f"{stat([_value(x['sensitivity']) for x in d])} / {stat([_value(x['specificity']) for x in d])}",
        stat([_value(x["sensitivity"]) for x in s]),
        stat([_value(x["specificity"]) for x in s]),
        f"{stat([_value(x['ppv']) for x in s])} / {stat([_value(x['npv']) for x in s])}",
        f"{np.mean([r['train_seconds'] for r in rows]) / 60:.1f} min",
    ]


def table_rows(name):
    file, labels = TABLES[name]
    results = json.loads((RESULTS / file).read_text())
    rows = results["rows"]
    models = list(dict.fromkeys(r["model"] for r in rows))
    cells = []
    for model in models:
        runs = [r for r in rows if r["model"] == model]
        for run in runs:
            cells.append(row_cells({**run, "several_seeds": len(runs) > 1}, labels.get(model, model)))
        if len(runs) > 1:
            cells.append(spread_cells(runs, labels.get(model, model)))
    return results["meta"], cells


def caption(meta, file):
    commits = meta["commit"] if isinstance(meta["commit"], list) else [meta["commit"]]
    commits = ", ".join(dict.fromkeys(commits))  # runs merged from several commits
    parts = [f"{meta['device']}, {meta['size']} px, at most {meta['max_epochs']} epochs, "
             f"commit{'s' if ',' in commits else ''} {commits}, {meta['date']}"]
    if meta.get("note"):
        parts.append(meta["note"])
    if meta.get("parallel_jobs", 1) > 1:
        parts.append(f"{meta['parallel_jobs']} models trained side by side (train times are "
                     "wall-clock under sharing)")
    if meta.get("time_budget_s"):
        parts.append(f"* = stopped by the run's {meta['time_budget_s']:g} s time budget")
    parts.append(f"raw numbers: `benchmarks/results/{file}`")
    return "; ".join(parts) + "."


CARD_METRICS = [("auc", "AUC"), ("sensitivity", "sensitivity"), ("specificity", "specificity"),
                ("ppv", "PPV"), ("npv", "NPV"), ("accuracy", "accuracy")]


def shipped_card():
    """The card of the default pretrained screener (the registry's first), or None."""
    from skcxr.pretrained import get_card, list_pretrained

    names = list_pretrained()
    return get_card(names[0]).to_dict() if names else None


def model_card_table():
    """(caption, header, rows) of the shipped screener's test metrics, from its card."""
    card = shipped_card()
    point, test = card["operating_point"], card["test"]
    at_default, at_threshold = test["at_default"], test["at_threshold"]

    def cell(entry):
        return f"{entry['value']:.3f} ({entry['ci_low']:.3f}–{entry['ci_high']:.3f})"

    rows = [[label, cell(at_default[key]), cell(at_threshold[key])] for key, label in CARD_METRICS]
    rows.append(["normal films flagged per 100",
                 f"{100 * (1 - at_default['specificity']['value']):.0f}",
                 f"{100 * (1 - at_threshold['specificity']['value']):.0f}"])
    counts = at_threshold["counts"]
    rows.append(["films flagged / pneumonia films missed",
                 f"{at_default['counts']['tp'] + at_default['counts']['fp']} / "
                 f"{at_default['counts']['fn']}",
                 f"{counts['tp'] + counts['fp']} / {counts['fn']}"])
    data = card["data"]
    text = (f"`{card['name']}` on the Kermany test split ({data['test_images']} films, "
            f"{data['test_patients']} patients; patient-level bootstrap 95% CIs, "
            f"{at_threshold['n_bootstraps']} resamples). Screening threshold "
            f"{point['threshold']:.4f}: {point['rule']}. Validation AUC "
            f"{card['validation']['auc']:.4f} ({data['validation_images']} films of "
            f"{data['validation_patients']} held-out training patients). Trained on "
            f"{card['training']['device']}, commit {card['training']['commit']}; "
            "numbers from `skcxr/pretrained/weights/" + card["name"] + "/card.json`.")
    return text, ["Kermany test split", "at 0.5", "at the screening threshold"], rows


SITE_RESULTS = "cpu-site-adaptation/rows.json"
SITE_HEADER = ["row", "films per fold", "seeds", "AUC", "sensitivity", "specificity",
               "refused by its guard", "threshold target", "s per fit"]
SITE_ROWS = {"base": "shipped screener at its card threshold",
             "calibrate": "threshold only (site guard and threshold)",
             "fine-tune": "fine-tune the shipped weights", "from scratch": "train from scratch"}


def _spread(values):
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f} ({values.min():.3f}–{values.max():.3f})"


# The first full run's rule (cpu-site-adaptation-rule1), whose results carry no rule text.
RULE_1 = ("its target per row: the strongest of 0.97, 0.95, 0.9, ... those pneumonia films "
          "support with one missed (with none missed where none is supported so); the site "
          "guard's threshold set on a held-out share of the training films")


def site_table(results):
    """(caption, header, rows) of the site-adaptation benchmark's pooled rows."""
    meta, rows = results["meta"], results["rows"]
    text = (f"Kermany test split as a new site (624 films, 427 patients): {meta['folds']} "
            "patient-grouped folds, adapt on the others, score the fold, pool the scored folds. "
            f"{meta['device']}, commit {meta['commit']}, {meta['date']}; `{meta['command']}`. "
            "Training rows hold out a quarter of their films' patients. Threshold: "
            "fit_screener's rule (one-sided 95% Clopper-Pearson bound on the held-out site "
            f"patients; threshold only: on all the fold's films), {meta.get('rule', RULE_1)}. "
            "Only rows with all the fold's films fit a guard of their own (it needs about 100 "
            "held-out films). One seed: value "
            "(patient-level 95% CI); several: mean ± sd (min–max) over seeds. s per fit: wall "
            "time on a shared CPU.")
    order = list(SITE_ROWS)
    rows = sorted(rows, key=lambda row: (order.index(row["kind"]), -row["films_per_fold"]))
    cells = []
    for row in rows:
        seeds = list(row["seeds"].values())
        if len(seeds) == 1:
            s = seeds[0]
            metric = {m: f"{s[m]['value']:.3f} ({s[m]['ci_low']:.3f}–{s[m]['ci_high']:.3f})"
                      for m in ("auc", "sensitivity", "specificity")}
        else:
            metric = {m: _spread([s[m]["value"] for s in seeds])
                      for m in ("auc", "sensitivity", "specificity")}
        refused = [s["refused_share"] for s in seeds if s["refused_share"] is not None]
        targets = sorted({t for s in seeds for t in s["targets"]})
        cells.append([SITE_ROWS[row["kind"]], str(row["films_per_fold"]), str(len(seeds)),
                      metric["auc"], metric["sensitivity"], metric["specificity"],
                      f"{np.mean(refused):.1%}" if refused else "no guard",
                      ", ".join(f"{t:g}" for t in targets) or "-",
                      f"{np.mean([s['seconds_per_fit'] for s in seeds]):.0f}"])
    return text, SITE_HEADER, cells


def table_parts(name):
    """(caption, header, rows) of table ``name``."""
    if name == "model-card":
        return model_card_table()
    if name == "site-adaptation":
        return site_table(json.loads((RESULTS / SITE_RESULTS).read_text()))
    meta, cells = table_rows(name)
    return caption(meta, TABLES[name][0]), HEADER, cells


def available_tables():
    names = [name for name, (file, _) in TABLES.items() if (RESULTS / file).exists()]
    names += ["site-adaptation"] if (RESULTS / SITE_RESULTS).exists() else []
    return names + (["model-card"] if shipped_card() is not None else [])


def markdown(name):
    return markdown_table(*table_parts(name))


def markdown_table(text, header, cells):
    """A caption and a markdown table."""
    lines = [text, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def rst(name):
    text, header, cells = table_parts(name)
    text = text.replace("`", "``").replace("*", r"\*")
    lines = [text, "", ".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *cells]:
        lines.append("   * - " + _rst_cell(row[0]))
        lines += [f"     - {_rst_cell(c)}" for c in row[1:]]
    return "\n".join(lines) + "\n"


def _rst_cell(text):
    text = text.replace("`", "``")
    if text.startswith("**"):
        return text
    return text.replace("*", r"\*") if text != "-" else r"\-"


def replace_block(text, name, block):
    start, stop = f"<!-- table:{name} -->", f"<!-- /table:{name} -->"
    if start not in text:
        return text
    head, rest = text.split(start, 1)
    _, tail = rest.split(stop, 1)
    return f"{head}{start}\n{block}{stop}{tail}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is out of date")
    parser.add_argument("--docs-only", action="store_true", help="write docs/_generated/ only")
    args = parser.parse_args()
    available = available_tables()
    if not args.check:
        generated = ROOT / "docs" / "_generated"
        generated.mkdir(exist_ok=True)
        for name in available:
            (generated / f"{name}.rst").write_text(rst(name))
        if "site-adaptation" not in available:  # the docs include it either way
            (generated / "site-adaptation.rst").write_text(
                "No results yet: run ``benchmarks/site_adaptation.py`` (see its docstring).\n")
    readme_path = ROOT / "README.md"
    readme = readme_path.read_text()
    updated = readme
    for name in available:
        updated = replace_block(updated, name, markdown(name))
    if args.check:
        if updated != readme:
            print("README.md's tables differ from benchmarks/results: run python benchmarks/tables.py",
                  file=sys.stderr)
            sys.exit(1)
        return
    if not args.docs_only:
        readme_path.write_text(updated)


if __name__ == "__main__":
    main()
