"""The shipped screeners: one folder each in ``weights/``, as :meth:`Screener.save` writes them.

Each folder holds ``card.json`` (a :class:`~skcxr.ModelCard`: architecture,
input size, recipe and command, data, validation and test metrics, the
screening threshold and how it was chosen, and the sha256 of every file
beside it), ``weights.pt`` (half-precision tensors, read with
``torch.load(weights_only=True)``), ``guard.npz`` (the input guard's arrays)
and ``network.int8.onnx`` (the int8 ONNX Runtime network). Nothing is downloaded and nothing is
unpickled. An entry that cannot be read as a screener is left out of
:func:`list_pretrained` and named by :func:`unreadable_entries`, so one stray
file cannot break every command.
"""

from pathlib import Path

from ..screener import (
    ScreenerFolderError,
    load_screener,
    read_card,
    read_weights,
    verify_folder,
)

WEIGHTS_DIR = Path(__file__).parent / "weights"


def _scan():
    """``({name: folder}, [(path, why it is not a screener)])`` of the weights folder."""
    found, unreadable, ranks = {}, [], {}
    entries = sorted(WEIGHTS_DIR.iterdir()) if WEIGHTS_DIR.is_dir() else []
    for entry in entries:
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        try:
            card = read_card(entry)
        except ScreenerFolderError as exc:
            unreadable.append((entry, str(exc)))
            continue
        if card.name != entry.name:
            unreadable.append((entry, f"its card names it {card.name!r}, not {entry.name!r}"))
            continue
        found[card.name], ranks[card.name] = entry, card.rank
    return dict(sorted(found.items(), key=lambda item: (ranks[item[0]], item[0]))), unreadable


def list_pretrained():
    """List the pretrained screeners shipped with skcxr, best first.

    Returns
    -------
    names : list of str
        Their names, for :func:`load_pretrained` and :func:`get_card`.

    Examples
    --------
    >>> import skcxr
    >>> names = skcxr.list_pretrained()  # e.g. ['resnet18-kermany-128']
    """
    return list(_scan()[0])


def unreadable_entries():
    """List the entries of the weights folder that are not readable screeners, and why.

    Returns
    -------
    entries : list of (pathlib.Path, str)
        Each entry's path and the reason it is not listed by :func:`list_pretrained`.
    """
    return _scan()[1]


def pretrained_folder(name):
    """The folder of pretrained screener ``name``.

    Parameters
    ----------
    name : str
        One of :func:`list_pretrained`.

    Returns
    -------
    folder : pathlib.Path
        The screener's folder in the package.
    """
    found = _scan()[0]
    try:
        return found[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"No pretrained screener named {name!r}; shipped: {list(found) or 'none'}."
        ) from None


def get_card(name):
    """The model card of pretrained screener ``name``.

    Parameters
    ----------
    name : str
        One of :func:`list_pretrained`.

    Returns
    -------
    card : ModelCard
        Read from the screener's folder; no weights are loaded.
    """
    return read_card(pretrained_folder(name))


def verify_files(name):
    """Each file of pretrained screener ``name`` and what is wrong with it (None when intact).

    Parameters
    ----------
    name : str
        One of :func:`list_pretrained`.

    Returns
    -------
    checks : list of (str, str or None)
        ``(file name, problem)``; see :func:`skcxr.screener.verify_folder`.
    """
    return verify_folder(pretrained_folder(name))


def get_weights(name):
    """The verified tensors of pretrained screener ``name`` (sha256 checked, no unpickling).

    Parameters
    ----------
    name : str
        One of :func:`list_pretrained`.

    Returns
    -------
    tensors : dict
        ``"network"``: the half-precision ``state_dict`` (and ``"guard"``,
        the input guard's state, in a folder written before ``guard.npz``).
    """
    return read_weights(pretrained_folder(name))


def load_pretrained(name, *, device="auto", n_jobs=None, on_refusal="raise", backend="auto"):
    """A shipped screener, ready to use: file paths in, P(NORMAL), P(PNEUMONIA) out.

    Nothing is downloaded and nothing is unpickled: the weights come from
    the installed package, are checked against the sha256 on their card and
    read with ``torch.load(weights_only=True)``.

    Parameters
    ----------
    name : str
        One of :func:`list_pretrained`.
    device : str, default="auto"
        Where the network runs.
    n_jobs : int, default=None
        Threads decoding images (``ImageLoader(n_jobs=...)``).
    on_refusal : {"raise", "warn", "score"}, default="raise"
        What ``predict_proba``/``predict`` do with films the input guard
        refuses (see :class:`~skcxr.Screener`).
    backend : str, default="auto"
        What runs the network (see :class:`~skcxr.Screener`).

    Returns
    -------
    screener : skcxr.Screener
        Fitted: ``predict_proba(paths)`` gives the probabilities in
        ``classes_`` order (NORMAL, PNEUMONIA) of the films its guard
        accepts, ``predict(paths)`` flags at the card's screening threshold,
        ``refusals(paths)`` says which films the guard refuses and why,
        ``card`` is the :class:`~skcxr.ModelCard` and ``classifier`` the
        array-level :class:`~skcxr.CXRClassifier`.

    Examples
    --------
    >>> import skcxr
    >>> screener = skcxr.load_pretrained(skcxr.list_pretrained()[0])  # doctest: +SKIP
    >>> screener.predict_proba(["film.jpeg"])  # doctest: +SKIP
    array([[0.93, 0.07]])
    """
    return load_screener(pretrained_folder(name), device=device, n_jobs=n_jobs,
                         on_refusal=on_refusal, backend=backend)
