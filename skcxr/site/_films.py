"""The site's films, checked and split by patient before any training starts."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SiteFilms:
    """A site's films, labels and patients, and which are held out."""

    files: list
    y: np.ndarray
    groups: np.ndarray
    named_patients: bool
    fit: np.ndarray
    held_out: np.ndarray
    classes: list
    label_map: dict = field(default_factory=dict)
    # Cross-fitting: [(train, scored)] patient-grouped folds; every film is then held
    # out (scored out of fold) and the final network trains on all of them.
    folds: list | None = None
    # Filled by the threshold step.
    held_out_score: np.ndarray | None = None
    held_out_accepted: np.ndarray | None = None
    operating_point: dict | None = None


def check_site_films(files, y, groups, *, pos_label, base, validation_fraction,
                     min_sensitivity, confidence, random_state, cv=None):
    """Check a site's films and hold out patients; fail before training on what cannot work."""
    from ..metrics import InsufficientPositivesError, positives_needed
    from ..model_selection import patient_split

    files = [str(f) for f in files]
    y = np.asarray(y, dtype=object)
    if len(files) != len(y):
        raise ValueError(f"{len(files)} files but {len(y)} labels.")
    classes = sorted({str(label) for label in y})
    if len(classes) != 2:
        raise ValueError(
            f"The site's films hold {len(classes)} class(es) ({', '.join(classes) or 'none'}); a "
            "screener needs films of both, e.g. NORMAL and PNEUMONIA.")
    label_map = {}
    if base is not None:
        label_map = _map_to_base(classes, [str(c) for c in base.classes_])
        y = np.asarray([label_map[str(label)] for label in y], dtype=object)
        classes = sorted(set(label_map.values()))
    if pos_label not in classes:
        raise ValueError(f"pos_label={pos_label!r} is not one of the site's classes {classes}.")
    named = groups is not None
    groups = (np.asarray([f"film:{i}" for i in range(len(files))], dtype=object) if groups is None
              else np.asarray(groups, dtype=object))
    if len(groups) != len(files):
        raise ValueError(f"groups has {len(groups)} entries but there are {len(files)} files.")
    n_patients = len(set(groups))
    needed_patients = max(2, round(1 / min(validation_fraction, 1 - validation_fraction)))
    if n_patients < max(needed_patients, 10):
        raise ValueError(
            f"{n_patients} patient(s) are too few to hold some out for the threshold "
            f"(validation_fraction={validation_fraction}): a site needs films of at least "
            f"{max(needed_patients, 10)} patients, and many more for a useful screener.")
    folds = None
    if cv is not None:
        if n_patients < max(cv, 10):
            raise ValueError(f"{n_patients} patient(s) are too few for cv={cv} cross-fitting "
                             "folds; a site needs films of at least 10 patients.")
        from sklearn.model_selection import StratifiedGroupKFold

        splitter = StratifiedGroupKFold(cv, shuffle=True, random_state=random_state)
        folds = [(np.sort(train), np.sort(scored))
                 for train, scored in splitter.split(files, y, groups)]
        fit = held_out = np.arange(len(files))
    else:
        fit, held_out = patient_split(y, groups, test_size=validation_fraction, stratify=True,
                                      random_state=random_state)
    positives = int(np.sum(y[held_out] == pos_label))
    for train in [fit] + [train for train, _ in folds or []]:
        if len(set(y[train])) < 2:
            raise ValueError("After holding out patients, some training films hold one class; "
                             "add films of the other class.")
    # Fail now, not after an hour of training, when the guarantee cannot be met.
    if positives_needed(min_sensitivity, confidence) > positives:
        where = (f" among the site's {n_patients} patients (every film scored out of fold)"
                 if folds else f" among the {len(set(groups[held_out]))} held-out patients "
                               f"(validation_fraction={validation_fraction})")
        raise InsufficientPositivesError(
            positives, min_sensitivity, confidence, pos_label, where=where,
            remedy="" if folds else " (or hold out a larger share of the patients)")
    return SiteFilms(files=files, y=y, groups=groups, named_patients=named, fit=fit,
                     held_out=held_out, classes=classes, label_map=label_map, folds=folds)


def _map_to_base(classes, base_classes):
    """Site labels to the base model's classes, matching regardless of case."""
    by_name = {c.lower(): c for c in base_classes}
    mapped = {c: by_name.get(c.lower()) for c in classes}
    unknown = [c for c, target in mapped.items() if target is None]
    if unknown or len(set(mapped.values())) != len(classes):
        raise ValueError(
            f"The site's labels {classes} are not the base model's classes {base_classes}: "
            "fine-tuning keeps the network's outputs, so the labels must name them (case aside).")
    return mapped


def accepted_scores(classifier, guard, images, pos_label):
    """``pos_label``'s probability of each image, and whether ``guard`` accepts it (all, without one).

    The films a threshold is chosen on are those the screener would score:
    the guard's refusals and the probabilities come from one pass.
    """
    if guard is not None:
        refusals, proba = guard.refusals(images, return_proba=True)
        accepted = np.array([r is None for r in refusals])
    else:
        proba, accepted = classifier.predict_proba(images), np.ones(len(images), bool)
    return proba[:, list(classifier.classes_).index(pos_label)], accepted

