"""Inference backends: the fitted network exported to ONNX, run by ONNX Runtime in fp32 or int8.

* :func:`export_onnx` writes ``module_`` as an ONNX graph (uint8 films in;
  logits and penultimate features out), verified against PyTorch before
  the file exists.
* :func:`quantize_int8` writes a static int8 (QDQ) version, calibrated on
  the network's training films.
* :class:`OnnxNetwork` runs either file with ONNX Runtime on this process's
  CPU share, its idle threads not spinning.
* :func:`verify_backend` checks a backend against the PyTorch network.

ONNX Runtime is optional: ``pip install 'skcxr[onnx]'``.

Ship the int8 file beside the weights, or build it on first use? Ship it.
Not because calibration needs training films: on the shipped ResNet-18, an
int8 graph calibrated on 64 or 512 random textures agrees with fp32 on the
513 validation films as well as one calibrated on training films (AUC
0.9973-0.9974 against 0.9973 in fp32, no flag changed at the screening
threshold, Spearman 0.9997-0.99994; ``benchmarks/build_int8.py --study``),
since the input head standardises every film before the first
convolution. Building on first use would take about 25 s on two cores and
is deterministic for given versions. It should still ship, because:

* the card's int8 numbers (its threshold, re-derived with its own scores on
  the validation patients; its test AUC; the films it flags differently
  from fp32) describe one file, pinned by its sha256 as the weights are;
  a file built on a user's machine comes from their torch exporter and
  onnxruntime quantiser, whose graphs and ranges change between releases;
* users can neither re-derive the threshold (they lack the validation
  films) nor check an int8 build on real films;
* it costs 11.3 MB beside 22 MB of half-precision weights.

The fp32 ONNX file (45 MB) need not ship: its export is exact (probabilities
within 1e-5 of PyTorch on the validation films), is verified on any films
before it is written, and flags every test film as PyTorch does.
"""

from .._lazy import attach

# Lazy: running a shipped ONNX file (OnnxNetwork) needs neither torch nor the exporter.
__getattr__, __dir__, __all__ = attach(__name__, attributes={
    "._export": ["export"],
    "._onnx_export": ["NetworkWithFeatures", "export_onnx"],
    "._quantize": ["quantize_int8"],
    "._session": ["OnnxNetwork", "cpu_share"],
    "._verify": ["BackendCheck", "BackendMismatchError", "verify_backend"],
})
