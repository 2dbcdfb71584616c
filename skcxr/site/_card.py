"""The card of a screener made from a site's films: provenance, threshold rule, before and after."""

import datetime

import numpy as np

SITE_INTENDED_USE = (
    "A preliminary screening aid for the site whose films trained it: it puts films likely to "
    "show {pos} first in the reading queue for radiologist review. It never replaces the "
    "radiologist, and a film it does not flag is not cleared: it is not a rule-out test."
)


def site_card(screener, films, *, base, comparison, recipe, size, name, source, command,
              random_state, seconds, device):
    """The :class:`~skcxr.ModelCard` of a screener :func:`fit_screener` made."""
    import torch

    from .. import __version__
    from ..screener import ModelCard

    classifier, guard = screener.classifier, screener.fitted_guard
    pos = screener.flagged_class
    held = films.held_out
    point = films.operating_point
    n_held_patients = len(set(films.groups[held]))
    if films.folds is not None:
        scored_on = (f"out-of-fold scores of all {len(held)} site films of {n_held_patients} "
                     f"patients (each scored by one of {len(films.folds)} networks trained "
                     "without its patients)")
        held_note = (f"out-of-fold scores of every site film ({len(films.folds)}-fold "
                     "cross-fitting by patient); the threshold was chosen on them too")
    elif recipe.get("start") == "threshold only":
        scored_on = (f"{int(films.held_out_accepted.sum())} films of all {n_held_patients} site "
                     "patients the guard accepted (nothing held out: the network was not "
                     "retrained)")
        held_note = ("every site film, in-sample (nothing held out); the threshold was chosen "
                     "on them too")
    else:
        scored_on = (f"{int(films.held_out_accepted.sum())} films of {n_held_patients} held-out "
                     "site patients the guard accepted")
        held_note = "held-out site patients; the threshold was chosen on them too"
    rule = (f"the highest threshold whose one-sided {point['confidence']:.0%} Clopper-Pearson lower "
            f"bound for sensitivity reaches {point['min_sensitivity']:g}, on the {scored_on} "
            f"({point['positives']} {pos}, {point['detected']} flagged: lower bound "
            f"{point['sensitivity_lower_bound']:.3f})")
    after = _report(films.y[held][films.held_out_accepted], films.held_out_score[
        films.held_out_accepted], screener.threshold, pos, films.groups[held][
        films.held_out_accepted])
    start = (f"{base.card.name} fine-tuned" if base is not None
             else f"{recipe['preset']} preset trained from scratch")
    history = classifier.history_
    return ModelCard(
        name=name or "site-screener",
        title=f"{start} on {len(films.files)} films of one site ({size} px)",
        intended_use=SITE_INTENDED_USE.format(pos=pos),
        not_validated_on=[
            "any other site, device, population or protocol than the one whose films trained it",
            "films unlike its training films (the input guard refuses many such films)",
            "findings other than " + str(pos),
            ("a test set: the numbers on this card come from the very films its threshold "
             "was set on (nothing held out), so sensitivity and specificity at it are "
             "optimistic; measure it on new films before relying on it")
            if recipe.get("start") == "threshold only" else
            ("a test set: the numbers on this card come from held-out patients of the same "
             "films, and the threshold was chosen on them (so sensitivity and specificity at it "
             "are optimistic); measure it on new films before relying on it"),
        ],
        operating_point={
            "threshold": float(screener.threshold), "pos_label": pos, "rule": rule,
            "method": "Clopper-Pearson one-sided lower bound, films as the unit",
            "target_sensitivity": point["min_sensitivity"], "confidence": point["confidence"],
            "sensitivity_lower_bound": point["sensitivity_lower_bound"],
            "observed_sensitivity": point["sensitivity"],
            "observed_specificity": point["specificity"],
            "positives": point["positives"], "detected": point["detected"],
            "films": int(films.held_out_accepted.sum()), "patients": n_held_patients,
        },
        loader={"size": list(np.broadcast_to(size, 2).tolist()), "resize_mode": "stretch",
                "grayscale": True},
        network={}, weights={},
        data=_data(films, source),
        recipe={**recipe, "seed": random_state,
                "threshold_from": (f"{len(films.folds)}-fold cross-fitting by patient"
                                   if films.folds is not None else "one held-out split"),
                "train_loss": [round(float(row["train_loss"]), 5) for row in history]
                if history is not None else []},
        training={"command": command, "device": device, "seconds": round(seconds, 1),
                  "date": datetime.date.today().isoformat(), "skcxr": __version__,
                  "torch": torch.__version__},
        validation={"films": int(len(held)), "patients": n_held_patients,
                    "auc": after["auc"]["value"], "at_threshold": after,
                    "note": held_note},
        guard=None if guard is None else {
            "max_false_rejection": float(guard.false_rejection_),
            "threshold": float(guard.threshold_),
            "fitted_on": _guard_films(films),
            # Its own held-out patients when cross-fitting (it was fitted on every film).
            "refused_share_of_held_out_films": float(
                guard.calibration_rejection_ if films.folds is not None
                else 1 - films.held_out_accepted.mean()),
        },
        site=_before_after(films, base, comparison, after, pos),
    )


def _guard_films(films):
    scores = (f"scores fitted on {len(films.fit)} training films of "
              f"{len(set(films.groups[films.fit]))} site patients")
    if films.folds is not None:
        return scores + ", threshold set on its own held-out share of them"
    return (scores + f", threshold set on the {len(films.held_out)} films of the "
            f"{len(set(films.groups[films.held_out]))} held-out patients")


def _data(films, source):
    def counts(index):
        values, n = np.unique(films.y[index], return_counts=True)
        return {str(v): int(c) for v, c in zip(values, n)}

    everything = np.arange(len(films.files))
    return {
        "source": source,
        "films": len(films.files), "patients": len(set(films.groups)), "counts": counts(everything),
        "patient_ids": ("from the caller (groups)" if films.named_patients else
                        "none given: each film counted as its own patient, so one patient's "
                        "films may fall on both sides of the held-out split"),
        "trained_on": {"films": len(films.fit), "patients": len(set(films.groups[films.fit])),
                       "counts": counts(films.fit)},
        "held_out": {"films": len(films.held_out),
                     "patients": len(set(films.groups[films.held_out])),
                     "counts": counts(films.held_out)},
        "label_map": films.label_map or None,
    }


def _before_after(films, base, comparison, after, pos):
    """The base (or default) screener at its own card threshold, and the new one, on the same patients."""
    entry = {"base": None if base is None else {
        "name": base.card.name, "sha256": base.card.weights.get("sha256"),
        "threshold": float(base.threshold)},
        "after": after, "before": None,
        "patients": len(set(films.groups[films.held_out])),
        # Threshold-only calibration scores every site film: its numbers are in-sample.
        "in_sample": bool(len(films.held_out) == len(films.files) and films.folds is None)}
    if comparison is not None:
        files = [films.files[i] for i in films.held_out]
        refusals, proba = comparison.check_and_score(files, score_refused=True)
        score = proba[:, list(comparison.classes_).index(pos)]
        entry["before"] = {
            "name": comparison.card.name if comparison.card is not None else None,
            "threshold": float(comparison.threshold),
            "refused_by_its_guard": int(sum(r is not None for r in refusals)),
            "metrics": _report(films.y[films.held_out], score, comparison.threshold, pos,
                               films.groups[films.held_out]),
            "note": "every held-out film scored, including those its guard refuses",
        }
    return entry


def _report(y, score, threshold, pos, groups):
    from ..metrics import screening_report

    return screening_report(y, score, threshold=threshold, pos_label=pos, groups=groups,
                            n_bootstraps=1000, random_state=0, output_dict=True)
