"""A screener on disk without pickles: ``card.json``, ``weights.pt`` and ``guard.npz`` in one folder.

``weights.pt`` holds the network's tensors in half precision, read with
``torch.load(weights_only=True)``, which runs no code. ``guard.npz`` holds
the input guard's arrays, read with ``numpy.load(allow_pickle=False)``: a
screen on an ONNX backend needs the guard but not torch, so the guard is
kept apart from the network. ``card.json`` is the :class:`ModelCard`: what
rebuilding the screener needs besides the arrays, and the sha256 of every
file beside it, checked before anything is read. The shipped screeners are
such folders, and so are the ones ``skcxr train`` and
:func:`skcxr.fit_screener` write.

Folders written before the guard had a file of its own (weights format 1)
keep it inside ``weights.pt``; they are read as they are.
"""

import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ._card import CardError, ModelCard

CARD_FILE = "card.json"
WEIGHTS_FILE = "weights.pt"
GUARD_FILE = "guard.npz"
# 2: the network only (the guard in GUARD_FILE). A reader that knows only 1 refuses a
# format-2 file, instead of finding no guard in it and screening unguarded.
WEIGHTS_FORMAT = 2
WEIGHTS_FORMATS = (1, 2)
# Written beside a folder while it is saved; never read as a screener.
PARTIAL_PREFIX = ".partial-"


class ScreenerFolderError(ValueError):
    """A screener folder that is missing, incomplete or damaged; the message names the file."""


def sha256_of(path):
    """The sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_screener_folder(path):
    """True for a folder holding a ``card.json`` (whether or not it is valid)."""
    return Path(path).is_dir() and (Path(path) / CARD_FILE).is_file()


# ----------------------------------------------------------------- writing
def save_screener(screener, folder, *, overwrite=False, extra_files=None):
    """Write ``screener`` to ``folder`` (see :meth:`Screener.save`).

    Parameters
    ----------
    screener : fitted Screener
        Its estimator must be ``ImageLoader -> CXRClassifier`` built by name.
    folder : path-like
    overwrite : bool, default=False
    extra_files : dict, default=None
        ``{file name: path}`` of verified files to put beside the weights
        (an ONNX backend); the card must already name them in ``backends``.

    Returns
    -------
    card : ModelCard
    """
    import torch

    from ..classifier import CXRClassifier
    from ._parts import split_loader
    from ._saved_classifier import built

    folder = Path(folder)
    loader, classifier = split_loader(screener.fitted_estimator)
    classifier = built(classifier)
    if loader is None or not isinstance(classifier, CXRClassifier):
        raise ValueError(
            "Only a screener over files whose estimator is ImageLoader -> CXRClassifier can be "
            f"saved without pickling; this one holds {type(screener.fitted_estimator).__name__}. "
            "Use joblib.dump for other estimators (a joblib file is code: load only your own).")
    if folder.exists() and not (overwrite and is_screener_folder(folder)):
        raise FileExistsError(
            f"{str(folder)!r} exists" + (": pass overwrite=True to replace it." if
                                          is_screener_folder(folder) else
                                          " and is not a screener folder; choose a new path."))
    if not folder.parent.is_dir():
        raise FileNotFoundError(f"Folder {str(folder.parent)!r} does not exist.")

    state = classifier.get_state()
    tensors = {"format": WEIGHTS_FORMAT,
               "network": {key: value.half() if value.is_floating_point() else value
                           for key, value in state.pop("network").items()}}
    guard = screener.fitted_guard

    if extra_files is None:
        extra_files = _backend_files(screener)
    partial = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{folder.name}-", dir=folder.parent))
    try:
        # mkdtemp makes the folder private (0o700); a screener folder is read by whoever
        # screens with it, so it gets the mode a plain mkdir would give.
        os.chmod(partial, 0o777 & ~_umask())
        torch.save(tensors, partial / WEIGHTS_FILE)
        if guard is not None:
            write_guard(guard, partial / GUARD_FILE)
        for name, source in (extra_files or {}).items():
            shutil.copyfile(source, partial / name)
        card = _card_for(screener, folder.name, state, loader,
                         sha256_of(partial / WEIGHTS_FILE),
                         None if guard is None else sha256_of(partial / GUARD_FILE))
        for name in (extra_files or {}):
            expected = card.backends.get(_backend_named(card, name), {}).get("sha256")
            if expected != sha256_of(partial / name):
                raise ValueError(f"{name}: its sha256 does not match the card's backends entry.")
        card.write(partial / CARD_FILE)  # last: a folder without a card is no screener
        _replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return card


def _umask():
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def _backend_files(screener):
    """``{file name: path}`` of the backend files a loaded screener has beside its weights."""
    folder, card = getattr(screener, "_folder", None), screener.card
    if folder is None or card is None:
        return {}
    return {entry["file"]: Path(folder) / entry["file"] for entry in card.backends.values()
            if entry.get("file") and (Path(folder) / entry["file"]).is_file()}


def _backend_named(card, file_name):
    return next((name for name, entry in card.backends.items() if entry["file"] == file_name), None)


def _card_for(screener, name, state, loader, sha256, guard_sha256):
    """The card to write: the screener's own, with what this save knows for certain."""
    card = screener.card
    threshold = float(screener.threshold)
    pos_label = screener.flagged_class
    if card is None:
        point = {"threshold": threshold, "pos_label": pos_label,
                 "rule": "set when the screener was made; no rule recorded"}
        card = ModelCard(
            name=name, title=f"Screener {name}", intended_use=DEFAULT_INTENDED_USE,
            not_validated_on=["anything: no validation is recorded on this card"],
            operating_point=point, loader={}, network={}, weights={})
    data = card.to_dict()
    point = data["operating_point"]
    if abs(point["threshold"] - threshold) > 1e-12 or point["pos_label"] != pos_label:
        # The screener's threshold is what it uses; the card must not claim a rule for it.
        data["operating_point"] = {
            "threshold": threshold, "pos_label": pos_label,
            "rule": f"set by hand to {threshold:.6g}, overriding {point['threshold']:.6g} "
                    f"({point['rule']})"}
        # Each backend's own threshold came from the card's rule: it no longer applies.
        data["backends"] = {name: {k: v for k, v in entry.items() if k != "threshold"}
                            for name, entry in data["backends"].items()}
    data.update(
        name=name,
        loader={key: list(value) if isinstance(value, tuple) else value
                for key, value in loader.get_params().items() if key in ("size", "resize_mode",
                                                                          "grayscale", "dtype")},
        network={key: value for key, value in state.items()},
        weights={"file": WEIGHTS_FILE, "sha256": sha256, "dtype": "float16",
                 "format": WEIGHTS_FORMAT},
        guard=None if guard_sha256 is None else {
            **{key: value for key, value in (data.get("guard") or {}).items()
               if key not in ("file", "sha256")},
            "file": GUARD_FILE, "sha256": guard_sha256},
    )
    return ModelCard.from_dict(data, source=f"the card of {name!r}")


def _replace(partial, folder):
    """Move the complete ``partial`` folder to ``folder``, replacing an old one last."""
    if not folder.exists():
        os.rename(partial, folder)
        return
    old = folder.with_name(f"{PARTIAL_PREFIX}old-{folder.name}-{os.getpid()}")
    os.rename(folder, old)
    os.rename(partial, folder)
    shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------- reading
def read_card(folder):
    """Read the validated card of a screener folder; no weights are loaded.

    Parameters
    ----------
    folder : str or path-like
        A folder written by :meth:`Screener.save`.

    Returns
    -------
    card : ModelCard
        The folder's ``card.json``.

    Raises
    ------
    ScreenerFolderError
        When ``folder`` is not a folder or its card is missing or invalid.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ScreenerFolderError(f"{str(folder)!r} is not a folder.")
    try:
        return ModelCard.read(folder / CARD_FILE)
    except CardError as exc:
        raise ScreenerFolderError(str(exc)) from None


def read_weights(folder, card=None, *, data=None):
    """The verified tensors of a screener folder's ``weights.pt``.

    The sha256 on the card is checked first, then the file is read with
    ``torch.load(weights_only=True)``: no code runs.

    Parameters
    ----------
    folder : path-like
        A screener folder.
    card : ModelCard, default=None
        Its card, when already read.
    data : bytes, default=None
        The file's bytes, already read and checked against the card
        (:func:`verified_bytes`); the file is then not read again.

    Returns
    -------
    tensors : dict
        ``"network"`` (the network's half-precision ``state_dict``) and,
        for a screener with an input guard, ``"guard"`` (its state).

    Raises
    ------
    ScreenerFolderError
        Naming the file that is missing, damaged or not plain tensors.
    """
    import torch

    card = read_card(folder) if card is None else card
    path = Path(folder) / card.weights["file"]
    if data is None:
        data = verified_bytes(path, card.weights["sha256"])
    check_not_inflating(data, path)
    try:
        tensors = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for damaged files
        raise ScreenerFolderError(
            f"The weights file {str(path)!r} matches its checksum but cannot be read as plain "
            f"tensors ({_why_unreadable(exc, data[:4])}). It was written by another tool or version, or "
            "damaged before its checksum was taken; skcxr never unpickles weights, so re-save the "
            "screener with this skcxr.") from None
    if not isinstance(tensors, dict) or tensors.get("format") not in WEIGHTS_FORMATS or \
            not isinstance(tensors.get("network"), dict):
        raise ScreenerFolderError(
            f"The weights file {str(path)!r} is not a skcxr screener's weights (format "
            f"{' or '.join(map(str, WEIGHTS_FORMATS))}): it holds "
            f"{_what_it_holds(tensors)}.")
    # A network with NaN weights scores every film NaN, which no threshold flags: every
    # film would pass as not flagged. Refuse it here, naming the tensors.
    damaged = [key for key, value in tensors["network"].items()
               if isinstance(value, torch.Tensor) and value.is_floating_point()
               and not bool(torch.isfinite(value).all())]
    if damaged:
        raise ScreenerFolderError(
            f"The weights file {str(path)!r} holds NaN or infinite values in {len(damaged)} "
            f"tensor(s) ({', '.join(damaged[:3])}{', ...' if len(damaged) > 3 else ''}): the "
            "network is damaged (a diverged training saved, or an edited file) and would score "
            "every film NaN. Restore the screener or train it again.")
    return tensors


def _what_it_holds(tensors):
    if not isinstance(tensors, dict):
        return f"a {type(tensors).__name__}"
    if "format" not in tensors:
        return f"a dict without a format (keys: {', '.join(map(str, list(tensors)[:5]))})"
    if tensors["format"] not in WEIGHTS_FORMATS:
        return f"format {tensors['format']!r}, which this skcxr does not read"
    return "no network"


def write_guard(guard, path):
    """Write a fitted guard's state to ``path`` as a ``.npz`` of plain arrays (no pickles).

    Parameters
    ----------
    guard : fitted InputGuard
    path : path-like
    """
    arrays = {key: np.asarray(value) for key, value in guard.get_state().items()}
    with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a name
        np.savez(f, **arrays)


def read_guard_state(folder, card):
    """The verified state of a screener folder's input guard, or None when it has none.

    Read from the file the card names (``numpy.load(allow_pickle=False)``:
    no code runs), else from a format-1 ``weights.pt`` that holds it.

    Parameters
    ----------
    folder : path-like
    card : ModelCard

    Returns
    -------
    state : dict or None
        For :meth:`InputGuard.from_state`.
    """
    entry = card.guard or {}
    if "file" not in entry:
        if card.weights.get("format", 1) == 1:  # written before guard.npz existed
            return read_weights(folder, card).get("guard")
        return None
    path = Path(folder) / entry["file"]
    data = verified_bytes(path, entry["sha256"])
    check_not_inflating(data, path)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            return {key: arrays[key].item() if arrays[key].ndim == 0 else arrays[key]
                    for key in arrays.files}
    except Exception as exc:  # noqa: BLE001 - numpy raises many types for damaged files
        raise ScreenerFolderError(
            f"The guard file {str(path)!r} matches its checksum but cannot be read as plain "
            f"arrays ({_why_unreadable(exc, data[:4])}).") from None


def _why_unreadable(exc, head):
    """Why torch.load or numpy.load failed on a file starting with ``head``, without torch's
    advice to pass weights_only=False (that runs code)."""
    text = str(exc)
    unsupported = next((line.strip() for line in text.splitlines()
                        if "Unsupported global" in line), "")
    if unsupported:
        return f"it holds pickled Python objects, not only tensors: {unsupported[:150]}; " \
               "loading them would run code from the file"
    if not head:
        return "it is empty (0 bytes)"
    if head != b"PK\x03\x04":  # torch.save and numpy.savez both write a zip archive
        return f"it is not a file torch.save or numpy.savez writes: no zip archive (it starts " \
               f"with the bytes {head.hex()})"
    lines = [line.strip() for line in text.splitlines() if line.strip()
             and "weights_only" not in line and "Please file an issue" not in line]
    return (lines[0] if lines else type(exc).__name__)[:200]


def check_not_inflating(data, path):
    """Refuse an archive whose members inflate beyond the file: skcxr writes them stored.

    ``torch.save`` and ``numpy.savez`` write uncompressed zip archives, so
    their members add up to about the file's size. A member declared far
    larger is a decompression bomb (a 4 MB guard.npz inflated to 9 GB before
    this check), whatever the card's sha256 says.
    """
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip archive: the reader says what it is
    if declared > 2 * len(data) + (1 << 20):
        raise ScreenerFolderError(
            f"{str(path)!r} inflates to {declared:,} bytes from {len(data):,}: skcxr writes its "
            "archives uncompressed, so this is not one of its files (a decompression bomb?).")


def verified_bytes(path, expected):
    """The bytes of ``path``, read once and checked against sha256 ``expected``.

    What is checked is what is used: the file may change on disk afterwards
    without changing what was loaded.

    Raises
    ------
    ScreenerFolderError
        When the file is missing, no regular file, unreadable or not the
        card's.
    """
    path = Path(path)
    check_regular(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScreenerFolderError(f"{str(path)!r} cannot be read ({exc.strerror}).") from None
    _check_sha(path, hashlib.sha256(data).hexdigest(), expected)
    return data


def check_regular(path):
    """Raise :class:`ScreenerFolderError` unless ``path`` is a regular file (never opened)."""
    path = Path(path)
    if not path.is_file():
        what = ("is a folder, not a file" if path.is_dir() else
                "is not a regular file" if path.exists() else "is missing")
        raise ScreenerFolderError(f"{str(path)!r} {what}: the screener folder is incomplete or "
                                  "damaged. Restore it (reinstall skcxr for a shipped screener).")


def _check_sha(path, found, expected):
    if found != expected:
        raise ScreenerFolderError(
            f"{str(path)!r} has sha256 {found}, but its card says {expected}: the file is "
            "damaged or was replaced. Restore it (reinstall skcxr for a shipped screener).")


def verify_folder(folder, card=None):
    """Each file a screener folder's card pins, and what is wrong with it (None when it matches).

    Each file's sha256 is compared with the card's, and the guard's arrays
    are checked (keys, shapes, finite values). The network's weights are not
    parsed: that needs torch (loading the screener for PyTorch does it).

    Parameters
    ----------
    folder : path-like
        A screener folder.
    card : ModelCard, default=None
        Its card, when already read.

    Returns
    -------
    checks : list of (str, str or None)
        ``(file name, problem)`` for the weights, the guard and each shipped
        backend file.
    """
    card = read_card(folder) if card is None else card
    entries = [card.weights] if card.weights else []
    entries += [card.guard] if card.guard and "file" in card.guard else []
    entries += [entry for entry in card.backends.values() if entry.get("file")]
    from ..guard import check_guard_state  # numpy only

    checks = []
    for entry in entries:
        path = Path(folder) / entry["file"]
        try:
            if entry is card.guard:  # read (sha256, size) and its arrays checked too
                check_guard_state(read_guard_state(folder, card))
            else:
                check_not_inflating(verified_bytes(path, entry["sha256"]), path)
        except ScreenerFolderError as exc:
            checks.append((entry["file"], str(exc)))
        except ValueError as exc:
            checks.append((entry["file"], f"{str(path)!r}: {exc}"))
        else:
            checks.append((entry["file"], None))
    return checks


def _runs_on_its_int8_file(card, backend):
    """Whether ``backend`` will take the int8 file the card ships (then no PyTorch network runs)."""
    from ._backend import INT8

    return backend in ("auto", INT8) and bool((card.backends.get(INT8) or {}).get("file"))


def load_screener(folder, *, device="auto", n_jobs=None, on_refusal="raise", backend="auto"):
    """A screener saved with :meth:`Screener.save` (or a shipped one), without unpickling.

    The card is validated and every file is checked against its sha256.
    The guard's arrays are read with ``numpy.load(allow_pickle=False)``
    and the network's weights with ``torch.load(weights_only=True)``. When
    the screener will run on the int8 ONNX file its card ships, the network
    is read only when something first needs it (:class:`SavedClassifier`):
    a screen on that file never imports torch.

    Parameters
    ----------
    folder : path-like
        A folder holding ``card.json`` and ``weights.pt``.
    device : str, default="auto"
        Where the network runs.
    n_jobs : int, default=None
        Threads decoding images (``ImageLoader(n_jobs=...)``).
    on_refusal : {"raise", "warn", "score"}, default="raise"
        See :class:`Screener`.
    backend : str, default="auto"
        See :class:`Screener`.

    Returns
    -------
    screener : Screener
        Fitted: its estimator is a :class:`~sklearn.frozen.FrozenEstimator`
        around ``ImageLoader -> SavedClassifier`` (the saved
        :class:`~skcxr.CXRClassifier`, built on first use), its threshold,
        guard and card those saved.

    Raises
    ------
    ScreenerFolderError
        Naming the file that is missing, damaged or unreadable.

    Examples
    --------
    >>> import skcxr
    >>> # screener.save("my_screener"); skcxr.load_screener("my_screener")
    """
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import Pipeline

    from ..guard import InputGuard
    from ..preprocessing import ImageLoader
    from ._saved_classifier import SavedClassifier
    from ._screener import Screener

    folder = Path(folder).resolve()
    card = read_card(folder)
    if not card.weights or not card.network:
        raise ScreenerFolderError(f"{str(folder / CARD_FILE)!r} names no weights: it is the "
                                  "card of a screener that was never saved.")
    # Read and checked now; parsed (with torch) when the network is first needed.
    weights = verified_bytes(folder / card.weights["file"], card.weights["sha256"])
    try:
        classifier = SavedClassifier.from_card(folder, card, device=device, weights=weights)
    except (KeyError, TypeError, ValueError) as exc:
        raise ScreenerFolderError(f"{str(folder / CARD_FILE)!r}: network.fitted lacks the "
                                  f"classes or input shape ({exc}).") from None
    if not _runs_on_its_int8_file(card, backend):
        classifier.classifier_  # noqa: B018 - PyTorch will run it: read it now, errors now
    loader = ImageLoader(n_jobs=n_jobs, **{key: tuple(value) if isinstance(value, list) else value
                                           for key, value in card.loader.items()})
    guard = None
    state = read_guard_state(folder, card)
    if state is None and card.guard:
        raise ScreenerFolderError(
            f"{str(folder / CARD_FILE)!r} describes an input guard, but the folder holds none: "
            "it is incomplete. Restore it; a screener is never loaded without the guard its "
            "card promises.")
    if state is not None:
        try:
            guard = InputGuard.from_state(state, FrozenEstimator(classifier))
        except ValueError as exc:
            path = folder / (card.guard or {}).get("file", card.weights["file"])
            raise ScreenerFolderError(f"{str(path)!r}: {exc}") from None
    pipeline = Pipeline([("imageloader", loader), ("cxrclassifier", classifier)])
    screener = Screener(FrozenEstimator(pipeline), threshold=card.threshold,
                        pos_label=card.pos_label, guard=guard, card=card, on_refusal=on_refusal,
                        backend=backend)
    screener._folder = str(folder)  # where backend files beside the weights are
    return screener


DEFAULT_INTENDED_USE = (
    "A preliminary screening aid that puts films likely to show the flagged finding first in the "
    "reading queue for radiologist review. It does not diagnose, never replaces the radiologist, "
    "and a film it does not flag is not cleared."
)
