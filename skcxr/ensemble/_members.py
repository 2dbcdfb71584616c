"""The members of an averaging ensemble: their seeds, their classes, their recipe."""

import joblib
import numpy as np
from sklearn.frozen import FrozenEstimator


def estimator_has(name):
    """For ``available_if``: the wrapped estimator has ``name``."""

    def check(self):
        getattr(self.estimator, name)  # raises AttributeError, which hides the method
        return True

    return check


def seed_parameters(estimator):
    """Names of every ``random_state`` parameter of ``estimator``, nested ones included."""
    if isinstance(estimator, FrozenEstimator):
        raise ValueError(
            "SeedEnsembleClassifier fits clones of its estimator; a FrozenEstimator "
            "cannot be refitted with other seeds. Combine fitted members with "
            "SeedEnsembleClassifier.from_fitted([...]) instead."
        )
    names = sorted(name for name in estimator.get_params(deep=True) if _is_seed(name))
    if not names:
        raise ValueError(
            f"{type(estimator).__name__} has no random_state parameter, so its "
            "clones would all be the same model; a seed ensemble needs an estimator "
            "whose training depends on random_state."
        )
    return names


def member_seed(member):
    """The value of the member's ``random_state`` parameters when they agree, else None."""
    params = member.get_params(deep=True)
    seeds = [params[name] for name in params if _is_seed(name)]
    if seeds and len({joblib.hash(seed) for seed in seeds}) == 1:
        return seeds[0]
    return None


def _is_seed(name):
    return name == "random_state" or name.endswith("__random_state")


def common_classes(members):
    classes = np.asarray(members[0].classes_)
    for index, member in enumerate(members[1:], start=1):
        if not np.array_equal(np.asarray(member.classes_), classes):
            raise ValueError(
                f"Member {index} has classes_ {np.asarray(member.classes_).tolist()} but member 0 has "
                f"{classes.tolist()}; averaging their probabilities would mix up classes."
            )
    return classes


def _recipe(member):
    """The member's parameters that define its recipe: all but seeds and nested estimators.

    Nested estimators (Pipeline steps, an ``augmentation`` object) are
    compared through their own parameters, which ``get_params(deep=True)``
    lists; their fitted state would differ between members by design.
    """
    params = member.get_params(deep=True)
    return {name: joblib.hash(value) for name, value in params.items()
            if not _is_seed(name) and not _holds_estimator(value)}


def _holds_estimator(value):
    if isinstance(value, type):
        return False
    if hasattr(value, "get_params"):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_estimator(item) for item in value)
    return False


def check_same_recipe(members):
    first, recipe = members[0], _recipe(members[0])
    for index, member in enumerate(members[1:], start=1):
        if type(member) is not type(first):
            raise ValueError(
                f"Member {index} is a {type(member).__name__} but member 0 is a "
                f"{type(first).__name__}; different estimators belong in "
                "sklearn.ensemble.VotingClassifier(voting='soft')."
            )
        other = _recipe(member)
        differing = sorted(name for name in recipe.keys() | other.keys()
                           if recipe.get(name) != other.get(name))
        if differing:
            raise ValueError(
                f"Member {index} differs from member 0 in {differing}, not only in "
                "random_state; members of different recipes belong in "
                "sklearn.ensemble.VotingClassifier(voting='soft')."
            )
