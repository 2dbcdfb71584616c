"""One patient-level train/held-out split, for scripts, tests and the classifier."""

from numbers import Real

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

from .._compat import StrictInterval, validate_params


@validate_params(
    {"y": ["array-like"], "groups": ["array-like", None],
     "test_size": [StrictInterval(Real, 0, 1, closed="neither")], "stratify": ["boolean"],
     "random_state": ["random_state"]},
    prefer_skip_nested_validation=True,
)
def patient_split(y, groups, *, test_size=0.2, stratify=True, random_state=None):
    """Split indices into a training part and a held-out part, keeping each patient on one side.

    Several films of one patient are near-duplicates: split by image, the
    held-out part would share patients with the training part and flatter
    the model. This is scikit-learn's group splitting in one call.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels, used to balance the classes when ``stratify`` is true.
    groups : array-like of shape (n_samples,)
        Patient id of each image (``bunch.groups`` from
        :func:`skcxr.datasets.load_chest_xray`).
    test_size : float, default=0.2
        Share of the images to hold out, a fraction in (0, 1). Whole
        patients move, so the share is approximate.
    stratify : bool, default=True
        If true, the classes are balanced across the two parts as far as
        patients allow (:class:`~sklearn.model_selection.StratifiedGroupKFold`):
        the held-out part is one of ``round(1 / test_size)`` folds (for
        ``test_size`` above 0.5, all folds but one of
        ``round(1 / (1 - test_size))``), so ``test_size=0.2`` holds out a
        fifth, ``0.15`` a seventh. If false, a random ``test_size`` share of
        the patients is held out
        (:class:`~sklearn.model_selection.GroupShuffleSplit`).
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle, for a repeatable split.

    Returns
    -------
    train_index, test_index : ndarray of int
        Sorted positions of the training part and the held-out part.

    Raises
    ------
    ValueError
        When ``groups`` is missing or of another length than ``y``,
        ``test_size`` is not in (0, 1), or there are too few patients.

    Examples
    --------
    >>> import numpy as np
    >>> from skcxr.model_selection import patient_split
    >>> y = np.array([0, 0, 1, 1, 0, 1, 1, 0, 1, 0])
    >>> patients = np.array(["a", "a", "b", "b", "c", "d", "d", "e", "f", "g"])
    >>> train, held_out = patient_split(y, patients, test_size=0.3, random_state=0)
    >>> sorted(set(patients[held_out]) & set(patients[train]))  # no patient on both sides
    []
    >>> len(train) + len(held_out)
    10
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, one label per image; got shape {y.shape}.")
    if groups is None:
        raise ValueError(
            "patient_split needs groups: the patient id of each image (bunch.groups "
            "from load_chest_xray). Without them no split can keep patients apart."
        )
    groups = np.asarray(groups)
    if groups.shape != y.shape:
        raise ValueError(
            f"groups has shape {groups.shape} but y has {y.shape}: one patient id per image."
        )
    n_patients = len(np.unique(groups))
    if not stratify:
        if n_patients < 2:
            raise ValueError(f"A patient split needs at least 2 patients; got {n_patients}.")
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
        train, test = next(splitter.split(y, y, groups))
        return np.sort(train), np.sort(test)
    # A held-out share above one half is the complement of a fold.
    flip = test_size > 0.5
    n_splits = max(2, round(1 / (1 - test_size if flip else test_size)))
    if n_patients < n_splits:
        raise ValueError(
            f"test_size={test_size} with stratify=True needs at least {n_splits} patients "
            f"(groups); got {n_patients}."
        )
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    train, test = next(splitter.split(y, y, groups))
    return (np.sort(test), np.sort(train)) if flip else (np.sort(train), np.sort(test))
