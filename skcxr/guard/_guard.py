"""InputGuard: refuse images the classifier was not made for, with a reason."""

import functools
import warnings
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, KFold, ShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import ThreadpoolController, threadpool_limits

from .._compat import HasMethods, Interval, StrOptions, validate_estimator_params
from ..utils import check_image_batch
from ._file_checks import file_refusals
from ._image_checks import LayoutCheck, corrected, frame_refusals
from ._refusals import Refusal, distinct_numbers, messages
from ._scores import FeatureGaussian, ThumbnailPCA, thumbnails
from ._state import STATE_FORMAT, check_guard_state

SCORE_NAMES = ("features", "thumbnail")
N_FOLDS = 5  # out-of-fold scores that put the two novelty scores on one scale
# "auto" aims at this share when the held-out films allow it: with ~100 of them the
# realised rate on new films varies by about a point, so 1% keeps it under 2%.
AUTO_FALSE_REJECTION = 0.01


class InputGuard(OutlierMixin, BaseEstimator):
    """Refuse images a fitted chest X-ray classifier was not made for, saying why.

    A novelty detector with scikit-learn's interface (as
    :class:`~sklearn.neighbors.LocalOutlierFactor` with ``novelty=True``):
    ``predict`` gives +1 for an image the classifier may score and -1 for
    one it should not. Each refusal has a code and a short reason
    (:meth:`refusals`), from

    * cheap checks of the decoded image: a near-constant frame, colour, a
      film inverted, on its side or upside down (:mod:`skcxr.guard` user
      guide);
    * a *novelty* score: how unlike the training films the image is, the
      larger of two robust z-scores: the Mahalanobis distance of the
      classifier's penultimate features (shrunk covariance) and the
      probabilistic-PCA likelihood of a 16x16 thumbnail of the image
      itself.

    ``fit`` learns both from training films and sets the novelty threshold on
    films of **held-out patients** (``groups``) so that about
    ``max_false_rejection`` of valid films are refused: split-conformal, the
    scores are fitted without the held-out films, so the rate carries to new
    films from the same population. Films from another site or scanner may
    be refused more often; measure that on a few of your own.

    :meth:`file_refusals` adds checks that need the file rather than the
    decoded image (DICOM headers, colour, aspect ratio, size).

    Parameters
    ----------
    classifier : CXRClassifier
        A fitted classifier; the guard reads its :meth:`~CXRClassifier.embed`
        features and never trains it. Wrap it in
        :class:`~sklearn.frozen.FrozenEstimator` so that ``clone`` (and
        anything that clones, such as a search) keeps it fitted.
    max_false_rejection : float or "auto", default=0.02
        Share of valid films (held-out training patients) the guard may
        refuse, all checks together. "auto" is 0.01 when the held-out films
        can set a threshold for it (99 films), else the smallest share they
        can (1 / (held-out films + 1), rounded up to 0.1%): for sites of a
        few hundred films, whose realised rate varies by about a point
        around the target. ``false_rejection_`` says which was used.
    calibration_size : float, default=0.2
        Share of the patients (of the images without ``groups``) held out in
        ``fit`` to set the threshold; the rest fit the scores.
    n_components : int, default=32
        Principal components of the thumbnail model.
    random_state : int, RandomState instance or None, default=None
        Seeds the held-out split.
    blas_threads : int or None, default=None
        BLAS threads for the small dense eigendecompositions of ``fit``; None
        leaves the library's normal threading. On a busy 2-core machine 1
        thread fitted 5-6x faster than 2 (they wait on each other).

    Attributes
    ----------
    offset_ : float
        Minus the novelty threshold: ``decision_function = score_samples -
        offset_`` is negative for images refused for novelty.
    threshold_ : float
        The novelty above which an image is refused.
    n_features_in_ : int
        Number of penultimate features of the classifier.
    input_shape_ : tuple
        ``(channels, height, width)`` of the images, as the classifier's.
    calibration_rejection_ : float
        Share of the held-out films refused (all checks), about
        ``max_false_rejection`` by construction.
    n_calibration_ : int
        Number of held-out films the threshold was set on.
    false_rejection_ : float
        The share the threshold was set for (``max_false_rejection`` with
        "auto" resolved).

    See Also
    --------
    fit_input_guard : Fit a guard for a fitted ``ImageLoader -> CXRClassifier`` pipeline.
    file_refusals : The file-level checks, without a guard.

    Examples
    --------
    >>> from skcxr.guard import InputGuard
    >>> # guard = InputGuard(model[-1]).fit(model[:-1].transform(train.data),
    >>> #                                   groups=train.groups)
    >>> # guard.refusals(model[:-1].transform(new_files))
    """

    _parameter_constraints = {
        "classifier": [HasMethods(["embed"])],
        "max_false_rejection": [Interval(Real, 0, 1, closed="neither"), StrOptions({"auto"})],
        "calibration_size": [Interval(Real, 0, 1, closed="neither")],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "blas_threads": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, classifier, *, max_false_rejection=0.02, calibration_size=0.2,
                 n_components=32, random_state=None, blas_threads=None):
        self.classifier = classifier
        self.max_false_rejection = max_false_rejection
        self.calibration_size = calibration_size
        self.n_components = n_components
        self.random_state = random_state
        self.blas_threads = blas_threads

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, groups=None, *, calibration=None):
        """Learn what the training films look like and set the threshold.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Decoded training films, as the classifier takes them.
        y : None
            Ignored.
        groups : array-like of shape (n_samples,), default=None
            Patient ids: a share ``calibration_size`` of the patients is held
            out to set the threshold. Without ``groups`` the images are held
            out one by one, so a patient's films may fall on both sides and
            the threshold is a little low (more refusals on new patients).
        calibration : array-like of bool of shape (n_samples,), default=None
            The films that set the threshold (True); the others fit the
            scores. None holds out ``calibration_size`` of the patients at
            random. Name films the classifier never trained on when it
            trained on the rest: its features of its own training films are
            closer to one another than those of new films, so a threshold
            set on them refuses new films more often than
            ``max_false_rejection``. They must be other patients' films.

        Returns
        -------
        self : InputGuard
            The fitted guard.
        """
        self._check_params()
        X = self._check_input(X)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        fit_idx, cal_idx = (self._split(len(X), groups, seed) if calibration is None
                            else self._given_split(len(X), groups, calibration))
        features = self.classifier.embed(X)
        self.n_features_in_ = features.shape[1]
        frame = frame_refusals(X)
        films = fit_idx[_accepted(frame[fit_idx])]
        n_patients = len(films) if groups is None else len(np.unique(np.asarray(groups)[films]))
        if n_patients < N_FOLDS:
            raise ValueError(
                f"{len(films)} films of {n_patients} patient(s) are left to fit the scores "
                f"(after holding out calibration_size={self.calibration_size} and dropping "
                f"near-constant or coloured images); the guard needs films of at least "
                f"{N_FOLDS} patients, and many more to be useful."
            )
        self._fit_scores(X[films], features[films],
                         None if groups is None else np.asarray(groups)[films], seed)
        novelty = self._novelty(X[cal_idx], features[cal_idx])
        # A superset of what the named checks refuse once the threshold is
        # set (suspicions count unverified), so the rate is kept.
        refused_by_checks = self._refused_by_checks(X[cal_idx])
        self.threshold_ = _conformal_quantile(
            np.where(refused_by_checks, np.inf, novelty), self.false_rejection_)
        if not np.isfinite(self.threshold_):
            # The named checks alone use up the budget: refuse nothing more
            # for novelty, and say so rather than quietly exceed the rate.
            self.threshold_ = float(np.max(novelty[~refused_by_checks], initial=0.0))
            warnings.warn(
                f"The named checks refuse {np.mean(refused_by_checks):.1%} of the held-out "
                f"films, more than the false-rejection share {self.false_rejection_}; the "
                "novelty threshold is set above every held-out film. Are these films "
                "blank, coloured, inverted or turned?", UserWarning, stacklevel=2)
        self.offset_ = -self.threshold_
        self.calibration_rejection_ = float(np.mean(refused_by_checks | (novelty > self.threshold_)))
        self.n_calibration_ = len(cal_idx)
        return self

    def _check_params(self):
        validate_estimator_params(self)
        check_is_fitted(self.classifier, msg=(
            "InputGuard needs a fitted classifier; %(name)s is not fitted yet. Fit it first "
            "(the guard reads its features and never trains it), and wrap it in "
            "sklearn.frozen.FrozenEstimator so that clones keep it fitted."))

    def _check_input(self, X):
        channels, *size = self.classifier.input_shape_
        X = np.ascontiguousarray(check_image_batch(X, channels=channels, size=tuple(size)))
        self.input_shape_ = tuple(X.shape[1:])
        return X

    def _split(self, n_samples, groups, seed):
        """Indices fitting the scores and indices setting the threshold."""
        index = np.arange(n_samples)
        if groups is None:
            splitter = ShuffleSplit(1, test_size=self.calibration_size, random_state=seed)
            fit_idx, cal_idx = next(splitter.split(index))
        else:
            groups = np.asarray(groups)
            if groups.shape != (n_samples,):
                raise ValueError(f"groups has shape {groups.shape}; expected ({n_samples},), "
                                 "one patient id per image.")
            if len(np.unique(groups)) < 2:
                raise ValueError("groups names a single patient; holding out patients "
                                 "needs at least two.")
            splitter = GroupShuffleSplit(1, test_size=self.calibration_size, random_state=seed)
            fit_idx, cal_idx = next(splitter.split(index, groups=groups))
        return self._checked_split(fit_idx, cal_idx, "raise calibration_size")

    def _given_split(self, n_samples, groups, calibration):
        """The split ``fit(calibration=...)`` names, checked."""
        calibration = np.asarray(calibration)
        if calibration.shape != (n_samples,) or calibration.dtype != bool:
            raise ValueError(f"calibration must be a boolean mask of shape ({n_samples},), one "
                             f"entry per image; got {calibration.dtype} of shape "
                             f"{calibration.shape}.")
        fit_idx, cal_idx = np.flatnonzero(~calibration), np.flatnonzero(calibration)
        if len(fit_idx) == 0 or len(cal_idx) == 0:
            raise ValueError("calibration must leave films on both sides: some to fit the "
                             "scores (False) and some to set the threshold (True).")
        if groups is not None:
            groups = np.asarray(groups)
            shared = set(groups[fit_idx]) & set(groups[cal_idx])
            if shared:
                raise ValueError(
                    f"calibration splits patient(s) {sorted(map(str, shared))[:3]} across the "
                    "films fitting the scores and those setting the threshold; a patient's "
                    "films must all be on one side.")
        return self._checked_split(fit_idx, cal_idx, "set more films' calibration to True")

    def _checked_split(self, fit_idx, cal_idx, more_held_out):
        self.false_rejection_ = self._false_rejection(len(cal_idx))
        needed = int(np.ceil(1 / self.false_rejection_)) - 1
        if len(cal_idx) < needed:
            raise ValueError(
                f"{len(cal_idx)} held-out images cannot set a threshold for "
                f"max_false_rejection={self.max_false_rejection}: that needs at least "
                f"{needed}. Fit on more films, or {more_held_out} or raise "
                "max_false_rejection."
            )
        return fit_idx, cal_idx

    def _false_rejection(self, n_calibration):
        """The share to set the threshold for, "auto" resolved for ``n_calibration`` films."""
        if not (isinstance(self.max_false_rejection, str) and self.max_false_rejection == "auto"):
            return float(self.max_false_rejection)
        smallest = np.ceil(1000 / (n_calibration + 1)) / 1000  # what n films can set
        return float(max(AUTO_FALSE_REJECTION, smallest))

    def _fit_scores(self, X, features, groups, seed):
        thumbs = thumbnails(X)
        # The two scores become robust z-scores (median and MAD of their
        # logs) so that they share one scale. Both models fit their own
        # films much more closely than new ones (hundreds of dimensions
        # from a few thousand films), so the z-scores are taken from
        # out-of-fold scores: each film scored by models fitted without its
        # patient.
        logs = np.empty((len(X), len(SCORE_NAMES)))
        folds = (GroupKFold(N_FOLDS) if groups is not None
                 else KFold(N_FOLDS, shuffle=True, random_state=seed))
        limit = (nullcontext() if self.blas_threads is None
                 else threadpool_limits(self.blas_threads, user_api="blas"))
        with limit:
            for train, held_out in folds.split(thumbs, groups=groups):
                feature_model, thumbnail_model = self._score_models(features[train],
                                                                    thumbs[train])
                logs[held_out] = _log_scores(feature_model, thumbnail_model,
                                             features[held_out], thumbs[held_out])
            self.feature_model_, self.thumbnail_model_ = self._score_models(features, thumbs)
        self.score_median_ = np.median(logs, axis=0)
        self.score_scale_ = 1.4826 * np.median(np.abs(logs - self.score_median_), axis=0) + 1e-9
        self.layout_check_ = LayoutCheck().fit(thumbs)

    def _score_models(self, features, thumbs):
        return (FeatureGaussian().fit(features),
                ThumbnailPCA(self.n_components).fit(thumbs))

    def _log_scores(self, features, thumbs):
        return _log_scores(self.feature_model_, self.thumbnail_model_, features, thumbs)

    def _novelty(self, X, features=None):
        if features is None:
            features = self.classifier.embed(X)
        if features.shape[1] != self.n_features_in_:
            raise ValueError(
                f"The classifier gives {features.shape[1]} features per image but the guard "
                f"was fitted on {self.n_features_in_}: it belongs to another classifier."
            )
        with _one_blas_thread():
            logs = self._log_scores(features, thumbnails(X))
        return ((logs - self.score_median_) / self.score_scale_).max(axis=1)

    def _named_refusals(self, X):
        """Refusals from the named checks, given the fitted threshold (None where none).

        A suspected inverted or turned film is named so only when, inverted
        or turned back, it passes as a film; otherwise the novelty judges it
        (a face or a page may correlate with the films' layout too).
        """
        refusals = frame_refusals(X)
        corrections, suspected = self.layout_check_.suspects(thumbnails(X))
        # Turning a non-square image by 90 degrees changes its shape: the
        # network cannot check it, so such suspicions are left to the novelty.
        keeps_shape = (X.shape[2] == X.shape[3]) | (corrections % 2 == 0)
        todo = np.flatnonzero(_accepted(refusals) & (corrections >= 0) & keeps_shape)
        if len(todo):
            fixed = corrected(X[todo], corrections[todo])
            passes = _accepted(frame_refusals(fixed)) & (self._novelty(fixed) <= self.threshold_)
            refusals[todo[passes]] = suspected[todo[passes]]
        return refusals

    def _refused_by_checks(self, X):
        """Images any named check may refuse: layout suspicions unverified (before a threshold)."""
        corrections, _ = self.layout_check_.suspects(thumbnails(X))
        return ~_accepted(frame_refusals(X)) | (corrections >= 0)

    # ------------------------------------------------------------ predicting
    def score_samples(self, X):
        """Score each image by minus its novelty: higher is more like the training films.

        Only the novelty score; the named checks of :meth:`reasons` may refuse
        an image whatever its score.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as the classifier takes them.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus the novelty.
        """
        check_is_fitted(self)
        return -self._novelty(self._check_fitted_input(X))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for images refused for novelty.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as the classifier takes them.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Shifted scores; below 0 is refused for novelty.
        """
        return self.score_samples(X) - self.offset_

    def refusals(self, X, *, features=None, return_proba=False):
        """Why each image is refused: a :class:`Refusal`, or None for an accepted image.

        The named checks come first (near-constant frame, colour, inverted,
        on its side, upside down); then the novelty: code
        ``"unlike_training"``, e.g. "unlike the training films (novelty
        7.31, above the limit 4.12 that 98% of the training films stay
        under)".

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as the classifier takes them.
        features : ndarray of shape (n_samples, n_features), default=None
            The classifier's penultimate features of ``X``
            (:meth:`CXRClassifier.embed`), when the caller has them already
            (e.g. from the same pass that gave the scores); computed here
            otherwise.
        return_proba : bool, default=False
            Also return the classifier's ``predict_proba(X)``, from the same
            pass through the network: screening and guarding then cost one
            forward pass, not two. Use the probabilities of accepted images
            only. Not with ``features``.

        Returns
        -------
        refusals : ndarray of object, shape (n_samples,)
            A :class:`Refusal` or None per image.
        proba : ndarray of shape (n_samples, 2)
            Only with ``return_proba=True``.
        """
        check_is_fitted(self)
        X = self._check_fitted_input(X)
        proba = None
        if return_proba:
            if features is not None:
                raise ValueError("Pass features or return_proba=True, not both: with features "
                                 "given, the guard runs no network to take probabilities from.")
            features, proba = self.classifier.embed(X, return_proba=True)
        novelty = self._novelty(X, features)
        refusals = self._named_refusals(X)
        limit = f"{1 - self.false_rejection_:.1%}".replace(".0%", "%")
        for i in np.flatnonzero(_accepted(refusals) & (novelty > self.threshold_)):
            value, threshold = distinct_numbers(novelty[i], self.threshold_)
            refusals[i] = Refusal(
                "unlike_training",
                f"unlike the training films (novelty {value}, above the limit {threshold} that "
                f"{limit} of the training films stay under)")
        return (refusals, proba) if return_proba else refusals

    def reasons(self, X):
        """Why each image is refused, as sentences; ``""`` for an accepted image.

        :meth:`refusals` gives the same with a code for each.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as the classifier takes them.

        Returns
        -------
        reasons : ndarray of str, shape (n_samples,)
            A sentence per refused image, ``""`` per accepted one.
        """
        return np.asarray(messages(self.refusals(X)), dtype=str)

    def predict(self, X):
        """+1 for an image the classifier may score, -1 for a refused one.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as the classifier takes them.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Equals ``np.where(refusals is None, 1, -1)`` for ``refusals = self.refusals(X)``.
        """
        return np.where(_accepted(self.refusals(X)), 1, -1)

    def file_refusals(self, paths):
        """Why each file is refused before decoding; None when nothing is found.

        DICOM header checks (Modality, ViewPosition, BodyPartExamined) and,
        for other images, colour, aspect ratio and size; see
        :func:`skcxr.guard.file_refusals`, which this calls with its default
        limits. Needs neither the classifier nor a fitted guard, and never
        raises for a bad file (it gets None; decoding reports it).

        Parameters
        ----------
        paths : sequence of str or path-like
            Image or DICOM files.

        Returns
        -------
        refusals : list of (Refusal or None)
            One per path.
        """
        return file_refusals(paths)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The classifier's image batches (n, channels, H, W) or (n, H, W), never 2-D features.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags

    def _check_fitted_input(self, X):
        channels, *size = self.input_shape_
        # Contiguous: torch cannot take a flipped or rotated numpy view.
        return np.ascontiguousarray(check_image_batch(X, channels=channels, size=tuple(size)))

    # --------------------------------------------------------- serialisation
    def get_state(self):
        """The fitted guard as a flat dict of numpy arrays, floats, ints and strings.

        Stored beside a classifier's weights (e.g. with
        ``torch.save``/``torch.load(weights_only=True)`` after turning the
        arrays into tensors), it is restored by :meth:`from_state`; no
        object is pickled.

        Returns
        -------
        state : dict
            Everything :meth:`from_state` needs besides the classifier.
        """
        check_is_fitted(self)
        state = {
            "format": STATE_FORMAT,
            "max_false_rejection": float(self.false_rejection_),
            "calibration_size": float(self.calibration_size),
            "n_components": int(self.n_components),
            "threshold": float(self.threshold_),
            "n_features_in": int(self.n_features_in_),
            "input_shape": np.asarray(self.input_shape_, dtype=np.int64),
            "calibration_rejection": float(self.calibration_rejection_),
            "n_calibration": int(self.n_calibration_),
            "score_median": self.score_median_,
            "score_scale": self.score_scale_,
        }
        if isinstance(self.random_state, Integral):
            state["random_state"] = int(self.random_state)
        state.update(self.feature_model_.to_state("features."))
        state.update(self.thumbnail_model_.to_state("thumbnail."))
        state.update(self.layout_check_.to_state("layout."))
        return state

    @classmethod
    def from_state(cls, state, classifier):
        """A fitted guard from :meth:`get_state`'s dict and the classifier it was fitted for.

        Parameters
        ----------
        state : dict
            Values may be numpy arrays, torch tensors or Python numbers.
        classifier : CXRClassifier
            The fitted classifier the guard was fitted with.

        Returns
        -------
        guard : InputGuard
        """
        state = {key: _to_numpy(value) for key, value in state.items()}
        check_guard_state(state)
        guard = cls(classifier, max_false_rejection=float(state["max_false_rejection"]),
                    calibration_size=float(state["calibration_size"]),
                    n_components=int(state["n_components"]),
                    random_state=int(state["random_state"]) if "random_state" in state else None)
        input_shape = tuple(int(v) for v in state["input_shape"])
        fitted_shape = tuple(getattr(classifier, "input_shape_", ()))
        if fitted_shape != input_shape:
            raise ValueError(
                f"The guard was fitted on images of shape {input_shape} but the classifier "
                f"takes {fitted_shape or 'nothing yet (not fitted)'}: it belongs to another "
                "classifier."
            )
        guard.input_shape_ = input_shape
        guard.false_rejection_ = float(state["max_false_rejection"])
        guard.threshold_ = float(state["threshold"])
        guard.offset_ = -guard.threshold_
        guard.n_features_in_ = int(state["n_features_in"])
        guard.calibration_rejection_ = float(state["calibration_rejection"])
        guard.n_calibration_ = int(state["n_calibration"])
        guard.score_median_ = np.asarray(state["score_median"], dtype=np.float64)
        guard.score_scale_ = np.asarray(state["score_scale"], dtype=np.float64)
        guard.feature_model_ = FeatureGaussian.from_state(state, "features.")
        guard.thumbnail_model_ = ThumbnailPCA.from_state(state, "thumbnail.")
        guard.layout_check_ = LayoutCheck.from_state(state, "layout.")
        return guard


@functools.cache
def _blas_controller():
    return ThreadpoolController()  # finding the loaded BLAS libraries takes ~2 ms: once


def _one_blas_thread():
    """A context in which BLAS runs on one thread.

    A batch's novelty is a few small products (64 x 512 by 512 x 512): one
    thread does them in about 1.5 ms. Two wake OpenBLAS's workers, which
    then spin against the network's and the decoding threads: on 2 cores
    that made the guard cost +36% of a guarded ``predict_proba`` of the
    test films instead of +13% (benchmarks/guard_cost.py).
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def _accepted(refusals):
    """A boolean mask: True where an object array of refusals holds None."""
    return np.fromiter((r is None for r in refusals), dtype=bool, count=len(refusals))


def _log_scores(feature_model, thumbnail_model, features, thumbs):
    return np.log(np.column_stack([feature_model.score(features),
                                   thumbnail_model.score(thumbs)]) + 1e-12)


def _conformal_quantile(scores, rate):
    """The split-conformal threshold: at most ``rate`` of new valid films score above it.

    The ceil((n + 1)(1 - rate))-th smallest of n held-out scores; with
    exchangeable films this bounds the false-rejection rate by ``rate``.
    """
    scores = np.sort(scores)
    rank = int(np.ceil((len(scores) + 1) * (1 - rate)))
    return float(scores[min(rank, len(scores)) - 1])


def _to_numpy(value):
    if hasattr(value, "detach"):  # a torch tensor from a weights file
        value = value.detach().cpu().numpy()
        return value.item() if value.ndim == 0 else value
    return value
