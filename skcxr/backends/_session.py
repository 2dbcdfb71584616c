"""An exported network run by ONNX Runtime: uint8 films in, logits and features out."""

import os
from pathlib import Path

import numpy as np

INSTALL_HINT = "pip install 'skcxr[onnx]'"
LOGITS, FEATURES = "logits", "features"


def import_onnxruntime():
    """``onnxruntime``, imported on first use (an optional dependency)."""
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError(f"ONNX Runtime backends need onnxruntime: {INSTALL_HINT}.") from exc
    return onnxruntime


def cpu_share():
    """The threads this process may use: its CPU affinity, within the limits set on it.

    The affinity mask (``taskset``, container CPU sets) bounds it, and so do
    ``OMP_NUM_THREADS`` (joblib's workers set it to avoid oversubscription)
    and the OpenMP limit of this process (``torch.set_num_threads`` and
    ``threadpoolctl.threadpool_limits`` set it). ONNX Runtime has its own
    thread pool that none of these reach, so it is sized from them here.

    Returns
    -------
    n_threads : int
        At least 1.
    """
    try:
        share = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on macOS and Windows
        share = os.cpu_count() or 1
    limits = [share]
    if os.environ.get("OMP_NUM_THREADS", "").strip().isdigit():
        limits.append(int(os.environ["OMP_NUM_THREADS"]))
    try:
        from threadpoolctl import threadpool_info

        limits += [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"]
    except Exception:  # threadpoolctl inspects loaded libraries; never fail inference on it
        pass
    return max(1, min(limit for limit in limits if limit > 0))


def session_options(n_threads):
    """Options for a CPU session with ``n_threads`` threads that do not spin while idle.

    Idle ONNX Runtime threads busy-wait for the next operator by default; on a
    shared or small machine the spinning takes the cores the other threads
    (image decoding, the other sessions) need.
    """
    onnxruntime = import_onnxruntime()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = int(n_threads)
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


class OnnxNetwork:
    """A network exported by :func:`skcxr.backends.export_onnx`, run by ONNX Runtime on the CPU.

    It maps a uint8 film batch ``(n, channels, height, width)`` at the size
    the network was fitted on to its logits and, when the file has them, its
    penultimate features (what the input guard measures). The file is read
    as an ONNX graph: nothing is unpickled.

    Parameters
    ----------
    path : str or path-like
        An ``.onnx`` file with an input ``image`` and outputs ``logits`` and
        (optionally) ``features``.
    n_threads : int, default=None
        Threads of ONNX Runtime's intra-operator pool. By default, this
        process's CPU share (see :func:`cpu_share`).
    batch_size : int, default=64
        Films per call into ONNX Runtime; larger inputs are scored in
        batches of this size (memory stays bounded).

    Attributes
    ----------
    input_shape : tuple of int
        ``(channels, height, width)`` the network takes.
    outputs : tuple of str
        The graph's outputs, ``("logits", "features")`` or ``("logits",)``.
    precision : str
        ``"fp32"`` or ``"int8"``, as recorded in the file (``"unknown"`` for
        files skcxr did not write).
    n_threads : int
        The intra-operator threads the session uses.
    """

    def __init__(self, path, *, n_threads=None, batch_size=64):
        onnxruntime = import_onnxruntime()
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"No ONNX file at {str(self.path)!r}.")
        if n_threads is not None and (not isinstance(n_threads, int) or n_threads < 1):
            raise ValueError(f"n_threads must be a positive int or None; got {n_threads!r}.")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
        self.n_threads = cpu_share() if n_threads is None else n_threads
        self.batch_size = batch_size
        self.session = onnxruntime.InferenceSession(
            str(self.path), sess_options=session_options(self.n_threads),
            providers=["CPUExecutionProvider"])
        self._check_graph()

    def _check_graph(self):
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].type != "tensor(uint8)" or len(inputs[0].shape) != 4:
            given = [(i.name, i.type, i.shape) for i in inputs]
            raise ValueError(f"{str(self.path)!r} is not a skcxr network: it should take one uint8 "
                             f"batch (n, channels, height, width); its inputs are {given}.")
        channels, height, width = inputs[0].shape[1:]
        if not all(isinstance(side, int) for side in (channels, height, width)):
            raise ValueError(f"{str(self.path)!r} takes images of no fixed size "
                             f"({inputs[0].shape}); skcxr networks have one.")
        self.input_name = inputs[0].name
        self.input_shape = (channels, height, width)
        self.outputs = tuple(output.name for output in self.session.get_outputs())
        if LOGITS not in self.outputs:
            raise ValueError(f"{str(self.path)!r} has no 'logits' output; its outputs are "
                             f"{list(self.outputs)}.")
        meta = self.session.get_modelmeta().custom_metadata_map
        self.precision = meta.get("skcxr.precision", "unknown")

    def check_input(self, X):
        """Raise a clear error unless ``X`` is a uint8 batch of the network's input shape.

        Parameters
        ----------
        X : ndarray
            The films to check.

        Returns
        -------
        X : ndarray of shape (n_samples, channels, height, width), uint8
            ``X``, C-contiguous.
        """
        expected = (self.input_shape[0], *self.input_shape[1:])
        if not isinstance(X, np.ndarray):
            raise TypeError(f"X must be a numpy array of uint8 films; got {type(X).__name__}.")
        if X.dtype != np.uint8:
            raise ValueError(
                f"X has dtype {X.dtype}; this network takes uint8 films (as ImageLoader gives "
                f"by default), shape (n, {', '.join(map(str, expected))}).")
        if X.ndim != 4 or X.shape[1:] != expected or len(X) == 0:
            raise ValueError(
                f"X has shape {X.shape}; this network takes (n, {', '.join(map(str, expected))}) "
                f"with n >= 1: films of {expected[1]}x{expected[2]} pixels, {expected[0]} "
                "channel(s), loaded as the network was fitted.")
        return np.ascontiguousarray(X)

    def run(self, X):
        """Score a film batch: its logits and penultimate features.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width), uint8
            Films loaded as the network was fitted (``ImageLoader`` at its
            input size).

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes), float32
            Softmax over axis 1 gives the probabilities in the classes'
            order.
        features : ndarray of shape (n_samples, n_features), float32, or None
            None when the file has no ``features`` output.
        """
        X = self.check_input(X)
        names = [LOGITS] + ([FEATURES] if FEATURES in self.outputs else [])
        parts = [self.session.run(names, {self.input_name: X[start:start + self.batch_size]})
                 for start in range(0, len(X), self.batch_size)]
        logits = np.concatenate([part[0] for part in parts]).astype(np.float32, copy=False)
        if len(names) == 1:
            return logits, None
        return logits, np.concatenate([part[1] for part in parts]).astype(np.float32, copy=False)

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits), columns in the classes' order.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width), uint8
            Films loaded as the network was fitted.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float32
            Each row sums to 1.
        """
        return softmax(self.run(X)[0])

    def __repr__(self):
        return (f"{type(self).__name__}({str(self.path)!r}, precision={self.precision!r}, "
                f"input_shape={self.input_shape}, n_threads={self.n_threads})")


def softmax(logits):
    """Row-wise softmax, computed stably in float64 and returned as float32."""
    shifted = np.asarray(logits, dtype=np.float64)
    shifted = shifted - shifted.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
