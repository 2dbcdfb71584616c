"""Write a fitted network as an ONNX graph, verified against PyTorch before the file exists.

The graph is exported with ``torch.onnx.export(..., dynamo=True)``, through
``torch.export`` (torch 2.14's default; its TorchScript-based exporter is
deprecated). It exports every registered architecture (the test network,
CXRNet, ResNet-18/34/50, DenseNet-121, EfficientNet-B0, MobileNet-V3) and
the normalisations computed inside the graph (per-image standardisation,
histogram equalisation, dataset statistics).
"""

import numbers
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._reference import check_reference, default_reference, find_classifier, inference_copy
from ._session import FEATURES, LOGITS, OnnxNetwork, import_onnxruntime
from ._verify import verify_backend

INPUT = "image"


class NetworkWithFeatures(nn.Module):
    """``module_`` returning ``(logits, penultimate features)`` without hooks, so that it exports.

    The network's last ``nn.Linear`` is taken out and applied here: the
    network then returns its features, and this module the logits computed
    from them. In every registered family the last Linear is the network's
    last operation; the export's verification against ``module_`` itself
    would catch one where it is not.

    Parameters
    ----------
    module : NetworkWithInputHead
        A fitted ``CXRClassifier.module_`` (copied, not changed).
    features : bool, default=True
        Return the features as a second output.
    """

    def __init__(self, module, features=True):
        super().__init__()
        body = inference_copy(module)
        self.head = body.final_linear()
        for name, child in body.network.named_modules():
            if child is self.head:
                parent, _, attribute = name.rpartition(".")
                setattr(body.network.get_submodule(parent) if parent else body.network,
                        attribute, nn.Identity())
        self.body = body
        self.features = features
        self.eval()

    def forward(self, image):
        """``(logits, features)`` of a uint8 image batch (``logits`` alone without features).

        Parameters
        ----------
        image : torch.Tensor of shape (n, channels, height, width), uint8
            Films as the classifier takes them.

        Returns
        -------
        outputs : torch.Tensor or tuple of torch.Tensor
            ``(logits, features)``, or the logits alone when built without features.
        """
        features = self.body(image)
        logits = self.head(features)
        return (logits, features) if self.features else logits


def opset_range():
    """``(lowest, highest)`` ONNX opset the installed exporter writes as asked.

    Below torchlib's own opset (18) the exporter converts the graph down and,
    where that fails, silently keeps 18; above the exporter's maximum it fails
    deep in its own code.
    """
    try:
        from torch.onnx._constants import ONNX_MAX_OPSET
        from torch.onnx._internal.exporter._constants import TORCHLIB_OPSET
    except ImportError:  # private names: a torch that moved them keeps today's range
        return 18, 23
    return TORCHLIB_OPSET, ONNX_MAX_OPSET


def check_opset(opset_version):
    """Raise ValueError, before any work, for an ``opset_version`` the exporter cannot honour."""
    if opset_version is None:
        return
    low, high = opset_range()
    if (isinstance(opset_version, bool) or not isinstance(opset_version, numbers.Integral)
            or not low <= opset_version <= high):
        raise ValueError(f"opset_version must be None (the exporter's default) or an integer "
                         f"from {low} to {high}; got {opset_version!r}.")


def written_opset(path):
    """The default-domain opset recorded in the ONNX file at ``path``."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next(int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx"))


def export_onnx(classifier, path, *, features=True, reference=None, opset_version=None):
    """Write a fitted network as an ONNX file, verified against PyTorch.

    The graph takes a uint8 film batch ``image`` of shape
    ``(batch, channels, height, width)`` (any batch size) and returns
    ``logits`` and, with ``features=True``, ``features`` (the penultimate
    features the input guard measures). Intensity scaling and normalisation
    are inside it. The file is written under a temporary name in the same
    folder and renamed to ``path`` only once ONNX Runtime has scored the
    reference films as PyTorch does (fp32 limits of
    :func:`verify_backend`); on any error or interruption no file is left.

    Parameters
    ----------
    classifier : fitted CXRClassifier, or a Pipeline or Screener ending in one
        The network to export (``module_`` of the classifier).
    path : str or path-like
        The ``.onnx`` file to write (replaced if it exists).
    features : bool, default=True
        Add the ``features`` output.
    reference : ndarray of shape (n, channels, height, width), uint8, default=None
        Films to verify on. By default the shipped screener's golden test
        films when ``classifier`` carries shipped weights and the Kermany
        set is in skcxr's data home, else random textures (never a flat
        frame: see :mod:`skcxr.backends._reference`).
    opset_version : int, default=None
        ONNX opset, from 18 to the exporter's maximum (:func:`opset_range`);
        None takes the exporter's default.

    Returns
    -------
    check : BackendCheck
        The verification that passed.
    """
    check_opset(opset_version)
    import_onnxruntime()  # fail before the export when the verification cannot run
    model = classifier
    classifier, _, _ = find_classifier(model)
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(classifier)
    reference = (default_reference(model, classifier)[0] if reference is None
                 else check_reference(classifier, reference))
    path = Path(path)
    with written_only_if_verified(path) as temporary:
        _write_graph(NetworkWithFeatures(classifier.module_, features), reference, temporary,
                     opset_version, precision="fp32")
        check = verify_backend(OnnxNetwork(temporary), reference, classifier)
    return check


def _write_graph(wrapper, reference, path, opset_version, precision):
    # Two films: torch.export specialises a dimension traced at size 1.
    example = torch.as_tensor(np.resize(reference, (2, *reference.shape[1:])))
    outputs = [LOGITS, FEATURES] if wrapper.features else [LOGITS]
    program = torch.onnx.export(
        wrapper, (example,), dynamo=True, input_names=[INPUT], output_names=outputs,
        dynamic_shapes={"image": {0: torch.export.Dim("batch")}}, opset_version=opset_version,
        verbose=False)
    _strip_trace_metadata(program.model)
    set_metadata(program.model.metadata_props, precision=precision)
    program.save(str(path), external_data=False)


def _strip_trace_metadata(model):
    """Drop what the exporter records of the Python source on each node and value.

    It stores stack traces with this machine's file paths and line numbers:
    they would leak local paths into a file meant for others, and make the
    bytes of an export depend on where skcxr is installed.
    """
    for node in model.graph.all_nodes():
        node.metadata_props.clear()
        for value in node.outputs:
            value.metadata_props.clear()
    for value in model.graph.inputs:
        value.metadata_props.clear()


def set_metadata(props, *, precision):
    """Record in an ONNX model's metadata what skcxr needs to know of it."""
    from .. import __version__

    props["skcxr.precision"] = precision
    props["skcxr.version"] = __version__


def unverified_name(path, state="unverified", suffix=None):
    """A hidden name beside ``path`` for a file not yet verified, ending in ``suffix``
    (by default ``path``'s own: the tools that read it go by the suffix)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.{state}{suffix or path.suffix}")


@contextmanager
def written_only_if_verified(path, suffix=None):
    """A temporary path beside ``path``, renamed to it only if the block completes.

    The temporary file is in the same folder (a rename, not a copy, so a
    reader never sees a half-written file) and is removed on any error,
    ``KeyboardInterrupt`` included.
    """
    temporary = unverified_name(path, suffix=suffix)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
