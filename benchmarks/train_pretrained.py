"""Build a shipped screener from ../shared/data: skcxr.fit_screener on the Kermany training split.

The workflow is fit_screener's, the one every screener is made by: a share
of the training *patients* held out, the preset trained from scratch on the
rest, the input guard fitted on the training films, the threshold chosen on
the held-out patients (the highest whose one-sided lower confidence bound for
sensitivity reaches the target), the card written. This script adds what
only a shipped screener has: its title and rank, the population it comes
from, and its numbers on the Kermany **test** split, scored once, after
everything was chosen, at 0.5 and at the threshold, with patient-level
bootstrap 95% CIs. The test split chooses nothing.

    python benchmarks/train_pretrained.py --preset recommended --seed 1 --size 128 \\
        --epochs 6 --name resnet18-kermany-128-v2 --out skcxr/pretrained/weights

The shipped ``resnet18-kermany-128`` was made at commit 4c50e90, before
fit_screener existed, by the command its card records; its threshold rule
was the observed 97% sensitivity on the held-out patients.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from skcxr import fit_screener
from skcxr.datasets import load_chest_xray
from skcxr.metrics import screening_report

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import commit  # noqa: E402

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


def report(y_true, score, threshold, groups):
    return screening_report(y_true, score, threshold=threshold, pos_label="PNEUMONIA",
                            groups=groups, n_bootstraps=1000, random_state=0, output_dict=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="recommended")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--sensitivity", type=float, default=0.97)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--name", required=True, help="the screener's name, e.g. resnet18-kermany-128")
    parser.add_argument("--title", default=None)
    parser.add_argument("--rank", type=int, default=0, help="order in list_pretrained() (0 first)")
    parser.add_argument("--out", default="skcxr/pretrained/weights")
    args = parser.parse_args()

    train, test = load_chest_xray(subset="train"), load_chest_xray(subset="test")
    started = time.perf_counter()
    screener = fit_screener(
        train.data, train.target_names[train.target], train.groups, init=None,
        preset=args.preset, size=args.size, epochs=args.epochs,
        min_sensitivity=args.sensitivity, confidence=args.confidence, validation_fraction=0.1,
        random_state=args.seed, compare_with=None, verbose=1, name=args.name,
        source="the Kermany training split",
        command=" ".join(["python", *sys.argv]))
    seconds = time.perf_counter() - started

    # Scored once, after every choice: every test film, those the guard refuses too.
    refusals, proba = screener.check_and_score(list(test.data), score_refused=True)
    score, y_test = proba[:, 1], test.target_names[test.target]
    card = screener.card
    card.title = args.title or f"ResNet-18 screener, Kermany pediatric CXR, {args.size} px"
    card.rank, card.intended_use, card.not_validated_on = args.rank, INTENDED_USE, NOT_VALIDATED_ON
    card.data = {**card.data,
                 "name": "Kermany pediatric chest X-rays (Kermany et al., Cell 2018; Mendeley "
                         "Data doi:10.17632/rscbjbr9sj, CC BY 4.0)",
                 "population": "children aged 1-5, anterior-posterior films, Guangzhou Women "
                               "and Children's Medical Center",
                 "test_images": len(test.data), "test_patients": len(set(test.groups))}
    card.training = {**card.training, "commit": commit(), "seconds": round(seconds, 1),
                     "threads": torch.get_num_threads()}
    card.test = {"at_default": report(y_test, score, 0.5, test.groups),
                 "at_threshold": report(y_test, score, screener.threshold, test.groups),
                 "refused_by_its_guard": int(sum(r is not None for r in refusals))}
    card.guard = {**card.guard, "refused_share_of_kermany_test_films":
                  float(np.mean([r is not None for r in refusals]))}
    screener.card = card
    saved = screener.save(Path(args.out) / args.name)
    at_t = saved.test["at_threshold"]
    print(f"wrote {Path(args.out) / args.name}; threshold {screener.threshold:.4f}; test AUC "
          f"{at_t['auc']['value']:.3f}, sensitivity {at_t['sensitivity']['value']:.3f}, "
          f"specificity {at_t['specificity']['value']:.3f}")


if __name__ == "__main__":
    main()
