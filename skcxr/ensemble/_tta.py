"""TestTimeAugmentation: a classifier's probabilities averaged over fixed shifted and scaled views."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .._compat import HasMethods, Interval, validate_estimator_params
from .._versioning import VersionedPickleMixin
from ..utils import check_image_batch
from ._members import estimator_has
from ._routing import fit_router, route_fit_params
from ._views import check_views, warp


class TestTimeAugmentation(VersionedPickleMixin, ClassifierMixin, MetaEstimatorMixin,
                           BaseEstimator):
    """Average a classifier's probabilities over a few fixed views of each image.

    ``predict_proba`` scores the image as given and a small set of shifted
    and magnified copies of it, and returns the mean. Patient positioning
    and framing vary from film to film; averaging over nearby framings
    makes the score less dependent on them. The views are deterministic
    affine warps of the whole batch (bilinear, border padding, as the
    training augmentation of :class:`~skcxr.classifier.RandomAugment` but
    with fixed parameters), so predictions are repeatable.

    There is no left-right flip, and none can be asked for: anatomy is not
    symmetric (the heart lies on the left), and a mirrored film is not a
    film the network should have to read.

    The default is five views, five forward passes per image: the identity,
    the content moved by 4% of each side down-right and up-left (each view
    moves both axes, so two views cover lateral and vertical positioning),
    and magnifications of 0.95 and 1.05. All lie well inside the ranges the
    default training augmentation draws from (±6% shift, ±10% zoom), so the
    network has seen such films.

    Parameters
    ----------
    estimator : classifier with ``fit`` and ``predict_proba``
        A classifier over image batches ``(n, channels, H, W)``, e.g.
        :class:`~skcxr.classifier.CXRClassifier` or
        :class:`SeedEnsembleClassifier`. ``fit`` fits a clone; wrap an
        already fitted one in :class:`sklearn.frozen.FrozenEstimator` to use
        it as it is.
    shifts : sequence of (dx, dy), default=((0.04, 0.04), (-0.04, -0.04))
        One view per pair: the content moved by ``dx`` of the width (positive:
        right) and ``dy`` of the height (positive: down). At most 0.25.
    scales : sequence of float, default=(0.95, 1.05)
        One view per magnification about the centre (above 1 enlarges), in
        [0.5, 2].
    batch_size : int, default=256
        Images warped and scored together: memory holds one view of this many
        images at a time, however large ``X`` is.

    Attributes
    ----------
    estimator_ : classifier
        The fitted classifier (the FrozenEstimator itself when given one).
    views_ : list of (dx, dy, scale)
        The views averaged, the identity first.
    classes_ : ndarray of shape (n_classes,)
        The estimator's classes; ``predict_proba`` columns follow this order.

    See Also
    --------
    SeedEnsembleClassifier : Averaging over networks trained with other seeds.

    Examples
    --------
    >>> from sklearn.frozen import FrozenEstimator
    >>> from skcxr import CXRClassifier
    >>> from skcxr.ensemble import TestTimeAugmentation
    >>> tta = TestTimeAugmentation(CXRClassifier(random_state=0))
    >>> # tta.fit(X, y).predict_proba(X_test)
    >>> # TestTimeAugmentation(FrozenEstimator(fitted_clf)).fit(X_val, y_val)  # no refit
    """

    __test__ = False  # a class named Test* is not a pytest test class

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "shifts": ["array-like"],
        "scales": ["array-like"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, estimator, *, shifts=((0.04, 0.04), (-0.04, -0.04)),
                 scales=(0.95, 1.05), batch_size=256):
        self.estimator = estimator
        self.shifts = shifts
        self.scales = scales
        self.batch_size = batch_size

    def fit(self, X, y, **fit_params):
        """Fit a clone of the estimator (a FrozenEstimator is kept as it is).

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Training images.
        y : array-like of shape (n_samples,)
            Their labels.
        **fit_params
            Passed to the estimator's ``fit`` (e.g. ``groups=patient_ids``);
            with metadata routing enabled, what it requested.

        Returns
        -------
        self : TestTimeAugmentation
            The fitted model.
        """
        validate_estimator_params(self)
        views = check_views(self.shifts, self.scales)
        params = route_fit_params(self, fit_params)
        self.estimator_ = clone(self.estimator).fit(X, y, **params)
        self.views_ = views
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        """The estimator's class probabilities, averaged over the views.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as uint8, or floats in [0, 1]; each view keeps the dtype
            (uint8 views are rounded).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in ``classes_`` order.
        """
        check_is_fitted(self)
        X = check_image_batch(X)
        chunks = []
        for start in range(0, len(X), self.batch_size):
            chunk = X[start:start + self.batch_size]
            total = sum(np.asarray(self.estimator_.predict_proba(warp(chunk, *view)),
                                   dtype=np.float64)
                        for view in self.views_)
            chunks.append(total / len(self.views_))
        return np.concatenate(chunks)

    def predict(self, X):
        """The class of highest view-averaged probability.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as for ``predict_proba``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            One of ``classes_`` per image.
        """
        proba = self.predict_proba(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(proba, axis=1)]

    @available_if(estimator_has("embed"))
    def embed(self, X):
        """The estimator's features of the images as given (the identity view only).

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as for ``predict_proba``.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features)
            The estimator's ``embed(X)``.
        """
        check_is_fitted(self)
        return self.estimator_.embed(X)

    def get_metadata_routing(self):
        """Route ``fit`` metadata (e.g. ``groups``) to the estimator's ``fit``.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
            The routing to ``estimator.fit``.
        """
        return fit_router(self, self.estimator)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        # The views are warps of image batches, whatever the estimator takes.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.classifier_tags = inner.classifier_tags
        tags.non_deterministic = inner.non_deterministic
        return tags
