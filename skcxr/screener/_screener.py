"""Screener: a classifier over image files, its operating threshold and its input guard, as one estimator."""

import inspect
import os
import warnings
from numbers import Integral, Real

import numpy as np
from PIL import Image
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

from .._compat import HasMethods, Interval, StrOptions, validate_estimator_params
from .._versioning import VersionedPickleMixin
from ..exceptions import RefusedFilmError, RefusedFilmWarning
from ._backend import BACKENDS, backend_threshold, resolve_backend
from ._card import ModelCard
from ._parts import split_loader, unfrozen
from ._scoring import _finite, guard_and_score

# Label pairs whose flagged class goes without saying; any other pair needs pos_label.
CANONICAL_PAIRS = ({"NORMAL", "PNEUMONIA"}, {0, 1}, {False, True})
ON_REFUSAL = ("raise", "warn", "score")



class Screener(VersionedPickleMixin, ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """A screening model: flags films at an operating threshold, refuses films it was not made for.

    A scikit-learn classifier over image files (or over decoded images, as
    its estimator takes them). ``predict_proba`` gives the estimator's
    probabilities, ``predict`` flags ``pos_label`` where its probability
    reaches ``threshold``, and the input guard fitted with the model
    checks every film first: films it refuses (a photograph, a CT slice, a
    lateral film, a blank frame, a film unlike the training films) are not
    scored silently. :func:`skcxr.load_pretrained` and
    :func:`skcxr.fit_screener` return one; :meth:`save` writes it without
    pickling.

    Parameters
    ----------
    estimator : classifier
        Usually ``Pipeline([("imageloader", ImageLoader(...)),
        ("cxrclassifier", CXRClassifier(...))])`` over file paths. When it
        is already fitted the screener is usable without ``fit``; wrap it in
        :class:`~sklearn.frozen.FrozenEstimator` so that ``fit`` (and
        ``clone``) keep it as it is (``load_pretrained`` does).
    threshold : float, default=0.5
        Probability of ``pos_label`` from which a film is flagged. This is
        the threshold in use; the card records how its own was chosen
        (:func:`skcxr.metrics.select_threshold`, :func:`skcxr.fit_screener`).
    pos_label : label, default=None
        The class that is flagged. May be left out only when the classes are
        NORMAL/PNEUMONIA, 0/1 or False/True (the second is flagged); any
        other pair (e.g. ``"normal"``/``"PNEUMONIA"``) is an error without it.
    guard : fitted InputGuard or None, default=None
        Fitted on the training films of this model. ``fit`` refits a clone
        of it on the films it is given, with the fitted network.
    card : ModelCard or None, default=None
        What the model is, how its threshold was chosen, what it was
        validated on; shown by ``skcxr info`` and in reports.
    on_refusal : {"raise", "warn", "score"}, default="raise"
        What ``predict_proba`` and ``predict`` do with films the guard
        refuses: raise :class:`~skcxr.exceptions.RefusedFilmError` listing
        each file and its reason; score them all and warn
        (:class:`~skcxr.exceptions.RefusedFilmWarning`); or score them all
        as a plain classifier would (e.g. inside a search on films already
        checked). :meth:`refusals` tells which films are refused either way.
    backend : {"auto", "torch", "onnxruntime", "onnxruntime-int8"}, default="auto"
        What runs the network. "auto" is the fastest backend whose check
        passed: the int8 ONNX file a screener ships beside its weights (the
        shipped screener does), else PyTorch. "onnxruntime" exports the fp32
        network once into a cache folder, verified against PyTorch. A
        backend that cannot be used falls back to PyTorch with a
        :class:`BackendFallbackWarning`. Each shipped backend has its own
        threshold on the card, re-derived by the card's rule with its own
        scores: :attr:`decision_threshold` is the one in use.
    batch_size : int, default=64
        Files decoded and scored together (memory stays flat in the number
        of files).

    Attributes
    ----------
    estimator_ : classifier
        The fitted estimator (after ``fit``).
    guard_ : InputGuard
        The guard fitted with it (after ``fit``, when ``guard`` is given).
    classes_ : ndarray of shape (2,)
        The estimator's classes.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skcxr import CXRClassifier, ImageLoader, Screener
    >>> screen = Screener(make_pipeline(ImageLoader(size=224), CXRClassifier()),
    ...                   threshold=0.3, pos_label="PNEUMONIA")
    >>> # screen.fit(train.data, train.target_names[train.target]).predict(test.data)
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "threshold": [Interval(Real, 0, 1, closed="both")],
        "pos_label": [str, Integral, "boolean", None],
        "guard": [HasMethods(["refusals", "file_refusals"]), None],
        "card": [ModelCard, None],
        "on_refusal": [StrOptions(set(ON_REFUSAL))],
        "backend": [StrOptions(set(BACKENDS))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, estimator, *, threshold=0.5, pos_label=None, guard=None, card=None,
                 on_refusal="raise", backend="auto", batch_size=64):
        self.estimator = estimator
        self.threshold = threshold
        self.pos_label = pos_label
        self.guard = guard
        self.card = card
        self.on_refusal = on_refusal
        self.backend = backend
        self.batch_size = batch_size

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, groups=None, **fit_params):
        """Fit the estimator (unless frozen) and the guard on these films.

        Parameters
        ----------
        X : sequence of file paths (or images, as the estimator takes)
            The films.
        y : array-like of shape (n_samples,)
            Their labels.
        groups : array-like of shape (n_samples,), default=None
            Patient ids: the classifier's validation split and the guard's
            held-out films keep each patient on one side.
        **fit_params
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : Screener
            The fitted screener.
        """
        self._check_params()
        _check_label_pair(y, self.pos_label)
        fit_params = _with_groups(self.estimator, groups, fit_params)
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self._flagged_index()  # refuses an ambiguous label pair now, not at predict time
        self.__dict__.pop("_network", None)
        if self.guard is not None:
            # A guard measures distance in the features of *this* network:
            # a refitted network needs a refitted guard.
            loader, classifier = split_loader(self.estimator_)
            images = X if loader is None else loader.transform(X)
            self.guard_ = clone(self.guard).set_params(
                classifier=FrozenEstimator(classifier)).fit(images, groups=groups)
        return self

    def _check_params(self):
        validate_estimator_params(self)

    # ------------------------------------------------------------ accessors
    @property
    def fitted_estimator(self):
        """The fitted estimator that scores the films (``estimator_``, or ``estimator`` when prefit)."""
        if hasattr(self, "estimator_"):
            return self.estimator_
        check_is_fitted(self.estimator)
        return self.estimator

    @property
    def fitted_guard(self):
        """The guard that goes with the fitted estimator (or None)."""
        return getattr(self, "guard_", self.guard)

    @property
    def classes_(self):
        """The estimator's classes, in ``predict_proba``'s column order."""
        return self.fitted_estimator.classes_

    @property
    def flagged_class(self):
        """The class this screener flags (``pos_label``, or the second of a canonical pair)."""
        label = self.classes_[self._flagged_index()]
        return label.item() if isinstance(label, np.generic) else label

    @property
    def classifier(self):
        """The fitted classifier over decoded images (the pipeline after its loader)."""
        return split_loader(self.fitted_estimator)[1]

    @property
    def loader(self):
        """The fitted :class:`~skcxr.preprocessing.ImageLoader` that decodes files, or None."""
        return split_loader(self.fitted_estimator)[0]

    @property
    def decision_threshold(self):
        """The threshold ``predict`` applies: ``threshold``, or its backend's own on the card.

        When ``threshold`` is the card's, a backend other than PyTorch uses
        the threshold the card records for it (chosen by the same rule with
        that backend's scores); a threshold set by hand is used as given.
        """
        if not self.__sklearn_is_fitted__():
            return float(self.threshold)
        return backend_threshold(self, self._scorer().name)

    @property
    def backend_in_use(self):
        """The backend that runs the network: "torch", "onnxruntime" or "onnxruntime-int8"."""
        return self._scorer().name

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # What the estimator takes (file paths through an ImageLoader, or image batches).
        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        tags.classifier_tags.multi_class = False
        return tags

    def __sklearn_is_fitted__(self):
        try:
            self.fitted_estimator  # noqa: B018 - raises when nothing is fitted
        except NotFittedError:
            return False
        return True

    def _flagged_index(self):
        return _flagged_index(list(self.classes_), self.pos_label)

    # ----------------------------------------------------------- prediction
    def predict_proba(self, X):
        """Probability of each class, columns in ``classes_`` order, after the guard's checks.

        Parameters
        ----------
        X : sequence of file paths (or images, as the estimator takes)
            The films.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            The estimator's probabilities.

        Raises
        ------
        RefusedFilmError
            With ``on_refusal="raise"`` (the default), when the guard refuses
            any film: it lists each one and why (``error.refusals``).
        ValueError
            Naming a file that cannot be read.
        """
        check_is_fitted(self)
        self._check_params()
        if self.on_refusal == "score" or self.fitted_guard is None:
            return self._score_unguarded(X)
        refusals, proba = self.check_and_score(X, score_refused=self.on_refusal == "warn")
        refused = {i: r for i, r in enumerate(refusals) if r is not None}
        if refused:
            errors = {i: r for i, r in refused.items() if r.status == "error"}
            if errors:  # an unreadable file is never scored, whatever on_refusal says
                raise RefusedFilmError(errors, _item_names(X, errors), unreadable=True)
            if self.on_refusal == "raise":
                raise RefusedFilmError(refused, _item_names(X, refused))
            warnings.warn(RefusedFilmWarning(refused, _item_names(X, refused)), stacklevel=2)
        return proba

    def predict(self, X):
        """Flag ``pos_label`` where its probability reaches ``threshold``; the other class elsewhere.

        Parameters
        ----------
        X : sequence of file paths (or images, as the estimator takes)
            The films.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            One of ``classes_`` per film.
        """
        proba = self.predict_proba(X)
        flagged = self._flagged_index()
        return np.where(proba[:, flagged] >= self.decision_threshold, self.classes_[flagged],
                        self.classes_[1 - flagged])

    def refusals(self, X):
        """Why the guard refuses each film (or why it cannot be read); None where it is accepted.

        Never raises for a bad file: an unreadable one gets a refusal with
        status ``"error"``.

        Parameters
        ----------
        X : sequence of file paths (or images, as the estimator takes)
            The films.

        Returns
        -------
        refusals : ndarray of object, shape (n_samples,)
            A :class:`~skcxr.guard.Refusal` or None per film.
        """
        check_is_fitted(self)
        if self.fitted_guard is None:
            raise ValueError(
                "This screener has no input guard: it cannot tell which films it was not made for."
            )
        refusals, _ = self.check_and_score(X)
        return np.asarray(refusals + [None], dtype=object)[:-1]  # a 1-D array of objects

    def check_and_score(self, X, *, score_refused=False):
        """The guard's judgement and the probabilities of every film, from one pass.

        Never raises for a refused or unreadable film: it gets a refusal and,
        unless ``score_refused``, a row of NaN.

        Parameters
        ----------
        X : sequence of file paths (or images, as the estimator takes)
            The films.
        score_refused : bool, default=False
            Also score films the guard refuses (not unreadable ones).

        Returns
        -------
        refusals : list of (Refusal or None)
            One per film: None for an accepted film.
        proba : ndarray of shape (n_samples, 2)
            The probabilities; NaN rows for films not scored.
        """
        check_is_fitted(self)
        _check_not_one_path(X)
        # The one file-then-image path a screen takes, reading the next batch while this one
        # is scored (as skcxr screen does).
        from ._worklist import _prefetched, _read_chunk

        loader, _ = split_loader(self.fitted_estimator)
        network, guard = self._scorer(), self.fitted_guard
        items = list(X) if loader is not None else X
        n = len(items)
        refusals, proba = [None] * n, np.full((n, 2), np.nan)
        batches = [range(start, min(start + self.batch_size, n))
                   for start in range(0, n, self.batch_size)]

        def read(batch):
            if loader is not None and all(isinstance(items[i], (str, os.PathLike)) for i in batch):
                return _read_chunk([items[i] for i in batch], loader, guard, None)
            return None  # PIL images or arrays: nothing to check in a file

        for batch, films in zip(batches, _prefetched(read, batches)):
            start = batch.start
            if films is not None:
                for i, film in zip(batch, films):
                    refusals[i] = film.refusal
                decoded = [i for i, film in zip(batch, films) if film.array is not None]
                images = (np.stack([films[i - start].array for i in decoded]) if decoded
                          else None)
            elif loader is not None:  # PIL images or arrays: the file checks on their pixels
                for i in batch:
                    refusals[i] = _in_memory_refusal(items[i], guard)
                decoded = [i for i in batch if refusals[i] is None]
                images = loader.transform([items[i] for i in decoded]) if decoded else None
            else:
                decoded = list(batch)
                images = np.asarray(items[start:start + len(batch)])
            if images is not None:
                judged, scores = guard_and_score(images, network, guard, score_refused=score_refused)
                for k, i in enumerate(decoded):
                    refusals[i] = judged[k]
                    proba[i] = scores[k]
            if score_refused:
                # Films refused from the file alone were not decoded for the network.
                todo = [i for i in batch if refusals[i] is not None and refusals[i].status
                        == "unsuitable" and np.isnan(proba[i]).any()]
                if todo:
                    proba[todo] = network.predict_proba(loader.transform([items[i] for i in todo]))[0]
        return refusals, proba

    def _score_unguarded(self, X):
        """Probabilities from the backend in use, with no guard (so ``decision_threshold`` fits them)."""
        network = self._scorer()
        if network.name == "torch":
            return _finite(self.fitted_estimator.predict_proba(X))
        _check_not_one_path(X)
        loader, _ = split_loader(self.fitted_estimator)
        items = list(X) if loader is not None else X
        chunks = []
        for start in range(0, len(items), self.batch_size):
            chunk = items[start:start + self.batch_size]
            images = loader.transform(chunk) if loader is not None else np.asarray(chunk)
            chunks.append(_finite(network.predict_proba(images)[0]))
        return np.concatenate(chunks) if chunks else np.empty((0, 2))

    def _scorer(self):
        """The backend that runs the network (resolved once per fitted screener)."""
        network = self.__dict__.get("_network")
        if network is None:
            network = self.__dict__["_network"] = resolve_backend(self)
        return network

    def set_params(self, **params):
        """Set parameters, as scikit-learn does; a new backend or estimator is resolved anew.

        Parameters
        ----------
        **params : dict
            Screener parameters (and ``estimator__*``).

        Returns
        -------
        self : Screener
            This screener, its parameters set.
        """
        self.__dict__.pop("_network", None)
        return super().set_params(**params)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_network", None)  # rebuilt on first use
        return state

    # --------------------------------------------------------------- saving
    def save(self, folder, *, overwrite=False):
        """Write the screener to ``folder`` without pickling: card, weights, guard.

        The folder holds ``card.json`` (the :class:`ModelCard`, with the
        sha256 of every file beside it), ``weights.pt`` (the half-precision
        network, read back with ``torch.load(weights_only=True)``) and
        ``guard.npz`` (the guard's arrays, read back with
        ``numpy.load(allow_pickle=False)``). It is written to a temporary
        folder beside it and renamed when complete, so an interrupted save
        never leaves a folder that looks like a screener.
        :func:`skcxr.load_screener` reads it back.

        Parameters
        ----------
        folder : path-like
            Where to write; created.
        overwrite : bool, default=False
            Replace an existing screener folder.

        Returns
        -------
        card : ModelCard
            The card as written.
        """
        from ._folder import save_screener

        return save_screener(self, folder, overwrite=overwrite)


def _flagged_index(classes, pos_label):
    """The column of the class a screener with these classes and ``pos_label`` flags."""
    if pos_label is not None:
        if pos_label not in classes:
            raise ValueError(f"pos_label={pos_label!r} is not one of the classes {classes}.")
        return classes.index(pos_label)
    plain = [c.item() if isinstance(c, np.generic) else c for c in classes]
    if not any(set(plain) == pair and all(type(c) is type(next(iter(pair))) for c in plain)
               for pair in CANONICAL_PAIRS):
        # Suggest the class the user most likely means, spelt as it is in their labels.
        likely = next((c for c in plain if str(c).strip().upper() == "PNEUMONIA"), None)
        mixed_case = any(str(c).strip().upper() in ("NORMAL", "PNEUMONIA") for c in plain)
        raise ValueError(
            f"pos_label is required: the classes {plain} are not NORMAL/PNEUMONIA, 0/1 or "
            "False/True, so which one to flag cannot be assumed"
            + (" (mixed-case labels such as 'normal'/'PNEUMONIA' sort differently)" if mixed_case
               else "")
            + (f". Pass pos_label={likely!r} (or your positive class)." if likely is not None
               else f". Pass the class to flag as pos_label (one of {plain})."))
    return 1


def _check_label_pair(y, pos_label):
    """Refuse, before any training, a pair of labels whose flagged class is not known.

    Other problems with ``y`` (one class, three, a 2-D array) are left to
    the estimator's own checks, which name them.
    """
    try:
        labels = sorted(set(np.asarray(y, dtype=object).ravel().tolist()), key=str)
    except TypeError:
        return
    if len(labels) == 2:
        _flagged_index(labels, pos_label)


def _in_memory_refusal(item, guard):
    """The guard's file checks on an image given in memory (size and colour, as a file's are).

    Without them a colour photograph or an 8-pixel thumbnail passed as an
    array would be scored, where the same picture saved as a file is refused.
    """
    from ._worklist import _reading_checks

    checks = _reading_checks(guard)
    if checks is None:
        return None
    if isinstance(item, np.ndarray) and item.ndim in (2, 3):  # (height, width[, channels])
        if item.ndim == 3 and item.shape[2] not in (1, 3, 4):
            return None  # not an image as a list item: the loader says what it is
        colour = item.dtype == np.uint8 and item.ndim == 3 and item.shape[2] in (3, 4)
        item = Image.fromarray(item[..., :3]) if colour else Image.new("L", item.shape[1::-1])
    if not isinstance(item, Image.Image):
        return None
    return checks.image_refusal(item)


def _with_groups(estimator, groups, fit_params):
    """``fit_params`` with ``groups`` routed to the classifier that takes them."""
    if groups is None:
        return fit_params
    estimator = unfrozen(estimator)
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        if "groups" in inspect.signature(last.fit).parameters:
            return {**fit_params, f"{name}__groups": groups}
    elif "groups" in inspect.signature(estimator.fit).parameters:
        return {**fit_params, "groups": groups}
    return fit_params


def _check_not_one_path(X):
    """A ValueError for one path where a sequence of films is expected.

    A string is a sequence: without this each of its characters would be
    read as a file name, and the error would list "/", "t", "m", ...
    """
    if isinstance(X, (str, bytes, os.PathLike)):
        raise ValueError(f"X must be a sequence of films; got a single {type(X).__name__} "
                         f"({os.fsdecode(X)[:200]!r}). Wrap it in a list: [path].")


def _item_names(X, indices):
    """How to name each refused item in a message: its path, or its position."""
    items = list(X)
    return {i: (os.fsdecode(items[i]) if isinstance(items[i], (str, os.PathLike))
                else f"{'PIL image' if isinstance(items[i], Image.Image) else 'image'} at index {i}")
            for i in indices}
