"""Where datasets live on disk: the data home and image-folder discovery."""

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

# Suffixes that Pillow opens and that X-ray collections actually use.
IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png", ".tif", ".tiff", ".bmp", ".gif"})

_GET_DATA_HINT = (
    "Download it with skcxr.datasets.fetch_chest_xray(), or point the SKCXR_DATA "
    "environment variable (or the data_home argument) at a folder that holds it."
)


def get_data_home(data_home=None):
    """Return the folder where skcxr looks for datasets.

    The first of these that is set wins: the ``data_home`` argument, the
    ``SKCXR_DATA`` environment variable, ``~/skcxr_data``. The folder is not
    created here; :func:`fetch_chest_xray` creates it when it downloads.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit location.

    Returns
    -------
    path : pathlib.Path
        The data home, with ``~`` expanded.
    """
    if data_home is None:
        data_home = os.environ.get("SKCXR_DATA") or Path.home() / "skcxr_data"
    return Path(data_home).expanduser()


def load_image_folder(
    root, *, class_names=None, patient_id=None, return_X_y=False, descr=""
):
    """Load any dataset laid out as ``root/<class name>/<image files>``.

    Parameters
    ----------
    root : str or path-like
        Folder with one sub-folder per class.
    class_names : sequence of str, default=None
        Class folders to read, in label order (label ``i`` is
        ``class_names[i]``). By default every sub-folder, sorted by name.
    patient_id : callable, default=None
        Maps a file path to its patient id, returned as ``groups`` so that
        splits can keep a patient's images together. When ``None``,
        ``groups`` is ``None``: nothing is known about patients.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a :class:`~sklearn.utils.Bunch`.
    descr : str, default=""
        Text stored as ``DESCR``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (file paths, array of str), ``target`` (int labels),
        ``target_names``, ``groups`` (patient ids or ``None``),
        ``filenames`` (same as ``data``) and ``DESCR``.
    (X, y) : tuple
        When ``return_X_y`` is true.

    Raises
    ------
    FileNotFoundError
        When ``root`` or one of ``class_names`` is not a folder.
    ValueError
        When a class folder holds no image, or ``patient_id`` fails on a file.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"Image folder {str(root)!r} does not exist.")
    if class_names is None:
        class_names = sorted(p.name for p in root.iterdir() if p.is_dir())
        if not class_names:
            raise ValueError(f"{str(root)!r} has no class sub-folders.")
    paths, labels = [], []
    for label, name in enumerate(class_names):
        class_dir = root / name
        if not class_dir.is_dir():
            raise FileNotFoundError(
                f"Class folder {str(class_dir)!r} does not exist; expected one "
                f"sub-folder per class {list(class_names)} under {str(root)!r}."
            )
        files = sorted(
            p for p in class_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise ValueError(f"Class folder {str(class_dir)!r} holds no image file.")
        paths.extend(str(p) for p in files)
        labels.extend([label] * len(files))
    X = np.asarray(paths, dtype=str)
    y = np.asarray(labels, dtype=np.int64)
    if return_X_y:
        return X, y
    groups = None if patient_id is None else np.asarray([patient_id(p) for p in X])
    return Bunch(
        data=X,
        target=y,
        target_names=np.asarray(class_names, dtype=str),
        groups=groups,
        filenames=X,
        DESCR=descr,
    )
