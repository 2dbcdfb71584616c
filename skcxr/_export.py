"""Export a fitted network to TorchScript or ONNX, verified against PyTorch, with its metadata beside it."""

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

FORMATS = ("torchscript", "onnx")
TOLERANCE = 1e-4


def export(model, path, *, format="torchscript", reference=None, opset_version=18):
    """Write a fitted screening network as one self-contained file.

    The file maps a uint8 image batch ``(n, channels, height, width)`` at
    the fitted size to logits (softmax gives the probabilities in
    ``classes`` order): intensity scaling and normalisation are inside it,
    augmentation is not. A JSON file beside it (``<path>.json``) records the
    input shape, classes, the screening threshold when ``model`` carries
    one, and the verification.

    The export is checked before this returns: the exported network and the
    PyTorch one score the same reference images, and a difference in logits
    above 1e-4 is an error.

    Parameters
    ----------
    model : fitted CXRClassifier, or a Pipeline or Screener ending in one
    path : str or path-like
        Output file (``.pt`` for TorchScript, ``.onnx`` for ONNX, by convention).
    format : {"torchscript", "onnx"}, default="torchscript"
        ONNX needs ``pip install 'skcxr[onnx]'`` (onnx, onnxruntime).
    reference : ndarray of shape (n, channels, height, width), default=None
        Images to verify on; by default four synthetic ones (noise and
        gradients) at the fitted size.
    opset_version : int, default=18
        ONNX opset.

    Returns
    -------
    metadata : dict
        What was written to ``<path>.json``, including ``max_abs_difference``.

    Examples
    --------
    >>> import skcxr
    >>> skcxr.export(classifier, "screener.onnx", format="onnx")  # doctest: +SKIP
    {'format': 'onnx', 'input_shape': [1, 224, 224], ..., 'max_abs_difference': 3.8e-06}
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}; got {format!r}.")
    classifier, threshold, pos_label = _find_classifier(model)
    check_is_fitted(classifier)
    channels, height, width = (int(side) for side in classifier.input_shape_)
    reference = _reference_images((channels, height, width)) if reference is None else \
        classifier._check_fitted_input(reference)
    if reference.dtype != np.uint8:
        raise ValueError(f"reference must be uint8 images, as the exported network takes; "
                         f"got {reference.dtype}.")
    path = Path(path)
    network = _inference_copy(classifier.module_)
    example = torch.as_tensor(reference[:2])
    with torch.no_grad():
        expected = network(torch.as_tensor(reference)).numpy()
    if format == "torchscript":
        with torch.no_grad():
            traced = torch.jit.trace(network, example)
        traced.save(str(path))
        with torch.no_grad():
            got = torch.jit.load(str(path))(torch.as_tensor(reference)).numpy()
    else:
        got = _export_onnx(network, example, path, reference, opset_version)
    difference = float(np.abs(got - expected).max())
    if not difference <= TOLERANCE:
        raise RuntimeError(
            f"The {format} export of {str(path)!r} differs from the PyTorch network by "
            f"{difference:.3g} in logits (allowed: {TOLERANCE}); it was not verified."
        )
    from . import __version__

    metadata = dict(
        format=format, file=path.name, input_dtype="uint8", input_shape=[channels, height, width],
        input_layout="(batch, channels, height, width), stretched to this size as skcxr's "
                     "ImageLoader(resize_mode='stretch') does",
        output="logits; softmax over axis 1 gives the probabilities in classes order",
        classes=[c.item() if isinstance(c, np.generic) else c for c in classifier.classes_],
        normalization=classifier.normalization, threshold=threshold, pos_label=pos_label,
        skcxr_version=__version__, reference_images=len(reference),
        max_abs_difference=difference,
    )
    Path(f"{path}.json").write_text(json.dumps(metadata, indent=1) + "\n")
    return metadata


def _find_classifier(model):
    """(CXRClassifier, threshold, pos_label) inside a classifier, Pipeline or Screener."""
    from .classifier import CXRClassifier

    threshold = pos_label = None
    if hasattr(model, "decision_threshold"):  # a Screener
        threshold = model.decision_threshold
        pos_label = model.pos_label
        model = model.fitted_estimator
    if hasattr(model, "steps"):
        model = model.steps[-1][1]
    if not isinstance(model, CXRClassifier):
        raise TypeError(
            f"export needs a fitted CXRClassifier (or a Pipeline or Screener ending in one); "
            f"got {type(model).__name__}."
        )
    return model, threshold, pos_label


def _inference_copy(module):
    """A CPU copy in evaluation mode, without the training-time augmentation."""
    import copy

    network = copy.deepcopy(module).cpu().eval()
    network.input_head.augment = None
    return network


def _reference_images(shape, n=4):
    """Noise, gradients and a flat frame: inputs that exercise the whole grey range."""
    channels, height, width = shape
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, width)[None, :].repeat(height, 0)
    images = [rng.integers(0, 256, (height, width)), ramp, ramp.T if height == width else ramp[::-1],
              np.full((height, width), 128)]
    stack = np.stack(images[:n]).astype(np.uint8)[:, None]
    return np.repeat(stack, channels, axis=1)


def _export_onnx(network, example, path, reference, opset_version):
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError("ONNX export needs onnx and onnxruntime: pip install 'skcxr[onnx]'.") from exc
    torch.onnx.export(
        network, (example,), str(path), input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=opset_version, dynamo=False,
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"image": reference})[0]
