"""Where datasets live on disk: the data home and image-folder discovery."""

import errno
import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._compat import validate_params

# Suffixes that Pillow opens and that X-ray collections actually use.
IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png", ".tif", ".tiff", ".bmp", ".gif"})

_GET_DATA_HINT = (
    "Download it with skcxr.datasets.fetch_chest_xray(), or point the SKCXR_DATA "
    "environment variable (or the data_home argument) at a folder that holds it."
)


@validate_params({"data_home": [str, os.PathLike, None]}, prefer_skip_nested_validation=True)
def get_skcxr_data_home(data_home=None):
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


@validate_params(
    {
        "root": [str, os.PathLike],
        "class_names": ["array-like", None],
        "patient_id": [callable, None],
        "return_X_y": ["boolean"],
        "descr": [str],
    },
    prefer_skip_nested_validation=True,
)
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
        ``class_names[i]``). By default every sub-folder, sorted by name,
        except hidden ones (names starting with ``.``).
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
        When a class folder holds no image, an image entry is a broken
        symbolic link or a link loop, ``class_names`` repeats a name, or
        ``patient_id`` fails on a file.

    Notes
    -----
    Images are the files whose suffix is one of ``.jpeg``, ``.jpg``, ``.png``,
    ``.tif``, ``.tiff``, ``.bmp``, ``.gif`` (any case). Hidden files (names
    starting with ``.``, such as the AppleDouble ``._image.jpeg`` copies macOS
    leaves on shared drives) and directories named like images are not
    images and are left out; everything else is listed, and a file that
    cannot be decoded is reported by :class:`~skcxr.preprocessing.ImageLoader`.
    """
    root = Path(root)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise FileNotFoundError(f"Image folder {str(root)!r} {what}.")
    if class_names is None:
        class_names = sorted(p.name for p in root.iterdir() if p.is_dir() and not _hidden(p))
        if not class_names:
            raise ValueError(f"{str(root)!r} has no class sub-folders.")
    class_names = _check_class_names(class_names)
    paths, labels = [], []
    for label, name in enumerate(class_names):
        class_dir = root / name
        if not class_dir.is_dir():
            raise FileNotFoundError(
                f"Class folder {str(class_dir)!r} does not exist; expected one "
                f"sub-folder per class {list(class_names)} under {str(root)!r}."
            )
        files = _image_files(class_dir)
        if not files:
            raise ValueError(f"Class folder {str(class_dir)!r} holds no image file.")
        paths.extend(str(p) for p in files)
        labels.extend([label] * len(files))
    X = np.asarray(paths, dtype=str)
    y = np.asarray(labels, dtype=np.int64)
    if return_X_y:
        return X, y
    groups = None if patient_id is None else _patient_ids(patient_id, X)
    return Bunch(
        data=X,
        target=y,
        target_names=np.asarray(class_names, dtype=str),
        groups=groups,
        filenames=X,
        DESCR=descr,
    )


def _hidden(path):
    # Dot files: AppleDouble "._x.jpeg" copies (macOS metadata, not images),
    # ".DS_Store", ".ipynb_checkpoints" and the like.
    return path.name.startswith(".")


def _image_files(class_dir):
    """The image files of a class folder, sorted; a dangling entry is an error.

    Hidden files and directories (even one named ``x.jpeg``) are not images
    and are left out. A broken symbolic link or a link loop named like an
    image is reported here rather than dropped or left for the decoder.
    """
    files = []
    for path in sorted(class_dir.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or _hidden(path):
            continue
        try:
            if path.is_dir():
                continue
            path.stat()
        except FileNotFoundError:
            raise ValueError(f"{str(path)!r} is a broken symbolic link.") from None
        except OSError as exc:
            problem = "a symbolic link loop" if exc.errno == errno.ELOOP else exc.strerror
            raise ValueError(f"{str(path)!r} cannot be read: {problem}.") from None
        files.append(path)
    return files


def _check_class_names(class_names):
    if isinstance(class_names, str) or not all(isinstance(c, str) for c in class_names):
        raise ValueError(
            f"class_names must be a sequence of folder names (str); got {class_names!r}."
        )
    class_names = list(class_names)
    if not class_names:
        raise ValueError("class_names is empty; name at least one class folder.")
    if len(set(class_names)) != len(class_names):
        raise ValueError(
            f"class_names {class_names} repeats a name: each image would be listed "
            "once per repetition, with different labels."
        )
    return class_names


def _patient_ids(patient_id, paths):
    ids = []
    for path in map(str, paths):
        try:
            value = patient_id(path)
        except ValueError:
            raise
        except Exception as exc:
            raise ValueError(f"patient_id failed on {path!r}: {exc!r}.") from exc
        if value is None or (isinstance(value, float) and np.isnan(value)):
            raise ValueError(f"patient_id returned {value!r} for {path!r}; expected an id.")
        ids.append(value)
    return np.asarray(ids)
