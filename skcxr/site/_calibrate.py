"""calibrate_screener: the same threshold rule on a site's films, without retraining."""

import time

import numpy as np

from ._base import resolve_base
from ._card import site_card
from ._films import SiteFilms, _map_to_base, accepted_scores


def calibrate_screener(screener, files, y, groups=None, *, pos_label="PNEUMONIA",
                       min_sensitivity=0.97, confidence=0.95, guard=True,
                       max_false_rejection="auto", random_state=0, name=None, source=None,
                       command=None):
    """A screener's network with its threshold (and input guard) set on a site's films.

    For a site with labelled films but no time to train: the network is
    kept as it is; the guard is refitted on the site's films (a guard
    fitted elsewhere refuses many films of a new population), and the
    threshold is chosen by :func:`fit_screener`'s rule: the highest whose
    lower confidence bound for sensitivity reaches the target, here on
    every film the new guard accepts. Nothing is held out, so the card's
    numbers at the threshold are in-sample; measure on new films.

    Parameters
    ----------
    screener : str, path-like or Screener
        A pretrained name, a saved screener folder, or a fitted Screener with a card.
    files : sequence of str
        The site's films (image or DICOM files).
    y : array-like of shape (n_samples,)
        Labels naming the screener's classes (case aside).
    groups : array-like of shape (n_samples,), default=None
        Patient ids (for the guard's held-out films and the CIs).
    pos_label : label, default="PNEUMONIA"
        The class flagged.
    min_sensitivity : float, default=0.97
        The sensitivity the threshold's lower confidence bound must reach.
    confidence : float, default=0.95
        Confidence of that bound.
    guard : bool, default=True
        Refit the input guard on these films (False keeps the screener's own).
    max_false_rejection : float or "auto", default="auto"
        As for :func:`~skcxr.fit_screener`.
    random_state : int, default=0
        Seeds the guard's held-out split; the card records it.
    name, source, command : str, default=None
        For the card.

    Returns
    -------
    screener : Screener
        A new screener (the given one is not changed), with its card.

    Raises
    ------
    InsufficientPositivesError
        When the films hold too few positives for the target at this confidence.
    """
    from sklearn.frozen import FrozenEstimator

    from ..guard import InputGuard
    from ..metrics import guaranteed_threshold
    from ..screener import Screener

    started = time.perf_counter()
    base = resolve_base(screener)
    files = [str(f) for f in files]
    y = np.asarray(y, dtype=object)
    if len(files) != len(y):
        raise ValueError(f"{len(files)} files but {len(y)} labels.")
    classes = sorted({str(label) for label in y})
    if len(classes) != 2:
        raise ValueError(f"The site's films hold {len(classes)} class(es) "
                         f"({', '.join(classes) or 'none'}); calibrating needs both.")
    label_map = _map_to_base(classes, [str(c) for c in base.classes_])
    y = np.asarray([label_map[str(label)] for label in y], dtype=object)
    named = groups is not None
    groups = (np.asarray([f"film:{i}" for i in range(len(files))], dtype=object) if groups is None
              else np.asarray(groups, dtype=object))
    everything = np.arange(len(files))
    images = base.loader.transform(files)
    classifier = base.classifier
    site_guard = base.fitted_guard
    if guard:
        site_guard = InputGuard(FrozenEstimator(classifier), max_false_rejection=max_false_rejection,
                                random_state=random_state).fit(images, groups=groups)
    score, accepted = accepted_scores(classifier, site_guard, images, pos_label)
    point = guaranteed_threshold(y[accepted], score[accepted], min_sensitivity=min_sensitivity,
                                 confidence=confidence, pos_label=pos_label)
    films = SiteFilms(files=files, y=y, groups=groups, named_patients=named, fit=everything,
                      held_out=everything, classes=sorted(set(y)), label_map=label_map,
                      held_out_score=score, held_out_accepted=accepted, operating_point=point)
    calibrated = Screener(FrozenEstimator(base.fitted_estimator), threshold=point["threshold"],
                          pos_label=pos_label, guard=site_guard)
    recipe = {"start": "threshold only", "init": base.card.name, "epochs": 0}
    card = site_card(calibrated, films, base=base, comparison=base, recipe=recipe,
                     size=base.classifier.input_shape_[1], name=name, source=source,
                     command=command, random_state=random_state,
                     seconds=time.perf_counter() - started, device="CPU or as the base ran")
    card.title = f"{base.card.name}, threshold and guard set on {len(files)} films of one site"
    calibrated.card = card
    return calibrated
