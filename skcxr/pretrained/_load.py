"""Build fitted estimators from a shipped weight set, without unpickling anything."""

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from ..preprocessing import ImageLoader
from ._registry import get_weights


def read_weight_file(weights):
    """The verified tensors of a weight set (``torch.load(weights_only=True)``: no code runs)."""
    weights.verify()
    return torch.load(weights.path, map_location="cpu", weights_only=True)


def build_classifier(meta, network_state, **params):
    """A fitted :class:`~skcxr.CXRClassifier` from a card's ``network`` entry and its weights.

    ``params`` override the classifier's parameters (e.g. ``device``); the
    architecture, input shape, classes and normalisation are the card's.
    """
    from ..classifier import CXRClassifier

    network = meta["network"]
    architecture = dict(
        module=network["module"], normalization=network["normalization"],
        **{f"module__{key}": value for key, value in network.get("module_params", {}).items()})
    recipe = meta.get("recipe", {})
    classifier = CXRClassifier.from_preset(recipe.get("preset", "original"),
                                           **{**recipe.get("params", {}), **params, **architecture})
    classifier.classes_ = np.asarray(network["classes"])
    classifier.input_shape_ = tuple(network["input_shape"])
    weight = network.get("class_weight")
    classifier.class_weight_ = None if weight is None else np.asarray(weight, dtype=float)
    if network["normalization"] == "dataset":
        classifier.intensity_mean_ = float(network_state["input_head.mean"])
        classifier.intensity_std_ = float(network_state["input_head.std"])
    classifier.initialize()
    # Half precision on disk, single precision in use.
    classifier.module_.load_state_dict(
        {key: value.float() if value.is_floating_point() else value
         for key, value in network_state.items()})
    return classifier


def load_pretrained(name, *, device="auto", n_jobs=None):
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

    Returns
    -------
    screener : skcxr.Screener
        A fitted :class:`~skcxr.Screener`: ``predict_proba(paths)`` gives
        the probabilities in ``classes_`` order (NORMAL, PNEUMONIA),
        ``predict(paths)`` flags at the card's screening threshold,
        ``refusals(paths)`` says which films its input guard refuses and why,
        and ``card`` is the model card. Its estimator is
        ``Pipeline([("imageloader", ImageLoader(...)), ("cxrclassifier", CXRClassifier)])``
        with the loader set as the weights were trained.

    Examples
    --------
    >>> import skcxr
    >>> screener = skcxr.load_pretrained(skcxr.list_pretrained()[0])  # doctest: +SKIP
    >>> screener.predict_proba(["film.jpeg"])  # doctest: +SKIP
    array([[0.93, 0.07]])
    """
    from ..screener import Screener

    weights = get_weights(name)
    meta = dict(weights.meta)
    tensors = read_weight_file(weights)
    classifier = build_classifier(meta, tensors["network"], device=device)
    loader = ImageLoader(n_jobs=n_jobs, **{key: tuple(value) if isinstance(value, list) else value
                                           for key, value in meta["loader"].items()})
    guard = None
    if "guard" in tensors:
        from ..guard import InputGuard

        guard = InputGuard.from_state(
            {key: value.numpy() if isinstance(value, torch.Tensor) else value
             for key, value in tensors["guard"].items()}, classifier)
    point = meta["operating_point"]
    return Screener(Pipeline([("imageloader", loader), ("cxrclassifier", classifier)]),
                    threshold=point["threshold"], pos_label=point["pos_label"],
                    guard=guard, card=meta)


def pretrained_classifier(name, **params):
    """The array-level classifier of pretrained screener ``name`` (see ``CXRClassifier.from_pretrained``)."""
    weights = get_weights(name)
    return build_classifier(dict(weights.meta), read_weight_file(weights)["network"], **params)
