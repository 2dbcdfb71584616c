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
"""

from ._onnx_export import NetworkWithFeatures, export_onnx
from ._quantize import quantize_int8
from ._session import OnnxNetwork, cpu_share
from ._verify import TOLERANCES, BackendCheck, BackendMismatchError, verify_backend

__all__ = [
    "BackendCheck",
    "BackendMismatchError",
    "NetworkWithFeatures",
    "OnnxNetwork",
    "TOLERANCES",
    "cpu_share",
    "export_onnx",
    "quantize_int8",
    "verify_backend",
]
