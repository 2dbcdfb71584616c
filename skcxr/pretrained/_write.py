"""Write a weight set and its card: what the training script of the shipped screeners calls."""

import hashlib
import json
from pathlib import Path

import numpy as np
import torch


def network_card(classifier):
    """The card's ``network`` entry: what rebuilding the fitted classifier needs."""
    module_params = {key[len("module__"):]: value for key, value in classifier.get_params().items()
                     if key.startswith("module__")}
    return dict(
        module=classifier.module if isinstance(classifier.module, str) else None,
        module_params=module_params,
        normalization=classifier.normalization,
        input_shape=[int(side) for side in classifier.input_shape_],
        classes=[c.item() if isinstance(c, np.generic) else c for c in classifier.classes_],
        class_weight=None if classifier.class_weight_ is None
        else [float(w) for w in classifier.class_weight_],
        dtype="float16",
    )


def write_weights(folder, name, classifier, card, *, guard_state=None):
    """Write ``<name>.pt`` (half-precision network, guard state) and ``<name>.json`` (the card).

    Parameters
    ----------
    folder : path-like
    name : str
    classifier : fitted CXRClassifier
        Its ``module_`` must be a network built by name (the card names it).
    card : dict
        Everything else on the card (recipe, training, operating point,
        metrics, intended use); ``name``, ``weights_file``, ``sha256`` and
        ``network`` are filled in here.
    guard_state : dict, default=None
        ``InputGuard.get_state()`` of the guard fitted with this classifier.

    Returns
    -------
    card : dict
        The card as written.
    """
    if not isinstance(classifier.module, str):
        raise ValueError("Only networks built by name can be shipped: the card must name them.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    network = {key: value.detach().cpu().half() if value.is_floating_point() else value.cpu()
               for key, value in classifier.module_.state_dict().items()}
    tensors = {"format": 1, "network": network}
    if guard_state is not None:
        tensors["guard"] = {key: torch.as_tensor(value) if isinstance(value, np.ndarray) else value
                            for key, value in guard_state.items()}
    weights_file = folder / f"{name}.pt"
    torch.save(tensors, weights_file)
    card = {**card, "name": name, "weights_file": weights_file.name,
            "sha256": hashlib.sha256(weights_file.read_bytes()).hexdigest(),
            "network": network_card(classifier)}
    (folder / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")
    return card
