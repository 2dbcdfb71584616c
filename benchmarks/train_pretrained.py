"""Build a shipped screener: weights, screening threshold, input guard and model card, from ../shared/data.

1. Train the recipe on the Kermany training split minus 10% of its patients
   (the same held-out patients as benchmarks/accuracy.py: GroupShuffleSplit,
   random_state=0), exactly as accuracy.py trains it. ``--study-weights``
   takes the weights an accuracy.py run of the same recipe, seed, size and
   epochs saved instead of training again: the code path is the same and
   seeded CPU training is exact, so they are the same weights.
2. Round the network to half precision (what ships), and from here on use
   only the rounded network.
3. Choose the screening threshold: the highest reaching the target
   sensitivity on the held-out training patients.
4. Fit the input guard on the training films (its own threshold on held-out
   training patients).
5. Score the test split once, at 0.5 and at the threshold, with
   patient-level bootstrap 95% confidence intervals, for the card.
6. Write ``<out>/<name>.pt`` and ``<out>/<name>.json``.

The test split chooses nothing: not the epochs, not the threshold, not the
recipe, not the seed (benchmarks/results/README.md states the rule).

    python benchmarks/train_pretrained.py --recipe stable_equalize --seed 2 \\
        --size 128 --epochs 6 --name resnet18-kermany-128 --out skcxr/pretrained/weights
"""

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.utils.class_weight import compute_class_weight

sys.path.insert(0, str(Path(__file__).parent))
import accuracy  # noqa: E402  (the study's data split, recipes and training call)

from skcxr import ImageLoader  # noqa: E402
from skcxr.guard import InputGuard  # noqa: E402
from skcxr.metrics import screening_report, select_threshold, specificity_at_sensitivity  # noqa: E402
from skcxr.pretrained import build_classifier, write_weights  # noqa: E402

INTENDED_USE = (
    "A preliminary screening aid: it flags frontal (AP/PA) chest radiographs that may show "
    "pneumonia so that a radiologist can review them sooner. It never replaces the "
    "radiologist, and a film it does not flag is not cleared: it is not a rule-out test."
)
NOT_VALIDATED_ON = [
    "adults (it was trained on children aged 1 to 5)",
    "other hospitals, countries, scanners or acquisition protocols than one centre in Guangzhou",
    "lateral views, CT, or any other body part",
    "findings other than pneumonia (effusion, pneumothorax, nodules, tubes and lines, ...)",
    "bacterial versus viral pneumonia (both are PNEUMONIA here)",
]


def restore(model, X, y, weights_file):
    """Give an unfitted classifier the fitted state that fit(X, y) would, with saved weights."""
    model.classes_ = np.unique(y)
    model.input_shape_ = X.shape[1:]
    model.class_weight_ = compute_class_weight(model.class_weight, classes=model.classes_, y=y)
    model.initialize()
    model.load_params(f_params=weights_file)
    return model


def reproduce_command(args):
    """The command that rebuilds these weights from the data alone (no study files)."""
    return (f"python benchmarks/train_pretrained.py --recipe {args.recipe} --seed {args.seed} "
            f"--size {args.size} --epochs {args.epochs} --target-sensitivity "
            f"{args.target_sensitivity} --name {args.name} --out skcxr/pretrained/weights")


def report(y_true, score, threshold, groups):
    return screening_report(y_true, score, threshold=threshold, pos_label="PNEUMONIA",
                            groups=groups, n_bootstraps=1000, random_state=0, output_dict=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", required=True, choices=[m for m in accuracy.MODELS
                                                            if accuracy.MODELS[m][1] is not None])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--target-sensitivity", type=float, default=0.97)
    parser.add_argument("--name", required=True, help="the weight set's name, e.g. resnet18-kermany-128")
    parser.add_argument("--title", default=None)
    parser.add_argument("--rank", type=int, default=0, help="order in list_pretrained() (0 first)")
    parser.add_argument("--study-weights", default=None,
                        help="weights an accuracy.py run saved for this recipe and seed (skips training)")
    parser.add_argument("--study-results", default=None,
                        help="that run's accuracy.json, for the training history on the card")
    parser.add_argument("--out", default="skcxr/pretrained/weights")
    args = parser.parse_args()
    args.quick = False  # accuracy.load_data's smoke mode

    labels = np.array(["NORMAL", "PNEUMONIA"])
    data = accuracy.load_data(args)
    train, test, fit_idx, val_idx = data["train"], data["test"], data["fit"], data["val"]
    loader = ImageLoader(size=args.size, n_jobs=-1)
    X_train, X_test = loader.fit_transform(train.data), loader.transform(test.data)
    y_fit = labels[train.target[fit_idx]]

    model = accuracy.MODELS[args.recipe][1](args.epochs, args.seed)
    start = time.perf_counter()
    if args.study_weights:
        restore(model, X_train[fit_idx], y_fit, args.study_weights)
        how = (f"weights saved by the accuracy study ({Path(args.study_weights).name}); "
               "seeded CPU training is exact at a fixed number of torch threads, so the "
               f"command below retrains the same weights on {torch.get_num_threads()} threads")
    else:
        model.fit(X_train[fit_idx], y_fit, groups=train.groups[fit_idx])
        how = "trained by this script"
    train_seconds = time.perf_counter() - start

    # What ships is half precision: every number on the card is the rounded network's.
    with tempfile.TemporaryDirectory() as tmp:
        card = write_weights(tmp, args.name, model, {"recipe": {"preset": "recommended"}})
        tensors = torch.load(Path(tmp) / f"{args.name}.pt", weights_only=True)
    shipped = build_classifier(card, tensors["network"], **model.get_params(deep=False))

    val_score = shipped.predict_proba(X_train[val_idx])[:, 1]
    y_val = train.target[val_idx]
    threshold = select_threshold(y_val, val_score, min_sensitivity=args.target_sensitivity)
    test_score = shipped.predict_proba(X_test)[:, 1]
    y_test = labels[test.target]

    # The input guard of this network, fitted on the training films.
    guard = InputGuard(shipped, random_state=0).fit(X_train, groups=train.groups)
    refused_test = float(np.mean(guard.predict(X_test) == -1))
    guard_info = {"false_rejection_target": guard.max_false_rejection,
                  "refused_share_of_kermany_test_films": refused_test,
                  "fitted_on": f"{len(X_train)} training films of {len(set(train.groups))} patients"}

    history = None
    if args.study_results:
        rows = json.loads(Path(args.study_results).read_text())["rows"]
        row = next(r for r in rows if r["model"] == args.recipe and r.get("seed") == args.seed)
        history = row.get("history")
        if args.study_weights:  # the time the study took to train them, not to load them
            train_seconds = row["train_seconds"]

    meta = accuracy.commit()
    params = {key: value for key, value in model.get_params(deep=False).items()
              if isinstance(value, (int, float, str, bool, type(None)))
              and key not in ("device", "verbose")}
    card_fields = dict(
        title=args.title or f"ResNet-18 screener, Kermany pediatric CXR, {args.size} px",
        rank=args.rank,
        intended_use=INTENDED_USE,
        not_validated_on=NOT_VALIDATED_ON,
        data=dict(
            name="Kermany pediatric chest X-rays (Kermany et al., Cell 2018; Mendeley Data "
                 "doi:10.17632/rscbjbr9sj, CC BY 4.0)",
            population="children aged 1-5, anterior-posterior films, Guangzhou Women and "
                       "Children's Medical Center",
            train_images=int(len(fit_idx)), train_patients=int(len(set(train.groups[fit_idx]))),
            validation_images=int(len(val_idx)),
            validation_patients=int(len(set(train.groups[val_idx]))),
            test_images=int(len(test.data)), test_patients=int(len(set(test.groups))),
        ),
        loader={"size": [args.size, args.size], "resize_mode": "stretch", "grayscale": True},
        recipe={"preset": "recommended", "study_name": args.recipe,
                "description": accuracy.MODELS[args.recipe][0],
                "params": {k: v for k, v in params.items() if k in (
                    "lr", "batch_size", "max_epochs", "patience", "weight_averaging",
                    "normalization", "validation_fraction", "lr_schedule", "class_weight")},
                "seed": args.seed, "epochs": args.epochs, "history": history},
        training=dict(
            how=how, command=reproduce_command(args), commit=meta,
            device=f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)",
            torch=torch.__version__, date=time.strftime("%Y-%m-%d"),
            seconds=round(train_seconds, 1),
            note="No GPU was lent to the task that trained these weights: a CPU schedule "
                 f"({args.size} px, {args.epochs} epochs) shorter than the recipe's 224 px one.",
        ),
        validation=dict(
            auc=float(roc_auc_score(y_val, val_score)),
            specificity_at_target=float(specificity_at_sensitivity(
                y_val, val_score, min_sensitivity=args.target_sensitivity)),
        ),
        operating_point=dict(
            threshold=float(threshold), pos_label="PNEUMONIA",
            target_sensitivity=args.target_sensitivity,
            rule=f"the highest threshold reaching {args.target_sensitivity:.0%} sensitivity on "
                 f"the {len(set(train.groups[val_idx]))} held-out training patients "
                 f"({len(val_idx)} films), computed with the half-precision weights",
        ),
        test=dict(
            at_default=report(y_test, test_score, 0.5, test.groups),
            at_threshold=report(y_test, test_score, threshold, test.groups),
        ),
        guard=guard_info,
    )
    out = Path(args.out)
    card = write_weights(out, args.name, shipped, card_fields,
                         guard_state=guard.get_state())
    size_mb = (out / card["weights_file"]).stat().st_size / 1e6
    at_t = card["test"]["at_threshold"]
    print(f"wrote {out / card['weights_file']} ({size_mb:.1f} MB) and its card; threshold "
          f"{threshold:.4f}; test AUC {at_t['auc']['value']:.3f}, sensitivity "
          f"{at_t['sensitivity']['value']:.3f}, specificity {at_t['specificity']['value']:.3f}")


if __name__ == "__main__":
    main()
