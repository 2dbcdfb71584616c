"""A fitted CXRClassifier as plain values and tensors: what is saved instead of a pickle.

The state has two parts. ``config`` is JSON: the parameters that rebuild the
estimator (network by name, its arguments, optimiser and loss by their
``torch`` names, augmentation) and what ``fit`` learnt from the data
(classes, input shape, class weights, intensity statistics). ``network`` is
the network's ``state_dict``: tensors, which ``torch.save`` writes and
``torch.load(weights_only=True)`` reads without running any code.

Only values that can be written this way are kept. A parameter that cannot
(a user's own callable, callbacks, a ``train_split`` object) is named in
``config["not_saved"]`` and takes its default when the state is restored,
unless it is passed again.
"""

import numbers

import numpy as np
import torch

STATE_FORMAT = "skcxr.CXRClassifier/1"
# Parameters that do not describe the model (where it runs, what it prints).
_RUNTIME_PARAMS = frozenset({"device", "verbose"})


def encode_params(params):
    """``(JSON-ready params, names of those that cannot be saved)``."""
    from ._augment import RandomAugment

    encoded, not_saved = {}, []
    for name, value in sorted(params.items()):
        if name in _RUNTIME_PARAMS:
            continue
        if isinstance(value, RandomAugment):
            encoded[name] = {"RandomAugment": _plain(value.get_params())}
        elif isinstance(value, type) and _torch_name(value) is not None:
            encoded[name] = {"torch": _torch_name(value)}
        else:
            try:
                encoded[name] = _plain(value)
            except TypeError:
                not_saved.append(name)
    return encoded, not_saved


def decode_params(encoded):
    """The estimator parameters written by :func:`encode_params`."""
    from ._augment import RandomAugment

    params = {}
    for name, value in encoded.items():
        if isinstance(value, dict) and set(value) == {"RandomAugment"}:
            params[name] = RandomAugment(**value["RandomAugment"])
        elif isinstance(value, dict) and set(value) == {"torch"}:
            params[name] = _torch_object(value["torch"], name)
        elif isinstance(value, dict) and set(value) == {"tuple"}:
            params[name] = tuple(value["tuple"])
        else:
            params[name] = value
    return params


def _torch_name(cls):
    """``"torch.optim.AdamW"`` for a class of ``torch.optim`` or ``torch.nn``, else None."""
    for prefix, namespace in (("torch.optim", torch.optim), ("torch.nn", torch.nn)):
        if getattr(namespace, cls.__name__, None) is cls:
            return f"{prefix}.{cls.__name__}"
    return None


def _torch_object(name, param):
    """The ``torch.optim``/``torch.nn`` class a saved name refers to; nothing else is looked up."""
    prefix, _, attr = name.rpartition(".")
    namespace = {"torch.optim": torch.optim, "torch.nn": torch.nn}.get(prefix)
    value = getattr(namespace, attr, None) if namespace is not None else None
    if not isinstance(value, type):
        raise ValueError(f"Saved state: {param}={name!r} names no class of torch.optim or torch.nn.")
    return value


def _plain(value):
    """A JSON value for ``value``; tuples are tagged so they come back as tuples."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, tuple):
        return {"tuple": [_plain(v) for v in value]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    raise TypeError(f"{value!r} cannot be written as JSON")


def fitted_config(classifier):
    """What ``fit`` learnt from the data, as JSON values."""
    weight = classifier.class_weight_
    mean = getattr(classifier, "intensity_mean_", None)
    std = getattr(classifier, "intensity_std_", None)
    return {
        "classes": [c.item() if isinstance(c, np.generic) else c for c in classifier.classes_],
        "input_shape": [int(side) for side in classifier.input_shape_],
        "class_weight": None if weight is None else [float(w) for w in weight],
        "intensity_mean": None if mean is None else float(mean),
        "intensity_std": None if std is None else float(std),
    }


def restore_fitted(classifier, fitted):
    """Set the attributes ``fit`` learns from the data, from :func:`fitted_config`'s dict."""
    classes = np.asarray(fitted["classes"])
    if classes.shape != (2,):
        raise ValueError(f"Saved state: classes must name two labels; got {fitted['classes']!r}.")
    classifier.classes_ = classes
    classifier.input_shape_ = tuple(int(side) for side in fitted["input_shape"])
    weight = fitted.get("class_weight")
    classifier.class_weight_ = None if weight is None else np.asarray(weight, dtype=float)
    if fitted.get("intensity_mean") is not None:
        classifier.intensity_mean_ = float(fitted["intensity_mean"])
        classifier.intensity_std_ = float(fitted["intensity_std"])
