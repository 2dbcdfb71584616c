"""The parts of a screening estimator: the loader that decodes files, and what scores the images."""

from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline

from ..preprocessing import ImageLoader


def unfrozen(estimator):
    """The estimator inside a :class:`~sklearn.frozen.FrozenEstimator` (others as they are)."""
    while isinstance(estimator, FrozenEstimator):
        estimator = estimator.estimator
    return estimator


def split_loader(estimator):
    """``(ImageLoader, the rest)`` of a pipeline that starts by decoding images.

    ``(None, estimator)`` when the estimator takes decoded images itself. A
    :class:`~sklearn.frozen.FrozenEstimator` is looked through.
    """
    estimator = unfrozen(estimator)
    if isinstance(estimator, Pipeline) and isinstance(estimator.steps[0][1], ImageLoader):
        rest = estimator[1:]
        return estimator.steps[0][1], unfrozen(rest.steps[0][1]) if len(rest.steps) == 1 else rest
    return None, estimator
