"""What runs a screener's network: PyTorch, or ONNX Runtime in fp32 or int8.

``"auto"`` takes the fastest backend whose check passed: the int8 ONNX file
a screener ships beside its weights (its sha256 and measured numbers on the
card), else PyTorch. ``"onnxruntime"`` exports the fp32 network on first use
into a cache folder, verified against PyTorch before it is used. A backend
that cannot be used (ONNX Runtime not installed, a file missing or damaged,
an export that fails its check) falls back to PyTorch with one warning that
says why: never silently to different scores.
"""

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from ._saved_classifier import SavedClassifier, built
from ._scoring import TorchNetwork

BACKENDS = ("auto", "torch", "onnxruntime", "onnxruntime-int8")
INT8 = "onnxruntime-int8"
FP32 = "onnxruntime"


class BackendFallbackWarning(UserWarning):
    """A screener's requested backend could not be used; it runs on PyTorch instead."""


class OrtNetwork:
    """An ONNX Runtime session as a screener's scorer (logits and features in one run).

    Parameters
    ----------
    name : str
        The backend's name ("onnxruntime" or "onnxruntime-int8").
    session : skcxr.backends.OnnxNetwork
    classifier : CXRClassifier
        The network the file was made from: the guard's features are its.
    """

    def __init__(self, name, session, classifier):
        self.name = name
        self.session = session
        self.classifier = classifier

    def gives_features_of(self, guard):
        """Whether the guard was fitted on this network's features (same network, other runtime)."""
        return TorchNetwork(self.classifier).gives_features_of(guard)

    def predict_proba(self, X, *, with_features=False):
        """``(proba, features or None)`` of decoded images."""
        logits, features = self.session.run(np.ascontiguousarray(X))
        logits = logits - logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba, (features if with_features else None)


def resolve_backend(screener):
    """The scorer for ``screener.backend``, falling back to PyTorch with a warning."""
    classifier = screener.classifier
    torch_network = TorchNetwork(classifier)
    requested = screener.backend
    card = screener.card
    if requested == "torch" or not _has_network(classifier):
        return torch_network
    entry = (card.backends.get(INT8) if card is not None else None) or {}
    if requested == "auto" and not entry.get("file"):
        return torch_network  # nothing faster ships with this screener
    try:
        if requested in ("auto", INT8):
            return OrtNetwork(INT8, _int8_session(screener, entry), classifier)
        return OrtNetwork(FP32, _fp32_session(classifier), classifier)
    except Exception as exc:  # noqa: BLE001 - any failure means: PyTorch, said once
        warnings.warn(BackendFallbackWarning(
            f"The {requested if requested != 'auto' else INT8} backend cannot be used "
            f"({_first_line(exc)}); this screener runs on PyTorch instead, at its PyTorch "
            "threshold."), stacklevel=4)
        return torch_network


def _has_network(classifier):
    """A CXRClassifier (or one saved in a folder, not built yet): something ONNX can run."""
    return isinstance(classifier, SavedClassifier) or hasattr(classifier, "module_")


def _int8_session(screener, entry):
    from ..backends import OnnxNetwork

    folder = getattr(screener, "_folder", None)
    if not entry.get("file"):
        raise ValueError("this screener ships no int8 file")
    if folder is None:
        raise ValueError("the screener was not loaded from its folder (load_screener)")
    path = Path(folder) / entry["file"]
    if not path.is_file():
        raise ValueError(f"{str(path)!r} is missing")
    if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
        raise ValueError(f"{str(path)!r} does not match the sha256 on its card")
    return OnnxNetwork(path)


def _fp32_session(classifier):
    """The fp32 ONNX export of ``classifier``, made once into the cache and verified on making."""
    from ..backends import OnnxNetwork, export_onnx, verify_backend

    classifier = built(classifier)
    state = classifier.module_.state_dict()
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].detach().cpu().numpy().tobytes())
    folder = cache_folder()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"the cache folder {str(folder)!r} (SKCXR_CACHE, else ~/.cache/skcxr) "
                         "is a file, not a folder")
    path = folder / f"network-{digest.hexdigest()[:24]}.fp32.onnx"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        warnings.warn(f"Exporting the network to ONNX for the onnxruntime backend, once, into "
                      f"{str(path)!r} (verified against PyTorch).", UserWarning, stacklevel=5)
        export_onnx(classifier, path)
        return OnnxNetwork(path)
    # A file found in the cache is checked again: anyone who can write the cache could have
    # put another network under this name. A few textures suffice at fp32's 1e-4.
    network = OnnxNetwork(path)
    textures = np.random.default_rng(0).integers(0, 256, (8, *classifier.input_shape_),
                                                 dtype=np.uint8)
    try:
        verify_backend(network, textures, classifier, atol=1e-4, max_feature_error=1e-3)  # fp32's
    except (ValueError, RuntimeError):  # BackendMismatchError is a RuntimeError
        raise ValueError(f"{str(path)!r}, cached, does not score as this network does: delete "
                         "it and it is exported again") from None
    return network


def cache_folder():
    """Where skcxr keeps files it builds on first use: ``$SKCXR_CACHE``, else ``~/.cache/skcxr``."""
    return Path(os.environ.get("SKCXR_CACHE") or Path.home() / ".cache" / "skcxr")


def backend_threshold(screener, network_name):
    """The threshold a screener uses with ``network_name``.

    The card's threshold was chosen with PyTorch's scores; each shipped
    backend re-derived its own by the card's rule on the same validation
    patients, and uses that one, as long as the screener's threshold is the
    card's. A threshold set by hand is used as given with every backend.
    """
    card = screener.card
    threshold = float(screener.threshold)
    if card is None or network_name == "torch" or abs(card.threshold - threshold) > 1e-12:
        return threshold
    entry = card.backends.get(network_name) or {}
    return float(entry.get("threshold", threshold))


def _first_line(exc):
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:400]
