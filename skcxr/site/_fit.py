"""fit_screener: a site's labelled films to a screener of its own, in one call.

The workflow, in named steps (each a function below):

1. hold out a share of the site's *patients* (the network never sees them);
2. train: fine-tune the weights of a base screener (``init``) or train a
   preset from scratch, on the other patients' films;
3. fit the input guard on the site's own films;
4. choose the threshold on the held-out patients: the highest whose lower
   confidence bound for sensitivity reaches the target;
5. measure, on the same held-out patients, the new screener and the base one
   at its own card threshold (before/after), with patient-level CIs;
6. write the card.

``skcxr train`` and the benchmarks call this; nothing else holds the workflow.
"""

import platform
import time
import warnings

import numpy as np

from ..exceptions import SmallSiteWarning
from ._base import resolve_base
from ._card import site_card
from ._defaults import FINE_TUNE, FROM_SCRATCH, SMALL_SITE_FILMS, freeze_patterns
from ._films import accepted_scores, check_site_films


def fit_screener(files, y, groups=None, *, init=None, pos_label="PNEUMONIA",
                 min_sensitivity=0.97, confidence=0.95, cv=None, validation_fraction=0.25,
                 size=None, preset="recommended", epochs=None, lr=None, freeze="default",
                 guard=True, max_false_rejection="auto", random_state=0, device="auto",
                 n_jobs=None, verbose=0, name=None, source=None, command=None,
                 compare_with="default"):
    """Train a screener on a site's labelled films: network, input guard, threshold and card.

    Parameters
    ----------
    files : sequence of str
        The site's films (file paths).
    y : array-like of shape (n_samples,)
        Their labels, e.g. "NORMAL"/"PNEUMONIA". With ``init`` they must
        name the base model's classes (case aside).
    groups : array-like of shape (n_samples,), default=None
        Patient ids. Without them every film counts as its own patient, so a
        patient's films may fall on both sides of the held-out split (the card
        says so).
    init : str, path-like, Screener or None, default=None
        Start from these weights: a :func:`~skcxr.list_pretrained` name, a
        folder written by :meth:`Screener.save`, or a fitted Screener. None
        trains ``preset`` from scratch.
    pos_label : label, default="PNEUMONIA"
        The class to flag.
    min_sensitivity : float, default=0.97
        Sensitivity the threshold guarantees on the held-out patients ...
    confidence : float, default=0.95
        ... with this one-sided confidence (Clopper-Pearson on films). Too
        few held-out positive films for the pair is an error that says which
        target they support (97% at 95% needs about 100, none missed).
    cv : int or None, default=None
        How the threshold's films are held out. None (the default): one
        held-out split, ``validation_fraction`` of the patients; the network
        that ships is the one scored there, so the guarantee is about it.
        An int: cross-fitting, as scikit-learn's ``TunedThresholdClassifierCV``
        does: ``cv`` patient-grouped folds, a network trained without each
        fold scores it, the threshold is chosen on every film's out-of-fold
        score and the final network trains on all films. More pneumonia films
        support the guarantee, but it is then about networks trained this way,
        not about the refitted one, whose scores may sit elsewhere: measured
        on the site-adaptation benchmark, fine-tuned networks are confident
        enough that the out-of-fold threshold fell to 0.007-0.03 where the
        refitted network caught every pneumonia film at 0.05-0.2, costing
        specificity (0.60-0.66 against 0.72-0.92; benchmarks/results/README.md).
    validation_fraction : float, default=0.25
        Share of the patients held out to choose the threshold and measure,
        when not cross-fitting.
    size : int or None, default=None
        Image side in pixels; with ``init`` it must be the base's (the
        default), else 128.
    preset : str, default="recommended"
        Recipe for training from scratch (``CXRClassifier.from_preset``).
    epochs, lr : int and float or None, default=None
        Training length and learning rate; None takes the measured defaults
        for fine-tuning or for training from scratch (see
        ``benchmarks/results/README.md``, "Site adaptation defaults").
    freeze : "default", None or list of str, default="default"
        Parameters not trained when fine-tuning (fnmatch patterns of
        ``module_`` parameter names, e.g. ``["network.conv1.*",
        "network.bn1.*"]``); "default" is the measured default.
    guard : bool, default=True
        Fit an input guard on the site's training films.
    max_false_rejection : float or "auto", default="auto"
        Share of the site's films the guard may refuse: "auto" is 0.01 when
        the guard's held-out films can set it, else the smallest share they
        can (a site of 200 films: about 3%); the card says which.
    random_state : int, default=0
        Seeds the split, the training and the guard.
    device : str, default="auto"
        Where the network trains; "auto" uses CUDA when present, else the CPU.
    n_jobs : int or None, default=None
        Threads decoding films (None: this process's CPU share).
    verbose : int, default=0
        1 prints a line per epoch.
    name : str, default=None
        The screener's name (its folder's name when saved).
    source : str, default=None
        Where the films came from, for the card (e.g. the folder).
    command : str, default=None
        The command line that ran this, for the card.
    compare_with : "default", str, Screener or None, default="default"
        The screener measured beside the new one on the held-out patients
        ("before"): "default" is ``init`` when given, else the first
        pretrained screener.

    Returns
    -------
    screener : Screener
        Fitted, with its card (``screener.card``); save it with
        :meth:`Screener.save`.

    Raises
    ------
    ValueError
        For a site with one class, labels the base model does not have, too
        few patients for the held-out split, an ``init`` that is not a known
        screener or of another input size.
    InsufficientPositivesError
        When the held-out patients hold too few positive films for
        ``min_sensitivity`` at ``confidence`` (checked before any training).

    Warns
    -----
    SmallSiteWarning
        With fewer than 250 films: on the site-adaptation benchmark, 200
        films or fewer ranked worse than the shipped weights, about 500
        better; compare with threshold-only calibration.

    Examples
    --------
    >>> import skcxr
    >>> # site = skcxr.datasets.load_image_folder("site_films/")
    >>> # screener = skcxr.fit_screener(site.data, site.target_names[site.target],
    >>> #                              site.groups, init="resnet18-kermany-128")
    >>> # screener.save("site_screener")
    """
    started = time.perf_counter()
    base = resolve_base(init) if init is not None else None
    films = check_site_films(files, y, groups, pos_label=pos_label, base=base,
                             validation_fraction=validation_fraction,
                             min_sensitivity=min_sensitivity, confidence=confidence,
                             random_state=random_state, cv=cv)
    size = _input_size(size, base)
    recipe = _recipe(base, preset, epochs, lr, freeze)
    if len(films.files) < SMALL_SITE_FILMS:
        warnings.warn(SmallSiteWarning(
            f"Training on {len(films.files)} films: on the site-adaptation benchmark, training "
            "on 200 films or fewer ranked a site's held-out films worse than the shipped weights "
            "(AUC 0.937-0.951 fine-tuned, 0.791-0.967 from scratch, against 0.967) and swung "
            "with the seed; with about 500 films it ranked them better (0.976-0.985). Compare "
            "this screener's held-out numbers on its card with threshold-only calibration (skcxr "
            "calibrate, skcxr.site.calibrate_screener), which keeps the base model's ranking."),
            stacklevel=2)

    from ..preprocessing import ImageLoader

    loader = ImageLoader(size=size, n_jobs=-1 if n_jobs is None else n_jobs)
    X = loader.transform(films.files)  # names any unreadable film: nothing is dropped
    out_of_fold = None
    if films.folds is not None:
        out_of_fold = _cross_fit(X, films, base, recipe, pos_label, random_state=random_state,
                                 device=device, verbose=verbose)
    classifier = _trained(X[films.fit], films.y[films.fit], films.groups[films.fit], base, recipe,
                          random_state=random_state, device=device, verbose=verbose)
    fitted_guard = _fit_guard(classifier, X, films, max_false_rejection,
                              random_state) if guard else None
    screener = _assemble(loader, classifier, fitted_guard, films, X, pos_label,
                         min_sensitivity, confidence, out_of_fold)
    del X
    comparison = _resolve_comparison(compare_with, base)
    screener.card = site_card(
        screener, films, base=base, comparison=comparison, recipe=recipe, size=size,
        name=name, source=source, command=command, random_state=random_state,
        seconds=time.perf_counter() - started, device=_device_text(classifier))
    return screener


def _input_size(size, base):
    if base is None:
        return 128 if size is None else int(size)
    base_size = tuple(base.classifier.input_shape_[1:])
    if size is not None and (int(size), int(size)) != base_size:
        raise ValueError(
            f"size={size} but the weights of {base.card.name!r} were trained on "
            f"{base_size[0]}x{base_size[1]} images: fine-tuning keeps the base's input size. "
            "Leave size out, or train from scratch (init=None) at another size.")
    return base_size[0] if base_size[0] == base_size[1] else base_size


def _recipe(base, preset, epochs, lr, freeze):
    """What the training step does, with the measured defaults filled in."""
    if base is not None:
        defaults = FINE_TUNE
        patterns = freeze_patterns(defaults["freeze"] if freeze == "default" else freeze or [],
                                   base.classifier)
        return {"start": "fine-tune", "init": base.card.name, "lr": lr or defaults["lr"],
                "epochs": epochs or defaults["epochs"], "freeze": patterns,
                "batch_size": defaults["batch_size"]}
    defaults = FROM_SCRATCH
    if freeze not in ("default", None, []):
        raise ValueError("freeze applies to fine-tuning (init=...); training from scratch "
                         "trains every layer.")
    return {"start": "from scratch", "preset": preset, "lr": lr,
            "epochs": epochs or defaults["epochs"], "freeze": [], "batch_size": None}


def _cross_fit(X, films, base, recipe, pos_label, *, random_state, device, verbose):
    """Out-of-fold scores: each fold scored by a network trained on the others."""
    scores = np.full(len(films.files), np.nan)
    for k, (train, scored) in enumerate(films.folds):
        classifier = _trained(X[train], films.y[train], films.groups[train], base, recipe,
                              random_state=random_state + 1 + k, device=device, verbose=verbose)
        proba = classifier.predict_proba(X[scored])
        scores[scored] = proba[:, list(classifier.classes_).index(pos_label)]
    return scores


def _trained(X, y, groups, base, recipe, **params):
    """:func:`_train`, refusing to go on after the user's Ctrl-C."""
    classifier = _train(X, y, groups, base, recipe, **params)
    if getattr(classifier, "fit_interrupted_", False):
        # skorch returns quietly from a Ctrl-C: a half-trained screener must not be made.
        raise KeyboardInterrupt("training was interrupted; no screener was made")
    return classifier


def _train(X, y, groups, base, recipe, *, random_state, device, verbose):
    """Step 2: the classifier, fine-tuned from the base weights or trained from scratch."""
    from ..classifier import CXRClassifier

    common = dict(max_epochs=recipe["epochs"], validation_fraction=None, patience=None,
                  random_state=random_state, device=device, verbose=verbose)
    if base is None:
        params = dict(common, **({"lr": recipe["lr"]} if recipe["lr"] else {}))
        return CXRClassifier.from_preset(recipe["preset"], **params).fit(X, y, groups=groups)
    from skorch.callbacks import Freezer

    callbacks = [("freeze", Freezer(recipe["freeze"]))] if recipe["freeze"] else None
    classifier = CXRClassifier.from_state(
        base.classifier.get_state(), lr=recipe["lr"], batch_size=recipe["batch_size"],
        warm_start=True, callbacks=callbacks, **common)
    # warm_start: fit continues from the base weights (class weights from these films).
    return classifier.fit(X, y, groups=groups)


def _fit_guard(classifier, X, films, max_false_rejection, random_state):
    """Step 3: an input guard fitted on the site's own films.

    Its scores are fitted on the training films; its threshold is set on the
    held-out patients' films, which the network never trained on, as it will
    never have trained on the films it screens. Set on training films (as the
    guard's own random split would), the threshold refused 1.9-2.0% of new
    site films (1.1-2.7% by seed) for a 1% target on the site-adaptation
    benchmark, and 0.7% set on the held-out patients: the network places its
    own training films closer together than new ones. Cross-fitting
    trains the final network on every film, so there the guard holds out
    patients of its own.
    """
    from sklearn.frozen import FrozenEstimator

    from ..guard import InputGuard

    guard = InputGuard(FrozenEstimator(classifier), max_false_rejection=max_false_rejection,
                       random_state=random_state)
    if films.folds is None:
        calibration = np.zeros(len(films.files), bool)
        calibration[films.held_out] = True
        fit_params = {"groups": films.groups, "calibration": calibration}
        X_guard = X
    else:
        fit_params = {"groups": films.groups[films.fit]}
        X_guard = X[films.fit]
    try:
        return guard.fit(X_guard, **fit_params)
    except ValueError as exc:
        raise ValueError(f"The input guard cannot be fitted on this site's films: {exc} Or "
                         "fit without a guard (guard=False; skcxr train --no-guard).") from None


def _assemble(loader, classifier, guard, films, X, pos_label, min_sensitivity, confidence,
              out_of_fold=None):
    """Step 4: the screener, at the threshold the held-out (or out-of-fold) scores guarantee."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import Pipeline

    from ..metrics import guaranteed_threshold
    from ..screener import Screener

    if out_of_fold is not None:
        # Every film, scored by a network that did not train on it. The final guard was
        # fitted on these films, so it does not choose among them: all count.
        score, accepted = out_of_fold, np.ones(len(out_of_fold), bool)
    else:
        score, accepted = accepted_scores(classifier, guard, X[films.held_out], pos_label)
    films.held_out_score, films.held_out_accepted = score, accepted
    point = guaranteed_threshold(films.y[films.held_out][accepted], score[accepted],
                                 min_sensitivity=min_sensitivity, confidence=confidence,
                                 pos_label=pos_label)
    films.operating_point = point
    pipeline = Pipeline([("imageloader", loader), ("cxrclassifier", classifier)])
    return Screener(FrozenEstimator(pipeline), threshold=point["threshold"], pos_label=pos_label,
                    guard=None if guard is None else guard)


def _resolve_comparison(compare_with, base):
    if compare_with is None:
        return None
    if isinstance(compare_with, str) and compare_with == "default":
        if base is not None:
            return base
        from ..pretrained import list_pretrained

        names = list_pretrained()
        return resolve_base(names[0]) if names else None
    return resolve_base(compare_with)


def _device_text(classifier):
    import torch

    device = classifier.device_
    if device is not None and device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    return (f"CPU ({platform.machine()}, {torch.get_num_threads()} threads; "
            f"torch {torch.__version__})")
