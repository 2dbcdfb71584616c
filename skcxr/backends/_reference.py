"""The PyTorch side of a backend check: the classifier, its outputs, and films to compare on.

An exported network is checked against the PyTorch one on reference
images. They must be images the network is meant for: on a flat frame,
per-image normalisation divides by a near-zero spread and magnifies
float rounding into a difference no film shows (0.0105 in logits for the
shipped ResNet-18 on a flat grey frame, 3e-5 on real films).
"""

import copy
from pathlib import Path

import numpy as np
import torch

# Six fixed Kermany test films (first, middle and last in sorted order of each
# class folder): the golden films of tests/golden/shipped_scores.json.
FILMS_PER_CLASS = 3
REFERENCE_TEXTURES = 8
SHIPPED_DIR = Path(__file__).resolve().parents[1] / "pretrained" / "weights"


def find_classifier(model):
    """(CXRClassifier, threshold, pos_label) inside a classifier, Pipeline or Screener."""
    from ..classifier import CXRClassifier

    threshold = pos_label = None
    if hasattr(model, "decision_threshold"):  # a Screener
        threshold = float(model.threshold)  # the PyTorch network's, whatever runs the screener
        pos_label = model.pos_label
        model = model.fitted_estimator
    if hasattr(model, "steps"):
        model = model.steps[-1][1]
    # A screener folder's skcxr.screener.SavedClassifier: the CXRClassifier it builds.
    model = getattr(model, "classifier_", model)
    if not isinstance(model, CXRClassifier):
        raise TypeError(
            f"export needs a fitted CXRClassifier (or a Pipeline or Screener ending in one); "
            f"got {type(model).__name__}."
        )
    return model, threshold, pos_label


def inference_copy(module):
    """A CPU copy of ``module_`` in evaluation mode, without the training-time augmentation."""
    network = copy.deepcopy(module).cpu().eval()
    network.input_head.augment = None
    return network


def torch_outputs(classifier, X, batch_size=64):
    """Logits and penultimate features of the PyTorch network, in float32 on the CPU."""
    network = inference_copy(classifier.module_)
    logits, features = [], []
    with torch.inference_mode():
        for start in range(0, len(X), batch_size):
            batch_logits, batch_features = network.forward_with_features(
                torch.as_tensor(X[start:start + batch_size]))
            logits.append(batch_logits.float().numpy())
            features.append(batch_features.float().numpy())
    return np.concatenate(logits), np.concatenate(features)


def check_reference(classifier, reference):
    """``reference`` as a uint8 film batch of the classifier's input shape."""
    reference = classifier._check_fitted_input(reference)
    if reference.dtype != np.uint8:
        raise ValueError(f"reference must be uint8 images, as the exported network takes; "
                         f"got {reference.dtype}.")
    return reference


def default_reference(model, classifier):
    """Films to verify an export on when the caller gives none.

    The shipped screener's golden test films when ``model`` is a shipped
    weight set and the Kermany set is in skcxr's data home
    (:func:`skcxr.datasets.get_skcxr_data_home`); random textures otherwise.

    Returns
    -------
    images : ndarray of shape (n, channels, height, width), uint8
    description : str
        What the images are, for the export's metadata.
    """
    from ..datasets import get_skcxr_data_home

    name = shipped_name(model, classifier)
    test_dir = get_skcxr_data_home() / "chest_xray" / "test"
    if name is not None and test_dir.is_dir():
        import json

        from ..preprocessing import ImageLoader

        loader = json.loads((SHIPPED_DIR / name / "card.json").read_text(encoding="utf-8"))[
            "loader"]
        films = golden_films(test_dir)
        images = ImageLoader(**{key: tuple(value) if isinstance(value, list) else value
                                for key, value in loader.items()}).fit_transform(
            [str(test_dir / film) for film in films])
        return images, f"the {len(films)} golden Kermany test films of {name!r}"
    return texture_images(classifier.input_shape_), f"{REFERENCE_TEXTURES} random textures"


def golden_films(test_dir, per_class=FILMS_PER_CLASS):
    """Fixed films of a Kermany test folder, by name: first, middle and last of each class.

    Parameters
    ----------
    test_dir : path-like
        ``chest_xray/test`` with a ``NORMAL`` and a ``PNEUMONIA`` folder.
    per_class : int, default=3

    Returns
    -------
    films : list of str
        ``"<CLASS>/<file name>"`` relative to ``test_dir``.
    """
    films = []
    for label in ("NORMAL", "PNEUMONIA"):
        names = sorted(p.name for p in (test_dir / label).iterdir() if not p.name.startswith("."))
        films += [f"{label}/{names[i]}" for i in (0, len(names) // 2, len(names) - 1)[:per_class]]
    return films


def shipped_name(model, classifier):
    """The shipped screener whose weights ``classifier`` carries, or None.

    A classifier matches when its network, rounded to half precision as the
    shipped weights are, equals the shipped tensors: a Screener's card alone
    does not prove that the weights were not refitted. The shipped folders
    are read where the package keeps them (``skcxr/pretrained/weights/``),
    without importing the registry (which depends on this package).
    """
    import hashlib
    import json

    state = classifier.module_.state_dict()
    for folder in sorted(SHIPPED_DIR.iterdir()) if SHIPPED_DIR.is_dir() else []:
        try:
            card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
            fitted = card["network"]["fitted"]
            weights = folder / card["weights"]["file"]
            if tuple(fitted["input_shape"]) != tuple(classifier.input_shape_) or (
                    hashlib.sha256(weights.read_bytes()).hexdigest() != card["weights"]["sha256"]):
                continue
            shipped = torch.load(weights, map_location="cpu", weights_only=True)["network"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a readable shipped screener: the registry names those
        if shipped.keys() == state.keys() and all(
                torch.equal(value.cpu().to(shipped[key].dtype), shipped[key])
                for key, value in state.items()):
            return card["name"]
    return None


def texture_images(shape, n=REFERENCE_TEXTURES, seed=0):
    """Random smooth textures with pixel noise over most of the grey range (never flat).

    Each image is a sum of random plane waves (from 0.5 to 8 cycles per
    side) with Gaussian pixel noise, stretched to a random window within
    [0, 255] at least 150 grey levels wide.

    Parameters
    ----------
    shape : tuple of int
        ``(channels, height, width)``.
    n : int, default=8
    seed : int, default=0

    Returns
    -------
    images : ndarray of shape (n, channels, height, width), uint8
    """
    channels, height, width = (int(side) for side in shape)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    yy, xx = yy / height, xx / width
    images = []
    for _ in range(n):
        field = rng.normal(0, 0.15, (height, width))
        for _ in range(6):
            cycles, angle, phase = rng.uniform(0.5, 8), rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
            field += rng.uniform(0.2, 1) * np.cos(
                2 * np.pi * cycles * (xx * np.cos(angle) + yy * np.sin(angle)) + phase)
        low = rng.uniform(0, 60)
        high = rng.uniform(low + 150, 255)
        field = (field - field.min()) / (field.max() - field.min())
        images.append(np.round(low + field * (high - low)))
    stack = np.stack(images).astype(np.uint8)[:, None]
    return np.repeat(stack, channels, axis=1)
