"""Export a fitted network to ONNX, a torch.export program or TorchScript, verified, with its metadata."""

import json
import os
from pathlib import Path

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._onnx_export import (
    NetworkWithFeatures,
    check_opset,
    export_onnx,
    written_only_if_verified,
    written_opset,
)
from ._reference import check_reference, default_reference, find_classifier
from ._verify import verify_backend

FORMATS = ("torchscript", "exported_program", "onnx")
OUTPUTS = {
    "onnx": "logits and features (the penultimate features the input guard measures); softmax "
            "of logits over axis 1 gives the probabilities in classes order",
    "exported_program": "(logits, features) as for onnx",
    "torchscript": "logits; softmax over axis 1 gives the probabilities in classes order",
}


def export(model, path, *, format="torchscript", reference=None, opset_version=None,
           overwrite=False):
    """Write a fitted screening network as one self-contained file, verified against PyTorch.

    The file maps a uint8 image batch ``(n, channels, height, width)`` at
    the fitted size to logits (softmax gives the probabilities in
    ``classes`` order): intensity scaling and normalisation are inside it,
    augmentation is not. A JSON file beside it (``<path>.json``) records the
    input shape, classes, the screening threshold when ``model`` carries
    one, and the verification.

    The export is checked before the file appears under ``path``: the
    exported network and the PyTorch one score the same reference films,
    and probabilities further apart than 1e-4 are an error
    (:class:`skcxr.backends.BackendMismatchError`) that leaves no file.

    Parameters
    ----------
    model : fitted CXRClassifier, or a Pipeline or Screener ending in one
        The network to export, with the threshold of a Screener.
    path : str or path-like
        Output file (``.onnx``, ``.pt2`` for an exported program, ``.pt``
        for TorchScript, by convention).
    format : {"torchscript", "exported_program", "onnx"}, default="torchscript"
        ``"onnx"`` (``pip install 'skcxr[onnx]'``) runs anywhere ONNX
        Runtime does, and :class:`skcxr.backends.OnnxNetwork` runs it with
        the logits and the features. ``"exported_program"`` is
        ``torch.export``'s format (``torch.export.load(path).module()``),
        PyTorch's supported successor of TorchScript. ``"torchscript"``
        (``torch.jit.load``) is kept for LibTorch (C++) users; torch 2.14
        deprecates ``torch.jit`` and warns when it is used.
    reference : ndarray of shape (n, channels, height, width), uint8, default=None
        Films to verify on. By default the shipped screener's golden test
        films when ``model`` carries shipped weights and the Kermany set is
        in skcxr's data home, else eight random textures (never a flat
        frame: per-image normalisation magnifies rounding on one).
    opset_version : int, default=None
        ONNX opset (``format="onnx"`` only), from 18 to the installed
        exporter's maximum; None takes the exporter's default. The opset
        written is recorded in ``<path>.json``.
    overwrite : bool, default=False
        Replace an existing file at ``path`` or ``<path>.json``. Without it
        an existing file is an error (before any work), so that an export
        never replaces a film, a model's weights or its card by a slip of
        the path. Only regular files are ever replaced.

    Returns
    -------
    metadata : dict
        What was written to ``<path>.json``; ``verification`` holds the
        check (largest probability and logit differences, on which films).

    Examples
    --------
    >>> import skcxr
    >>> skcxr.export(classifier, "screener.onnx", format="onnx")  # doctest: +SKIP
    {'format': 'onnx', 'input_shape': [1, 224, 224], ..., 'verification': {...}}
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}; got {format!r}.")
    if opset_version is not None and format != "onnx":
        raise ValueError(f"opset_version applies to format='onnx' only; got "
                         f"opset_version={opset_version!r} with format={format!r}.")
    check_opset(opset_version)
    if not str(path).strip():  # Path("") is ".": the message would name the current folder
        raise ValueError(f"path is empty ({path!r}): give the file to write, e.g. 'net.onnx'.")
    if str(path).endswith(("/", os.sep)):  # Path("outdir/") drops the slash: a file "outdir"
        raise ValueError(f"path {str(path)!r} names a folder; give the file to write in it, "
                         f"e.g. {str(Path(path) / 'net.onnx')!r}.")
    _check_targets(Path(path), overwrite)
    classifier, threshold, pos_label = find_classifier(model)
    check_is_fitted(classifier)
    if reference is None:
        reference, description = default_reference(model, classifier)
    else:
        reference = check_reference(classifier, reference)
        description = f"{len(reference)} reference film{'s' * (len(reference) != 1)} given to export"
    path = Path(path)
    opset = None
    if format == "onnx":
        check = export_onnx(model, path, reference=reference, opset_version=opset_version)
        opset = written_opset(path)  # what the file holds, the exporter's default included
    else:
        check = _export_torch(classifier, path, reference, format)
    from .. import __version__

    channels, height, width = (int(side) for side in classifier.input_shape_)
    metadata = dict(
        format=format, file=path.name, input_dtype="uint8", input_shape=[channels, height, width],
        input_layout="(batch, channels, height, width), stretched to this size as skcxr's "
                     "ImageLoader(resize_mode='stretch') does",
        output=OUTPUTS[format],
        classes=[c.item() if isinstance(c, np.generic) else c for c in classifier.classes_],
        normalization=classifier.normalization, threshold=threshold, pos_label=pos_label,
        skcxr_version=__version__, torch_version=torch.__version__,
        **({"opset_version": opset} if opset is not None else {}),
        verification=dict(reference=description, n_images=check.n_images,
                          max_abs_proba_difference=check.max_abs_proba_difference,
                          max_abs_logit_difference=check.max_abs_logit_difference,
                          tolerance=check.limits["atol"]),
    )
    Path(f"{path}.json").write_text(json.dumps(metadata, indent=1) + "\n")
    return metadata


def _check_targets(path, overwrite):
    """Refuse, before any work, an export that would replace what it should not."""
    if not path.parent.is_dir():
        what = ("is a file, not a folder" if path.parent.exists() else "does not exist")
        raise FileNotFoundError(f"Cannot export to {str(path)!r}: {str(path.parent)!r} {what}.")
    for target in (path, Path(f"{path}.json")):
        if not os.path.lexists(target):
            continue
        if target.is_symlink() or not target.is_file():
            raise ValueError(f"Cannot export to {str(target)!r}: it exists and is not a regular "
                             "file (a folder, a link, a device or a pipe). Choose another path.")
        if not overwrite:
            raise FileExistsError(f"{str(target)!r} exists; export never replaces a file unless "
                                  "asked: pass overwrite=True, or choose another path.")


class _TorchFile:
    """A saved PyTorch program with the ``run``/``precision`` interface verify_backend uses."""

    precision = "fp32"

    def __init__(self, program, features):
        self.program = program
        self.features = features

    def run(self, X):
        with torch.inference_mode():
            outputs = self.program(torch.as_tensor(X))
        if self.features:
            return outputs[0].numpy(), outputs[1].numpy()
        return outputs.numpy(), None


def _export_torch(classifier, path, reference, format):
    # Two films: torch.export specialises a dimension traced at size 1.
    example = torch.as_tensor(np.resize(reference, (2, *reference.shape[1:])))
    # torch.export.load reads only files named .pt2, whatever the final name.
    suffix = ".pt2" if format == "exported_program" else None
    with written_only_if_verified(path, suffix=suffix) as temporary:
        if format == "exported_program":
            wrapper = NetworkWithFeatures(classifier.module_, features=True)
            program = torch.export.export(
                wrapper, (example,), dynamic_shapes={"image": {0: torch.export.Dim("batch")}})
            torch.export.save(program, str(temporary))
            loaded = _TorchFile(torch.export.load(str(temporary)).module(), features=True)
        else:
            wrapper = NetworkWithFeatures(classifier.module_, features=False)
            with torch.no_grad():
                torch.jit.trace(wrapper, example).save(str(temporary))
            loaded = _TorchFile(torch.jit.load(str(temporary)), features=False)
        return verify_backend(loaded, reference, classifier)
