"""Static int8 quantisation of an exported network (QDQ), calibrated on training films.

Static quantisation fixes the range of every activation in advance, from
the activations the calibration films produce. Those films must be
TRAINING films of the network (never the films its threshold is chosen on,
never test films): the ranges are fitted to them as the weights were. The
functions here take arrays and cannot know where they came from; the
caller is responsible (``benchmarks/build_int8.py`` reads the network's own
training films by their patient split).

The choices were measured on the shipped ResNet-18 (128 px) with
``benchmarks/build_int8.py --study``: int8 graphs calibrated on random
subsets of its training films (never the validation patients), each
compared with the fp32 PyTorch network on the 513 validation films of the
285 held-out training patients (fp32 AUC 0.9973; flags at the card's
threshold 0.5909; 2-core AMD EPYC with AVX-512 VNNI, shared):

=================  =====  =====================  =======  ======  =====  ========  ============
calibrated on      films  options                val AUC  max dP  flags  Spearman  feature err.
                                                                  moved            mean / max
=================  =====  =====================  =======  ======  =====  ========  ============
training films     64     defaults               0.9973   0.021   0      0.99994   0.011 / 0.055
training films     256    defaults               0.9973   0.023   1      0.99992   0.013 / 0.048
training films     512    defaults               0.9973   0.027   0      0.99992   0.013 / 0.036
training films     1024   defaults               0.9972   0.032   1      0.99991   0.013 / 0.035
training films     512    per tensor             0.9971   0.044   0      0.99988   0.015 / 0.050
training films     512    input head int8 too    0.9973   0.035   0      0.99990   0.013 / 0.031
training films     512    reduce_range           0.9972   0.040   1      0.99986   0.016 / 0.075
training films     512    percentile 99.999      0.9973   0.019   0      0.99992   0.012 / 0.057
random textures    64     defaults               0.9973   0.024   0      0.99971   0.014 / 0.034
random textures    512    defaults               0.9974   0.040   0      0.99994   0.015 / 0.031
=================  =====  =====================  =======  ======  =====  ========  ============

Every variant is within noise of the others. The defaults: MinMax ranges
(no clipping to tune), per-channel weights (per tensor moved the
probabilities and features further), the input head in fp32 (cheap there,
and its standardised output is what every later range depends on), 512
films (the count changes nothing measurable from 64 on; MinMax over more
films covers more of the training distribution, so fewer activations are
clipped on an unusual film; 512 take 12 s to calibrate). Random textures
calibrate as well as films here, because the input head standardises
every film before the first convolution: see :mod:`skcxr.backends` on why
the int8 file still ships. "entropy" is not offered: through
``quantize_static``, onnxruntime 1.32 builds its histogram with as many
bins as it quantises to, leaves one candidate range, and writes a file
byte-identical to MinMax. Builds are deterministic (the same films and
versions give the same bytes). ``reduce_range`` (7-bit weights) is what
onnxruntime advises for x86 CPUs without VNNI; it is off because these
builds ran on a VNNI CPU, where it only costs precision (above).
"""

import os
from pathlib import Path

import numpy as np

from ._onnx_export import unverified_name
from ._session import INSTALL_HINT, OnnxNetwork, import_onnxruntime
from ._verify import verify_backend

METHODS = ("minmax", "percentile")
DEFAULT_METHOD = "minmax"
DEFAULT_CALIBRATION_FILMS = 512


def quantize_int8(fp32_onnx_path, calibration_images, out_path, *, classifier=None,
                  reference=None, method=DEFAULT_METHOD, per_channel=True, reduce_range=False,
                  batch_size=32, quantize_input_head=False):
    """Write a static int8 (QDQ) version of an exported fp32 network.

    Weights are quantised to int8 (per output channel by default),
    activations to uint8 with ranges fixed from ``calibration_images``.
    The file is written under a temporary name beside ``out_path`` and
    renamed only once it is checked: against ``classifier`` on
    ``reference`` (:func:`verify_backend`, int8 limits) when given, else
    only for finite logits on a calibration batch (then verify it before
    use). On any error or interruption no file is left.

    Parameters
    ----------
    fp32_onnx_path : str or path-like
        A graph written by :func:`export_onnx`.
    calibration_images : ndarray of shape (n, channels, height, width), uint8
        TRAINING films of the network, loaded as it was fitted: never
        films used to choose its threshold, never test films. Their
        activations fix the int8 ranges.
    out_path : str or path-like
        The int8 ``.onnx`` file to write.
    classifier : fitted CXRClassifier, default=None
        The PyTorch network the fp32 graph was exported from, to verify the
        int8 graph against before it is written.
    reference : ndarray of shape (n, channels, height, width), uint8, default=None
        Films to verify on (required with ``classifier``): a hundred or
        more films the calibration did not see, e.g. the validation films.
    method : {"minmax", "percentile"}, default="minmax"
        How activation ranges are taken from the calibration activations:
        their extremes, or their 0.001th to 99.999th percentiles.
    per_channel : bool, default=True
        One weight scale per output channel instead of per tensor.
    reduce_range : bool, default=False
        Quantise weights to 7 bits. onnxruntime advises it for x86 CPUs
        without VNNI instructions, whose int8 kernels can saturate
        intermediate sums with 8-bit weights.
    batch_size : int, default=32
        Calibration films per ONNX Runtime call.
    quantize_input_head : bool, default=False
        Also quantise the input head (intensity scaling and per-image
        normalisation before the first convolution). Off: it is cheap in
        fp32 and its outputs lose precision in uint8.

    Returns
    -------
    out_path : pathlib.Path
        The file written.
    """
    import_onnxruntime()
    from onnxruntime import quantization

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}.")
    if (classifier is None) != (reference is None):
        raise ValueError("Give classifier and reference together (the int8 graph is verified "
                         "against the classifier on the reference films), or neither.")
    fp32 = OnnxNetwork(fp32_onnx_path)
    calibration_images = fp32.check_input(calibration_images)
    out_path = Path(out_path)
    temporary = unverified_name(out_path)
    prepared = unverified_name(out_path, "prepared")
    try:
        # Shape inference and graph optimisation (BatchNorm folded into Conv)
        # first, as onnxruntime's quantisation guide asks.
        quantization.quant_pre_process(str(fp32.path), str(prepared), skip_symbolic_shape=True)
        exclude = [] if quantize_input_head else input_head_nodes(prepared)
        quantization.quantize_static(
            str(prepared), str(temporary),
            _reader(fp32.input_name, calibration_images, batch_size),
            quant_format=quantization.QuantFormat.QDQ, per_channel=per_channel,
            reduce_range=reduce_range,
            activation_type=quantization.QuantType.QUInt8, weight_type=quantization.QuantType.QInt8,
            calibrate_method=_calibration_method(quantization, method),
            # Not extra_options={"CalibMaxIntermediateOutputs": k}: in onnxruntime
            # 1.32 it drops every k batches' ranges instead of merging them.
            nodes_to_exclude=exclude,
        )
        _mark_int8(temporary)
        if classifier is not None:
            verify_backend(OnnxNetwork(temporary), reference, classifier)
        elif not np.isfinite(OnnxNetwork(temporary).run(calibration_images[:batch_size])[0]).all():
            raise RuntimeError(f"The int8 graph gives non-finite logits; {out_path} not written.")
        os.replace(temporary, out_path)
    finally:
        temporary.unlink(missing_ok=True)
        prepared.unlink(missing_ok=True)
    return out_path


def _calibration_method(quantization, method):
    return {"minmax": quantization.CalibrationMethod.MinMax,
            "percentile": quantization.CalibrationMethod.Percentile}[method]


def _reader(input_name, images, batch_size):
    """A ``CalibrationDataReader`` over uint8 batches of ``images``."""
    from onnxruntime.quantization import CalibrationDataReader

    class BatchReader(CalibrationDataReader):
        def __init__(self):
            self.start = 0

        def get_next(self):
            if self.start >= len(images):
                return None
            batch = images[self.start:self.start + batch_size]
            self.start += batch_size
            return {input_name: batch}

        def rewind(self):
            self.start = 0

    return BatchReader()


def input_head_nodes(path):
    """Names of the nodes between the graph's input and its first Conv: the input head."""
    onnx = _import_onnx()
    graph = onnx.load(str(path)).graph
    producers = {output: node for node in graph.node for output in node.output}
    first_conv = next((node for node in graph.node if node.op_type == "Conv"), None)
    if first_conv is None:
        return []
    head, pending = set(), [first_conv.input[0]]
    while pending:
        node = producers.get(pending.pop())
        if node is not None and node.name not in head:
            head.add(node.name)
            pending.extend(node.input)
    return sorted(head)


def _mark_int8(path):
    """Record ``skcxr.precision = int8`` in the file's metadata (read by OnnxNetwork)."""
    from .. import __version__

    onnx = _import_onnx()
    model = onnx.load(str(path))
    props = {prop.key: prop.value for prop in model.metadata_props}
    props.update({"skcxr.precision": "int8", "skcxr.version": __version__})
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(path))


def _import_onnx():
    try:
        import onnx
    except ImportError as exc:
        raise ImportError(f"int8 quantisation needs onnx: {INSTALL_HINT}.") from exc
    return onnx
