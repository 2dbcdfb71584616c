"""Labels and patients of a folder of films, where their names give them."""

from pathlib import Path

import numpy as np

from ..datasets import chest_xray_patient_id


def folder_labels(files, classes):
    """The class named by each file's parent folder (``NORMAL/x.jpeg``), else None.

    Folder names match the classes regardless of case.

    Parameters
    ----------
    files : sequence of str
    classes : sequence of str
        The model's ``classes_``.

    Returns
    -------
    labels : list of (str or None)
    """
    by_name = {str(c).lower(): c for c in classes}
    return [by_name.get(Path(f).parent.name.lower()) for f in files]


def patient_groups(files):
    """Patient ids from Kermany file names; a file whose name gives none is its own patient.

    Returns
    -------
    groups : ndarray of str
    n_named : int
        Files whose names gave a patient id.
    """
    groups, n_named = [], 0
    for f in files:
        try:
            # The parent folder keeps ids of different splits or sites apart.
            groups.append(f"{Path(f).parent.parent.name}/{chest_xray_patient_id(f)}")
            n_named += 1
        except ValueError:
            groups.append(f"file:{f}")
    return np.asarray(groups, dtype=str), n_named
