"""Score decoded films: one pass through the network gives the scores and the guard's features.

Every caller (``Screener.predict_proba``, ``Screener.refusals``, the
streaming screen behind ``skcxr screen``) goes through :func:`guard_and_score`,
so a film is judged the same way whichever door it came in by.
"""

import numpy as np


class TorchNetwork:
    """The fitted classifier itself as the scorer (the ``"torch"`` backend).

    Parameters
    ----------
    scorer : fitted classifier over decoded images
        A :class:`~skcxr.CXRClassifier` (its :meth:`embed` gives the guard's
        features from the same pass), or any classifier with ``predict_proba``.
    """

    name = "torch"

    def __init__(self, scorer):
        self.scorer = scorer

    def gives_features_of(self, guard):
        """Whether this network's features are the ones ``guard`` was fitted on."""
        classifier = getattr(guard, "classifier", None)
        inner = getattr(classifier, "estimator", classifier)  # through a FrozenEstimator
        return inner is self.scorer and hasattr(self.scorer, "embed")

    def predict_proba(self, X, *, with_features=False):
        """``(proba, features or None)`` of decoded images."""
        if with_features:
            features, proba = self.scorer.embed(X, return_proba=True)
            return proba, features
        return self.scorer.predict_proba(X), None


def guard_and_score(X, network, guard, *, score_refused=False):
    """The guard's refusal (None where accepted) and the probabilities of a decoded batch.

    Parameters
    ----------
    X : ndarray of shape (n, channels, H, W)
    network : TorchNetwork or another backend
    guard : fitted InputGuard or None
    score_refused : bool, default=False
        Return the probabilities of refused films too (else their rows are
        NaN; the network runs once on the whole batch either way).

    Returns
    -------
    refusals : list of (Refusal or None)
    proba : ndarray of shape (n, 2)
    """
    if guard is None:
        return [None] * len(X), _finite(network.predict_proba(X)[0])
    shared = network.gives_features_of(guard)
    proba, features = network.predict_proba(X, with_features=shared)
    proba = _finite(proba)
    refusals = list(guard.refusals(X) if features is None else guard.refusals(X, features=features))
    if not score_refused:
        proba = np.asarray(proba, dtype=float).copy()
        proba[[r is not None for r in refusals]] = np.nan
    return refusals, proba


def _finite(proba):
    """``proba``, unless the network gave a NaN or infinite score: then a ValueError.

    A NaN score reaches no threshold, so the film would read as screened and
    not flagged. Only a damaged network gives one (uint8 films in, and a
    flat frame is normalised with a floor), so no film of the batch is kept.
    """
    proba = np.asarray(proba)
    bad = ~np.isfinite(proba).all(axis=1)
    if bad.any():
        raise ValueError(
            f"The network gave NaN or infinite scores for {int(bad.sum())} of {len(proba)} films: "
            "its weights are damaged (a diverged training, or an edited file). Nothing was "
            "scored; restore the model or train it again.")
    return proba
