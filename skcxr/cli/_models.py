"""Which model a command uses, resolved so that nothing surprises.

* A pretrained name (``skcxr info`` lists them) is only ever a pretrained
  screener, even when a file of that name lies in the current folder: the
  default of every command is a name, so a stray file can never stand in
  for it. Write ``./NAME`` for such a file. A bare name that is a path here
  but spells a pretrained name in another case (or is ``default``) is
  ambiguous, and an error: nothing is loaded.
* Anything else must be a path that exists: a folder written by ``skcxr
  train`` / ``Screener.save`` (tensors and JSON: no code runs), or a joblib
  file, accepted because it was named and loaded with a one-line warning
  that it runs code. A file of a screener folder (its weights, guard, an
  ONNX or a JSON file), a torch or numpy archive and an empty file are
  refused before anything is unpickled, naming the folder to give.
* Messages name the value as the command takes it: ``--model X``,
  ``--init X``, or the positional ``NAME`` of ``skcxr info``.
"""

import os
import pickle
import shlex
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ._errors import UsageError


def pretrained_registry():
    """The ``skcxr.pretrained`` module, or None in an installation without one."""
    import pkgutil

    import skcxr

    # Only the package's own folders count (an editable install's finder may
    # otherwise answer for another checkout).
    if not any(m.name == "pretrained" for m in pkgutil.iter_modules(skcxr.__path__)):
        return None
    from .. import pretrained

    return pretrained


def list_pretrained():
    """Names of the pretrained screeners shipped with this installation (maybe none)."""
    registry = pretrained_registry()
    return [] if registry is None else list(registry.list_pretrained())


@dataclass
class Model:
    """A screener ready to screen, with how it was named and where its threshold came from."""

    screener: object
    name: str
    threshold_note: str
    threshold_is_default: bool = False
    files: tuple = ()  # the files it was read from: no output may overwrite one


def resolve(spec, *, what="--model"):
    """``("pretrained", name)``, ``("folder", path)`` or ``("joblib", path)`` for a model spec.

    ``what`` is how the command takes the value: an option (``--model``,
    ``--init``) or a positional argument (``NAME``); messages use it.
    """
    names = list_pretrained()
    if spec is None:
        if not names:
            raise UsageError(
                f"no pretrained screener ships with this installation; pass {what} DIR (a "
                "screener folder written by 'skcxr train') or a joblib file.")
        return "pretrained", names[0]
    text = os.fspath(spec)
    if not text:
        # An unset shell variable (--model "$MODEL"): "" would name the current folder.
        raise UsageError(f"{what} is empty; give a pretrained name, a screener folder or a file.")
    if text in names:  # a bare pretrained name is never looked up on disk
        return "pretrained", text
    path = Path(text)
    look_alike, name = _look_alike(text, names, what)
    if look_alike and _is_bare(text) and os.path.lexists(path):
        # A stray RESNET18-KERMANY-128, 'resnet18-kermany-128 ' or default here must not
        # stand in for a name.
        option = f"{what} " if _is_option(what) else ""
        raise UsageError(
            f"{what} {text!r} is ambiguous: it is a path in the current folder and looks like "
            f"{look_alike}. Nothing was loaded; write {option}{shlex.quote(os.path.join('.', text))} "
            "to mean that path" + (f", or {option}{name} for the pretrained screener." if name else "."))
    _refuse_a_file_named_as_a_folder(text, what)
    if path.is_dir():
        _check_screener_folder(path, text, what)
        return "folder", text
    if path.is_file():
        _refuse_what_is_no_model_file(path, text, what)
        return "joblib", text
    kind = _not_a_file(path)
    if kind not in (None, "a broken link"):
        # A named pipe (<(cat model.joblib) too), a socket, a device: never opened (reading a
        # pipe would wait for a writer, and a model read from a stream cannot be checked first).
        raise UsageError(f"{what} {text!r} is {kind}, not a model file: give a screener folder, "
                         "a pretrained name or a joblib file.")
    known = ", ".join(names) if names else "none in this installation"
    hint = ""
    if name and text.casefold() == name.casefold():
        hint = f" Names are case-sensitive: did you mean {name!r}?"
    elif name:
        hint = f" Names are matched exactly (case, spaces and all): did you mean {name!r}?"
    raise UsageError(f"{what} {text!r} is neither a pretrained screener (pretrained: {known}) "
                     f"nor an existing screener folder or model file.{hint}")


def _refuse_a_file_named_as_a_folder(text, what):
    """A usage error for ``x/`` when ``x`` is a file (Path("x/") drops the slash: joblib would
    then try the file, and fail with "Not a directory")."""
    seps = os.sep + (os.altsep or "")
    stripped = text.rstrip(seps)
    if stripped and stripped != text and os.path.isfile(stripped):
        file = shlex.quote(os.path.join(".", stripped) if _is_bare(stripped) else stripped)
        raise UsageError(f"{what} {text!r} names a folder, but {stripped!r} is a file. Nothing "
                         f"was loaded; write {file} to mean the file.")


def _is_option(what):
    return what.startswith("-")


# Dashes a reader takes for "-" that NFKC keeps apart: hyphen, non-breaking hyphen, figure
# dash, en and em dash, horizontal bar, minus sign (U+FE63 and U+FF0D fold to "-" already).
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d",
                                      "-"))


def _comparable(text):
    """``text`` as a reader sees it: compatibility forms unified and accents taken apart
    (NFKD), dashes read as "-" (every dash punctuation of Unicode, the soft hyphen, the hyphen
    bullet and minus-like signs), what draws nothing of its own dropped (combining marks,
    variation selectors, zero-width and other format characters), surrounding white space
    stripped, case folded."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text)).translate(_DASHES)
    text = "".join("-" if unicodedata.category(c) == "Pd" or c in _MORE_DASHES else c
                   for c in text)
    return "".join(c for c in text
                   if unicodedata.category(c) not in ("Cf", "Mn", "Me")).strip().casefold()


# Hyphen bullet, modifier minus, heavy minus, two- and three-em dashes, soft hyphen (which
# many terminals draw as "-").
_MORE_DASHES = "\u2043\u02d7\u2796\u2e3a\u2e3b\u00ad"


def _same_but_for_non_ascii(seen, name):
    """Whether ``seen`` is ``name`` with some letters replaced by non-ASCII ones.

    A homoglyph (Cyrillic "е" for "e", Greek "ο" for "o") is no mistake a user
    makes: Unicode has thousands, so any non-ASCII letter in place of one of
    the name's counts as a look-alike, rather than a list of known ones.
    """
    return (len(seen) == len(name) and seen != name and all(
        a == b or ord(a) > 127 for a, b in zip(seen, name)))


def _look_alike(text, names, what="--model"):
    """``(what text would be mistaken for, the pretrained name to suggest or None)``; or
    ``(None, None)``.

    A pretrained name spelt in another case or with spaces around it, or ``default``.
    """
    seen = _comparable(text)
    name = {_comparable(n): n for n in names}.get(seen) or next(
        (n for n in names if _same_but_for_non_ascii(seen, _comparable(n))), None)
    if name:
        return f"the pretrained screener {name!r}", name
    if seen != "default":
        return None, None
    if what == "--init":
        return "a request for a default (leave --init out to train from scratch)", None
    if _is_option(what):
        return f"a request for the default screener (leave {what} out for that)", None
    return "a request for the default screener", (names[0] if names else None)


def _is_bare(text):
    """True for a name without a folder part (``./NAME`` is an explicit path)."""
    return not any(sep and sep in text for sep in (os.sep, os.altsep))


def _not_a_file(path):
    """What ``path`` is when it exists but is no regular file ("a folder", "a named pipe"...)."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "a broken link" if os.path.islink(path) else None
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device")):
        if test(mode):
            return kind
    return None


def _check_screener_folder(path, text, what):
    """A usage error for a folder whose card.json is missing or no file (never opened then:
    reading a named pipe would block)."""
    card = path / "card.json"
    if not os.path.lexists(card):
        raise UsageError(f"{what} {text!r} is a folder but not a saved screener (it holds no "
                         "card.json; 'skcxr train --out DIR' and Screener.save write one).")
    kind = _not_a_file(card)
    if kind is not None:
        raise UsageError(f"{what} {text!r}: its card.json is {kind}, not a file: the screener "
                         "folder is damaged (save the screener again, or restore the folder).")


def _refuse_what_is_no_model_file(path, text, what):
    """Refuse, before unpickling, a file that cannot be a joblib model file.

    A file of a screener folder (weights.pt, guard.npz, ONNX, card.json),
    a zip archive (torch.save and numpy .npz write one: joblib would read it
    as a pickle and fail obscurely), a numpy .npy array, a JSON file, an
    empty file.
    """
    folder = path.parent if os.path.lexists(path.parent / "card.json") else None
    give = f" ({what} {str(folder)!r})" if folder is not None and _is_option(what) else (
        f" ({str(folder)!r})" if folder is not None else "")
    if path.suffix.lower() == ".onnx":
        raise UsageError(f"{what} {text!r} is an ONNX file: an ONNX file is a backend of a "
                         f"screener folder, not a screener; give the folder{give}.")
    try:
        with open(path, "rb") as file:
            head = file.read(64)
        size = path.stat().st_size
    except OSError:
        head, size = b"", None  # loading it will say why it cannot be read
    if path.suffix.lower() == ".json" or head.lstrip().startswith(b"{"):
        raise UsageError(f"{what} {text!r} is a JSON file, not a model: give the folder that "
                         f"holds card.json{give}.")
    if folder is not None:
        raise UsageError(f"{what} {text!r} is a file of the screener folder {str(folder)!r}: "
                         f"give the folder{give}.")
    if head.startswith(b"PK\x03\x04"):
        raise UsageError(f"{what} {text!r} is a zip archive (torch.save and numpy.savez write "
                         "those too), not a model: unpack a zipped screener folder and give the "
                         "folder, or give a joblib file.")
    if head.startswith(b"\x93NUMPY"):
        raise UsageError(f"{what} {text!r} is a numpy array file (.npy), not a model.")
    if size == 0:
        raise UsageError(f"{what} " + _cut_off(text, size))
    if path.suffix.lower() in NOT_JOBLIB_SUFFIXES:
        # model.pt names weights, not a pickle: never unpickle what claims to be something else.
        raise UsageError(f"{what} {text!r} is named as a {NOT_JOBLIB_SUFFIXES[path.suffix.lower()]} "
                         "file, not a joblib file: skcxr never unpickles it. Give a screener "
                         "folder (its weights are read without running code), or a joblib file.")
    if head and head.startswith(JOBLIB_STARTS[1:]) and not _inflates_to_a_pickle(path):
        raise UsageError(f"{what} {text!r} is a compressed file, but what it holds is no pickle "
                         "(a joblib file compresses one): give a screener folder, a pretrained "
                         "name or a joblib file.")
    if head and not head.startswith(JOBLIB_STARTS):
        from ..preprocessing import sniff_format

        kind = sniff_format(path)
        found = (f"unknown content (it starts with the bytes {head[:4].hex()})"
                 if kind == "unknown content" else
                 "a tar archive (unpack a screener folder and give the folder)"
                 if kind == "tar archive" else
                 f"an image ({kind})" if kind != "text file" else "a text file")
        raise UsageError(f"{what} {text!r} is not a joblib file: it holds {found}. Give a "
                         "screener folder, a pretrained name or a joblib file.")


# How the files joblib.dump writes begin: a pickle of protocol 2 or later, or one of its
# compressors (joblib/compressor.py: zlib, gzip, bz2, lzma, xz, lz4; "ZF" the old zlib).
JOBLIB_STARTS = (b"\x80", b"ZF", b"\x78", b"\x1f\x8b", b"BZh", b"]\x00\x00", b"\xfd7zXZ",
                 b"\x04\x22\x4d\x18")
NOT_JOBLIB_SUFFIXES = {
    ".pt": "PyTorch", ".pth": "PyTorch", ".ckpt": "checkpoint", ".safetensors": "safetensors",
    ".npz": "numpy", ".npy": "numpy", ".h5": "HDF5", ".hdf5": "HDF5", ".tflite": "TensorFlow Lite",
    ".pb": "TensorFlow",
}


def _inflates_to_a_pickle(path):
    """Whether a compressed file starts, once inflated, as a pickle of protocol 2+ does.

    joblib's compressors wrap one pickle; a gzipped tar of a screener folder
    (or anything else compressed) does not start with one. Only the first
    bytes are inflated.
    """
    import bz2
    import gzip
    import lzma
    import zlib

    try:
        with open(path, "rb") as file:
            head = file.read(2)
            file.seek(0)
            if head == b"\x1f\x8b":
                start = gzip.GzipFile(fileobj=file).read(2)
            elif head == b"BZ":
                start = bz2.BZ2File(file).read(2)
            elif head in (b"\xfd7", b"]\x00"):
                start = lzma.LZMAFile(file).read(2)
            elif head[:1] == b"\x78":
                start = zlib.decompressobj().decompress(file.read(4096))[:2]
            else:
                return True  # joblib's own zlib ("ZF") or lz4 framing: left to joblib
    except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
        return False
    return start[:1] == b"\x80"


def _cut_off(text, size):
    return f"{text!r} is not a complete joblib file ({size} bytes): it is empty or was cut off."


def _is_cut_off(exc):
    """True for what unpickling a truncated file raises (plain or compressed joblib)."""
    if isinstance(exc, EOFError):
        return True
    if isinstance(exc, pickle.UnpicklingError):
        return "exhausted" in str(exc) or "truncated" in str(exc)
    return isinstance(exc, ValueError) and str(exc).startswith("EOF:")


def load_screener_spec(spec, *, what="--model", device="auto", backend="auto"):
    """``(Screener or other loaded object, kind, name)`` for ``spec``; errors as UsageError."""
    kind, name = resolve(spec, what=what)
    try:
        if kind == "pretrained":
            loaded = pretrained_registry().load_pretrained(name, device=device, backend=backend)
        elif kind == "folder":
            from ..screener import load_screener

            loaded = load_screener(name, device=device, backend=backend)
        else:
            print(f"skcxr: warning: {what} {name!r} is a joblib file: loading it runs code from "
                  "the file; load only files you made or trust (a screener folder runs none).",
                  file=sys.stderr)
            import joblib

            loaded = joblib.load(name)
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged files fail in many ways; name the file
        if kind == "joblib" and _is_cut_off(exc):
            raise UsageError(f"{what} " + _cut_off(name, os.path.getsize(name))) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"cannot load the model {name!r}: {first}") from None
    return loaded, kind, name


def load_model(spec, threshold="screening", *, backend="auto", device="auto", what="--model"):
    """Load the model ``--model`` names and apply ``--threshold``.

    Parameters
    ----------
    spec : str or None
        A pretrained name, a screener folder, a joblib file (of a Screener
        or of a fitted pipeline starting with an ImageLoader), or None for
        the first pretrained screener.
    threshold : "screening" or float
        "screening" keeps the model's own threshold (0.5, said plainly,
        for a pipeline that carries none).
    backend : str, default="auto"
        What runs the network (``Screener(backend=...)``).
    device : str, default="auto"
    what : str, default="--model"
        How the command takes ``spec`` (``--model``, or ``NAME`` for
        ``skcxr info``): messages name it so.

    Returns
    -------
    model : Model
    """
    loaded, kind, name = load_screener_spec(spec, what=what, device=device,
                                        backend=backend)
    screener, has_threshold = _as_screener(loaded, name)
    screener.set_params(backend=backend)
    files = _model_files(screener, kind, name)
    if threshold == "screening":
        if has_threshold:
            return Model(screener, name, "the model's screening threshold", files=files)
        note = "the default: this model carries no screening threshold; set one with --threshold"
        return Model(screener, name, note, threshold_is_default=True, files=files)
    screener.set_params(threshold=float(threshold))
    return Model(screener, name, "set with --threshold", files=files)


def _model_files(screener, kind, name):
    """The files a model was read from: its joblib file, or every file of its folder."""
    if kind == "joblib":
        return (name,)
    folder = getattr(screener, "_folder", None)
    if folder is None or not os.path.isdir(folder):
        return ()
    return tuple(sorted(str(p) for p in Path(folder).iterdir() if p.is_file()))


def _as_screener(loaded, spec):
    """``(Screener, whether it carries its own threshold)`` from what a model file held."""
    from sklearn.exceptions import NotFittedError
    from sklearn.pipeline import Pipeline

    from ..preprocessing import ImageLoader
    from ..screener import Screener

    if isinstance(loaded, Screener):
        screener, has_threshold = loaded, True
    elif isinstance(loaded, Pipeline) and isinstance(loaded.steps[0][1], ImageLoader):
        screener, has_threshold = Screener(loaded), False
    else:
        raise UsageError(
            f"the model file {spec!r} holds an object of type {type(loaded).__name__}; expected "
            "a Screener (from 'skcxr train' or skcxr.load_pretrained) or a fitted pipeline that "
            "starts "
            "with an ImageLoader.")
    try:
        screener.fitted_estimator  # noqa: B018 - raises when not fitted
    except NotFittedError:
        raise UsageError(f"the model in {spec!r} is not fitted.") from None
    if screener.loader is None:
        raise UsageError(
            f"the screener in {spec!r} scores decoded images, not files: its estimator must "
            "start with an ImageLoader to screen files.")
    try:
        screener.flagged_class  # noqa: B018 - an ambiguous label pair is refused here
    except ValueError as exc:
        raise UsageError(f"the model in {spec!r}: {exc}") from None
    return screener, has_threshold
