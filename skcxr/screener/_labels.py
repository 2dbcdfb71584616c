"""Labels and patients of folders of films: one rule each, used by every command.

* **Label**: the name of the file's *first* folder under the folder it was
  found from (``SITE/NORMAL/2019/x.dcm`` is NORMAL), matched to the classes
  regardless of case; a file directly in that folder has none.
* **Patient**: the DICOM PatientID when the file is DICOM and carries one;
  else the Kermany file-name id (``person1234_bacteria_1.jpeg``,
  ``IM-0115-0001.jpeg``); else the file is its own patient. Ids are kept
  apart per root and per kind, so the same name in two sites or an id of
  each kind never merges two patients.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..datasets import chest_xray_patient_id


def folder_labels(files, root, classes):
    """The class named by each file's first folder under ``root``, else None.

    Parameters
    ----------
    files : sequence of str
        Paths under ``root``.
    root : str or path-like
        The folder the files were found under.
    classes : sequence of str
        The class names (e.g. the model's ``classes_``); folder names match them
        regardless of case.

    Returns
    -------
    labels : list of (str or None)
        One per file: a name of ``classes``, or None for a file outside a class folder.
    """
    by_name = {str(c).lower(): c for c in classes}
    labels = []
    for f in files:
        parts = Path(os.path.relpath(f, root)).parts
        labels.append(by_name.get(parts[0].lower()) if len(parts) > 1 else None)
    return labels


def patient_groups(files, root=""):
    """Patient ids of films (see the module's rule); a file whose name gives none is its own.

    Parameters
    ----------
    files : sequence of str
    root : str, default=""
        Kept in the ids, so that the same id under two roots names two patients.

    Returns
    -------
    groups : ndarray of str
    n_named : int
        Files whose DICOM header or name gave a patient id.
    """
    from ..preprocessing import sniff_format
    from ._reading import dicom_identifiers

    groups, n_named = [], 0
    for f in files:
        patient = ""
        try:
            if sniff_format(f) == "DICOM":
                patient = dicom_identifiers(f)[0].strip()
                patient = f"dicom:{patient}" if patient else ""
        except OSError:
            pass
        if not patient:
            try:
                # The parent's parent keeps ids of different splits or sites apart.
                patient = f"{Path(f).parent.parent.name}/{chest_xray_patient_id(f)}"
            except ValueError:
                patient = ""
        if patient:
            groups.append(f"{root}|{patient}")
            n_named += 1
        else:
            groups.append(f"file:{f}")
    return np.asarray(groups, dtype=str), n_named


def _check_all_regular(files, root, shown=20):
    """One ValueError naming every entry that is no readable file (a pipe, a broken link, ...).

    Found up front from ``stat`` alone (nothing is opened: a pipe would
    block), so that a training run stops once with the whole list instead
    of once per entry, after counting each as a film.
    """
    from ..preprocessing import ItemError, check_regular_file

    bad = []
    for f in files:
        try:
            check_regular_file(f, repr(f))
        except ItemError as exc:
            bad.append(f"{f} ({exc.reason})")
    if bad:
        more = f"; and {len(bad) - shown} more" if len(bad) > shown else ""
        raise ValueError(
            f"{len(bad)} entries in the class folders of {str(root)!r} are not files that can "
            f"be read as films: {'; '.join(bad[:shown])}{more}. Remove them or move them out "
            "of the class folders; no film was read.")


@dataclass
class LabelledFolder:
    """The films of a folder with one sub-folder per class."""

    files: list
    labels: np.ndarray
    groups: np.ndarray
    classes: list
    n_named: int
    n_skipped: int
    n_outside: int

    def counts(self):
        """``{class: films}``."""
        return {c: int(np.sum(self.labels == c)) for c in self.classes}


def labelled_folder(root, classes=None):
    """The films under ``root/<class>/``, their labels and patients.

    Parameters
    ----------
    root : str or path-like
        The folder holding one folder per class.
    classes : sequence of str, default=None
        The classes to expect (folder names match regardless of case, and
        every class needs its folder); by default every class folder found,
        which must be exactly two.

    Returns
    -------
    folder : LabelledFolder
        ``files``, ``labels``, ``groups`` (patient ids), ``classes``, and the
        counts ``n_named`` (files that name their patient), ``n_skipped``
        (hidden and system files) and ``n_outside`` (files outside the class
        folders).

    Raises
    ------
    ValueError
        When ``root`` is not a folder, the class folders are not the expected
        ones, or entries in them are no regular files (pipes, sockets,
        devices, broken or looping links, links to folders): all named at once.
    """
    from ._files import discover_files

    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{str(root)!r} is not a folder.")
    files, n_skipped = discover_files([root])
    found = sorted({Path(os.path.relpath(f, root)).parts[0] for f in files
                    if len(Path(os.path.relpath(f, root)).parts) > 1})
    if classes is None:
        classes = found
        if len(classes) != 2:
            raise ValueError(
                f"{str(root)!r} needs exactly two class folders holding films (e.g. NORMAL/ and "
                f"PNEUMONIA/); found {classes or 'none'}.")
    classes = [str(c) for c in classes]
    missing = [c for c in classes if c.lower() not in {f.lower() for f in found}]
    if missing:
        raise ValueError(f"{str(root)!r} needs one sub-folder per class ({', '.join(classes)}) "
                         f"holding films; missing: {', '.join(missing)}.")
    labels = folder_labels(files, root, classes)
    inside = [i for i, label in enumerate(labels) if label is not None]
    n_outside = len(files) - len(inside)
    files = [files[i] for i in inside]
    _check_all_regular(files, root)
    groups, n_named = patient_groups(files, str(root))
    return LabelledFolder(files=files, labels=np.asarray([labels[i] for i in inside], dtype=object),
                          groups=groups, classes=classes, n_named=n_named, n_skipped=n_skipped,
                          n_outside=n_outside)
