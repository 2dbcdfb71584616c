"""Screener: a classifier over image files, its operating threshold and its input guard, as one estimator."""

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .._compat import HasMethods
from .._versioning import VersionedPickleMixin
from ..preprocessing import ImageLoader


class Screener(VersionedPickleMixin, FixedThresholdClassifier):
    """A screening model: flags films at a fixed operating threshold, refuses films it was not made for.

    A :class:`~sklearn.model_selection.FixedThresholdClassifier` (``predict``
    calls ``pos_label`` when its probability reaches ``threshold``;
    ``predict_proba`` is the estimator's) that also carries the input guard
    fitted with it and a model card. It is what
    :func:`skcxr.load_pretrained` returns and what ``skcxr train`` writes.

    ``predict_proba`` and ``predict`` score whatever they are given, as
    every scikit-learn classifier does; :meth:`refusals` (and ``skcxr
    screen``, which uses it) says which inputs the guard refuses and why.

    Parameters
    ----------
    estimator : estimator over images
        A classifier taking what the screen is given, usually
        ``Pipeline([("imageloader", ImageLoader(...)), ("cxrclassifier", CXRClassifier(...))])``
        over file paths. Used as given when already fitted (the threshold is
        then applied without refitting).
    threshold : float or "auto", default="auto"
        Probability of ``pos_label`` from which a film is flagged; choose it
        on validation patients (:func:`skcxr.metrics.select_threshold`).
        "auto" is 0.5.
    pos_label : label, default=None
        The class that is flagged (e.g. "PNEUMONIA"); by default the
        second of ``classes_``.
    response_method : {"auto", "predict_proba", "decision_function"}, default="auto"
    guard : fitted input guard or None, default=None
        An :class:`skcxr.guard.InputGuard` fitted on the training films of
        this model; ``fit`` refits it along with the estimator.
    card : dict or None, default=None
        The model card: what the model is, how its threshold was chosen,
        what it was validated on. Shown by ``skcxr info`` and in reports.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skcxr import CXRClassifier, ImageLoader, Screener
    >>> screen = Screener(make_pipeline(ImageLoader(size=224), CXRClassifier()),
    ...                   threshold=0.3, pos_label="PNEUMONIA")
    >>> # screen.fit(train.data, train.target_names[train.target]).predict(test.data)
    """

    _parameter_constraints = {
        **FixedThresholdClassifier._parameter_constraints,
        "guard": [HasMethods(["refusals", "file_refusals"]), None],
        "card": [dict, None],
    }

    def __init__(self, estimator, *, threshold="auto", pos_label=None,
                 response_method="auto", guard=None, card=None):
        super().__init__(estimator, threshold=threshold, pos_label=pos_label,
                         response_method=response_method)
        self.guard = guard
        self.card = card

    def _fit(self, X, y, **params):
        super()._fit(X, y, **params)
        if self.guard is not None:
            # A guard measures distance in the features of *this* network:
            # a refitted network needs a refitted guard.
            loader, classifier = split_loader(self.estimator_)
            images = X if loader is None else loader.transform(X)
            groups = params.get("groups")
            self.guard_ = clone(self.guard).set_params(classifier=classifier).fit(
                images, groups=groups)
        return self

    @property
    def fitted_guard(self):
        """The guard that goes with the fitted estimator (or None)."""
        return getattr(self, "guard_", self.guard)

    @property
    def fitted_estimator(self):
        """The fitted estimator that scores the films.

        The estimator as given when it came fitted (a screener wrapped around
        a trained pipeline is usable without ``fit``, as ``predict`` is).
        """
        if hasattr(self, "estimator_"):
            return self.estimator_
        check_is_fitted(self.estimator)
        return self.estimator

    @property
    def decision_threshold(self):
        """The threshold ``predict`` applies, with "auto" resolved."""
        return 0.5 if self.threshold == "auto" else float(self.threshold)

    def refusals(self, X):
        """Why the guard refuses each input: a :class:`~skcxr.guard.Refusal`, or None.

        Parameters
        ----------
        X : sequence of file paths (or images, as the estimator takes)

        Returns
        -------
        refusals : ndarray of object, shape (n_samples,)
        """
        guard = self.fitted_guard
        if guard is None:
            raise ValueError(
                "This screener has no input guard: it cannot tell which films it was not made for."
            )
        loader, _ = split_loader(self.fitted_estimator)
        items = list(X)
        refusals = np.full(len(items), None, dtype=object)
        if loader is not None:
            refusals[:] = guard.file_refusals(items)
        todo = np.flatnonzero([r is None for r in refusals])
        if len(todo):
            images = [items[i] for i in todo] if loader is None else loader.transform(
                [items[i] for i in todo])
            refusals[todo] = guard.refusals(images)
        return refusals


def split_loader(estimator):
    """``(ImageLoader, the rest)`` of a pipeline that starts by decoding images.

    ``(None, estimator)`` when the estimator takes decoded images itself.
    """
    if isinstance(estimator, Pipeline) and isinstance(estimator.steps[0][1], ImageLoader):
        rest = estimator[1:]
        return estimator.steps[0][1], rest.steps[0][1] if len(rest.steps) == 1 else rest
    return None, estimator
