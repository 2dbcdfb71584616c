"""SeedEnsembleClassifier: one recipe trained with several seeds, probabilities averaged."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from .._compat import HasMethods, Interval, validate_estimator_params
from .._versioning import VersionedPickleMixin
from ._members import (
    check_same_recipe,
    common_classes,
    estimator_has,
    member_seed,
    seed_parameters,
)
from ._routing import fit_router, route_fit_params

MAX_SEED = np.iinfo(np.int32).max


class SeedEnsembleClassifier(VersionedPickleMixin, ClassifierMixin, MetaEstimatorMixin,
                             BaseEstimator):
    """Soft-voting ensemble of one classifier trained with several random seeds.

    A network trained from scratch varies with its seed; the mean of the
    probabilities of a few seeds varies much less and usually ranks better
    than any one of them. ``fit`` trains ``n_estimators`` clones of
    ``estimator`` that differ only in their ``random_state``;
    ``predict_proba`` is the mean of their probabilities. It is one
    estimator: it clones, pickles, sits in a Pipeline and is searched with
    ``GridSearchCV`` (``param_grid={"estimator__lr": [...]}``) like any
    other.

    Members that differ in more than their seed (other architectures or
    recipes) belong in :class:`sklearn.ensemble.VotingClassifier` with
    ``voting="soft"``, which averages ``predict_proba`` of named, different
    estimators and works with :class:`~skcxr.classifier.CXRClassifier` as it
    is.

    Parameters
    ----------
    estimator : classifier with ``fit`` and ``predict_proba``
        The recipe, e.g. ``CXRClassifier.from_preset("recommended")`` or a
        Pipeline ending in one. It must have at least one ``random_state``
        parameter; in a Pipeline (or any nested estimator) every parameter
        named ``random_state`` or ``<step>__random_state`` is set.
    n_estimators : int, default=5
        Members to train.
    random_state : int, RandomState instance or None, default=None
        Draws one seed per member; member ``i`` has every ``random_state``
        parameter set to ``random_states_[i]``, so
        ``clone(estimator).set_params(random_state=random_states_[i])``
        retrains it alone. ``None`` still gives each member its own seed
        (drawn from numpy's global generator), never identical members.
    n_jobs : int or None, default=None
        Members trained in parallel, each in its own process (joblib's
        default backend; a CXRClassifier seeds torch for its own fit, which
        threads would share). ``None`` means one at a time; on a single GPU
        parallel members share the device.

    Attributes
    ----------
    estimators_ : list of fitted classifiers
        The members, in the order of ``random_states_``.
    random_states_ : list
        The seed each member was trained with (for members given to
        :meth:`from_fitted`: their ``random_state``, or ``None`` where a
        member has none or several different ones).
    classes_ : ndarray of shape (n_classes,)
        The members' classes; ``predict_proba`` columns follow this order.

    See Also
    --------
    sklearn.ensemble.VotingClassifier : Soft voting over different estimators.
    TestTimeAugmentation : Averaging over shifted and scaled views of each image.

    Examples
    --------
    >>> from skcxr import CXRClassifier
    >>> from skcxr.ensemble import SeedEnsembleClassifier
    >>> ensemble = SeedEnsembleClassifier(CXRClassifier.from_preset("recommended"),
    ...                                   n_estimators=5, random_state=0)
    >>> # ensemble.fit(X, y, groups=patient_ids).predict_proba(X_test)

    Networks already trained, e.g. saved by a study and loaded again, are
    combined without refitting:

    >>> # ensemble = SeedEnsembleClassifier.from_fitted([net_seed0, net_seed1, net_seed2])
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict_proba"])],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, estimator, *, n_estimators=5, random_state=None, n_jobs=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y, **fit_params):
        """Train ``n_estimators`` clones of ``estimator``, each with its own seed.

        Parameters
        ----------
        X : array-like
            What ``estimator.fit`` takes, e.g. an image batch
            ``(n_samples, channels, height, width)``.
        y : array-like of shape (n_samples,)
            Labels.
        **fit_params
            Passed to every member's ``fit`` (e.g. ``groups=patient_ids``);
            with metadata routing enabled, what the estimator requested
            (``set_fit_request(groups=True)``).

        Returns
        -------
        self : SeedEnsembleClassifier
            The fitted ensemble.
        """
        validate_estimator_params(self)
        names = seed_parameters(self.estimator)
        params = route_fit_params(self, fit_params)
        seeds = check_random_state(self.random_state).randint(MAX_SEED, size=self.n_estimators)
        members = [clone(self.estimator).set_params(**dict.fromkeys(names, int(seed)))
                   for seed in seeds]
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_member)(member, X, y, params) for member in members)
        self.random_states_ = [int(seed) for seed in seeds]
        self.classes_ = common_classes(self.estimators_)
        return self

    @classmethod
    def from_fitted(cls, estimators):
        """An ensemble of classifiers already trained with the same recipe.

        For networks trained separately (in parallel processes, on other
        machines, or saved by a study and loaded again): nothing is refitted.
        The members must be fitted, of one class, with the same parameters
        except ``random_state``, and agree on ``classes_``; members of
        different recipes belong in :class:`~sklearn.ensemble.VotingClassifier`.

        ``estimator`` of the result is an unfitted clone of the first member,
        so ``clone`` of the ensemble (and ``fit`` on it) trains the same
        recipe afresh.

        Parameters
        ----------
        estimators : sequence of fitted classifiers
            The members, trained with the same recipe.

        Returns
        -------
        ensemble : SeedEnsembleClassifier
            Fitted, with ``estimators_`` the given members (not copies).
        """
        members = list(estimators)
        if not members:
            raise ValueError("from_fitted needs at least one fitted estimator; got none.")
        for index, member in enumerate(members):
            try:
                check_is_fitted(member)
            except NotFittedError as error:
                raise NotFittedError(f"Member {index} is not fitted: {error}") from None
        check_same_recipe(members)
        ensemble = cls(clone(members[0]), n_estimators=len(members))
        ensemble.estimators_ = members
        ensemble.random_states_ = [member_seed(member) for member in members]
        ensemble.classes_ = common_classes(members)
        return ensemble

    def predict_proba(self, X):
        """Mean of the members' class probabilities.

        Parameters
        ----------
        X : array-like
            What the members' ``predict_proba`` takes.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in ``classes_`` order.
        """
        check_is_fitted(self)
        total = None
        for member in self.estimators_:
            # A running sum: one member's probabilities in memory at a time.
            proba = np.asarray(member.predict_proba(X), dtype=np.float64)
            total = proba if total is None else total + proba
        return total / len(self.estimators_)

    def predict(self, X):
        """The class of highest mean probability.

        Parameters
        ----------
        X : array-like
            What the members' ``predict_proba`` takes.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            One of ``classes_`` per sample.
        """
        proba = self.predict_proba(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(proba, axis=1)]

    @property
    def n_features_in_(self):
        """Number of features the members take (members on 2-D data only)."""
        return self.estimators_[0].n_features_in_

    @property
    def feature_names_in_(self):
        """Feature names the members saw (members on named columns only)."""
        return self.estimators_[0].feature_names_in_

    @available_if(estimator_has("embed"))
    def embed(self, X):
        """The members' penultimate features of each image, side by side.

        Concatenated, not averaged: each network has its own feature axes
        (feature 7 of one seed has nothing to do with feature 7 of another),
        so their mean would mix unrelated quantities. Concatenation keeps
        every member's space intact; a squared distance in it is the sum of
        the members' squared distances, which is what an input guard built
        on ``embed`` needs.

        Parameters
        ----------
        X : array-like
            Images as given to ``predict_proba``.

        Returns
        -------
        features : ndarray of shape (n_samples, n_estimators * n_features)
            Member 0's features first.
        """
        check_is_fitted(self)
        return np.concatenate([member.embed(X) for member in self.estimators_], axis=1)

    def get_metadata_routing(self):
        """Route ``fit`` metadata (e.g. ``groups``) to every member's ``fit``.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
            The ensemble's routing to ``estimator.fit``.
        """
        return fit_router(self, self.estimator)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = inner.input_tags
        tags.classifier_tags = inner.classifier_tags
        tags.non_deterministic = inner.non_deterministic
        return tags


def _fit_member(member, X, y, fit_params):
    return member.fit(X, y, **fit_params)
