"""The internal validation split used for early stopping, by patient."""

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit

from ..model_selection import patient_split


def holdout_indices(y, groups, fraction, seed):
    """Indices of a training part and a validation part of about ``fraction``.

    With ``groups`` (patient ids) every patient lands on one side, with
    classes balanced as far as patients allow; without, images are split
    stratified by class. The patient split is
    :func:`skcxr.model_selection.patient_split`, stratified.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1); got {fraction}.")
    index = np.arange(len(y))
    if groups is None:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        return next(splitter.split(index, y))
    groups = np.asarray(groups)
    if len(groups) != len(y):
        raise ValueError(f"groups has {len(groups)} entries but X has {len(y)} images.")
    # The folds patient_split needs (checked here to name validation_fraction).
    n_splits = max(2, round(1 / min(fraction, 1 - fraction)))
    if len(np.unique(groups)) < n_splits:
        raise ValueError(
            f"validation_fraction={fraction} needs at least {n_splits} patients "
            f"(groups); got {len(np.unique(groups))}."
        )
    return patient_split(y, groups, test_size=fraction, stratify=True, random_state=seed)
