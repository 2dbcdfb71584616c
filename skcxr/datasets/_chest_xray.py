"""The Kermany pediatric chest X-ray set, in its Kaggle folder layout."""

import os
import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._compat import StrOptions, validate_params
from ._base import _GET_DATA_HINT, get_skcxr_data_home, load_image_folder

CLASS_NAMES = ("NORMAL", "PNEUMONIA")
SUBSETS = ("train", "test")

DESCR = """\
Pediatric chest X-ray images (Kermany et al.)
----------------------------------------------

Anterior-posterior chest X-rays of children aged 1-5 from Guangzhou Women and
Children's Medical Center, graded NORMAL or PNEUMONIA (bacterial or viral) by
two physicians; the test split was checked by a third.

Kaggle layout: chest_xray/{train,test}/{NORMAL,PNEUMONIA}/*.jpeg

=====  ======  =========  =====
split  NORMAL  PNEUMONIA  total
=====  ======  =========  =====
train   1,341      3,875  5,216
test      234        390    624
=====  ======  =========  =====

Patient ids come from the file names (``person1234_bacteria_3166.jpeg`` ->
``person1234``, ``IM-0115-0001.jpeg`` -> ``IM-0115``,
``NORMAL2-IM-0587-0001-0002.jpeg`` -> ``NORMAL2-IM-0587``), prefixed with the
split (``train/person1234``): the ``person<N>`` numbering restarts in the test
split (test ``person1`` has viral pneumonia, train ``person1`` bacterial, and
no image file occurs in both splits), so a bare id does not name one patient
across splits. Keep a patient's images on one side of every split: pass
``groups`` to a group-aware splitter.
Train and test differ in distribution (contrast, mostly); choose nothing on
the test split.

Citation: Kermany D., Zhang K., Goldbaum M. (2018), "Labeled Optical Coherence
Tomography (OCT) and Chest X-Ray Images for Classification", Mendeley Data,
doi:10.17632/rscbjbr9sj.2; paper: Kermany et al., Cell 172(5):1122-1131, 2018.
License: CC BY 4.0.
"""

# "person1234_bacteria_3166" / "person447_virus_921_1" -> "person1234";
# "IM-0115-0001" -> "IM-0115"; "NORMAL2-IM-0587-0001-0002" -> "NORMAL2-IM-0587".
_PATIENT_PATTERNS = (
    re.compile(r"^(person\d+)_"),
    re.compile(r"^((?:NORMAL2-)?IM-\d+)-"),
)


@validate_params({"path": [str, os.PathLike]}, prefer_skip_nested_validation=True)
def chest_xray_patient_id(path):
    """Return the patient id encoded in a Kermany file name.

    Parameters
    ----------
    path : str or path-like
        Image file path; only its name is read.

    Returns
    -------
    patient_id : str
        E.g. ``"person1234"`` or ``"IM-0115"`` (without the split).

    Raises
    ------
    ValueError
        When the name follows neither of the dataset's naming schemes.

    Examples
    --------
    >>> chest_xray_patient_id("train/PNEUMONIA/person1234_bacteria_3166.jpeg")
    'person1234'
    >>> chest_xray_patient_id("NORMAL2-IM-0587-0001-0002.jpeg")
    'NORMAL2-IM-0587'
    """
    name = Path(path).name
    for pattern in _PATIENT_PATTERNS:
        match = pattern.match(name)
        if match:
            return match.group(1)
    raise ValueError(
        f"Cannot read a patient id from file name {name!r} ({str(path)!r}); "
        "expected 'person<N>_...' or '[NORMAL2-]IM-<N>-...' as in the Kermany set."
    )


def find_chest_xray_root(data_home=None):
    """Return the ``chest_xray`` folder under the data home.

    ``data_home`` may be the folder that contains ``chest_xray/`` or the
    ``chest_xray`` folder itself.
    """
    home = get_skcxr_data_home(data_home)
    for candidate in (home / "chest_xray", home):
        if all((candidate / s / c).is_dir() for s in SUBSETS for c in CLASS_NAMES):
            return candidate
    expected = ", ".join(f"{s}/{c}/" for s in SUBSETS for c in CLASS_NAMES)
    raise FileNotFoundError(
        f"No chest X-ray dataset under {str(home)!r}: expected a 'chest_xray' "
        f"folder holding {expected}. {_GET_DATA_HINT}"
    )


@validate_params(
    {
        "data_home": [str, os.PathLike, None],
        "subset": [StrOptions({*SUBSETS, "all"})],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_chest_xray(data_home=None, *, subset="train", return_X_y=False):
    """Load the Kermany chest X-ray set (NORMAL vs PNEUMONIA) as file paths.

    Images are not decoded here: ``X`` holds file paths, which
    :class:`skcxr.preprocessing.ImageLoader` turns into arrays, so that a
    pipeline can cache decoding and a grid search reads each image once.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``chest_xray/`` (or the ``chest_xray`` folder itself).
        Defaults to ``$SKCXR_DATA``, else ``~/skcxr_data``.
    subset : {"train", "test", "all"}, default="train"
        Which split to load. ``"all"`` concatenates train then test and adds
        a ``split`` array naming each image's split.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a :class:`~sklearn.utils.Bunch`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of str, shape (n_samples,)
            Image file paths.
        target : ndarray of int, shape (n_samples,)
            0 for NORMAL, 1 for PNEUMONIA.
        target_names : ndarray of str
            ``["NORMAL", "PNEUMONIA"]``.
        groups : ndarray of str, shape (n_samples,)
            Patient id of each image, prefixed with its split
            (``"train/person1234"``): ids are only unique within a split.
        filenames : ndarray of str
            Same as ``data``.
        split : ndarray of str
            Only with ``subset="all"``.
        DESCR : str
            Description, citation and license.
    (X, y) : tuple
        When ``return_X_y`` is true.

    Raises
    ------
    FileNotFoundError
        When the dataset is not where it is looked for; the message says
        where that was and how to get the data.

    Examples
    --------
    >>> from skcxr.datasets import load_chest_xray
    >>> train = load_chest_xray(subset="train")  # doctest: +SKIP
    >>> train.data.shape, train.target.mean().round(2)  # doctest: +SKIP
    ((5216,), 0.74)
    """
    root = find_chest_xray_root(data_home)
    names = SUBSETS if subset == "all" else (subset,)
    parts = [
        load_image_folder(
            root / name, class_names=CLASS_NAMES, patient_id=chest_xray_patient_id
        )
        for name in names
    ]
    X = np.concatenate([p.data for p in parts])
    y = np.concatenate([p.target for p in parts])
    if return_X_y:
        return X, y
    bunch = Bunch(
        data=X,
        target=y,
        target_names=np.asarray(CLASS_NAMES, dtype=str),
        groups=np.concatenate(
            [np.char.add(f"{name}/", p.groups) for name, p in zip(names, parts)]
        ),
        filenames=X,
        DESCR=DESCR,
    )
    if subset == "all":
        bunch.split = np.repeat(np.asarray(names), [len(p.data) for p in parts])
    return bunch
