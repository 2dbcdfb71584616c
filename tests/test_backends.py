"""ONNX Runtime backends: export with features, int8 quantisation, the session and its checks."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_blob_images

from skcxr import CXRClassifier
from skcxr.backends import (
    BackendMismatchError,
    OnnxNetwork,
    _onnx_export,
    _session,
    cpu_share,
    export_onnx,
    quantize_int8,
    verify_backend,
)
from skcxr.backends._reference import texture_images

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def fit_tiny(seed, normalization="per_image"):
    X, y, _ = make_blob_images(n=48, size=64, seed=seed)
    clf = CXRClassifier("tiny", lr=0.05, max_epochs=4, batch_size=8, validation_fraction=None,
                        normalization=normalization, random_state=seed).fit(X, y)
    return X, y, clf


@pytest.fixture(scope="module")
def tiny():
    return fit_tiny(3)


@pytest.fixture(scope="module")
def exported(tiny, tmp_path_factory):
    X, _, clf = tiny
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    check = export_onnx(clf, path, reference=X[:8])
    return path, check


def torch_logits_and_features(clf, X):
    module = clf.module_.eval()
    with torch.no_grad():
        logits, features = module.forward_with_features(torch.as_tensor(X))
    return logits.numpy(), features.numpy()


@pytest.mark.parametrize("normalization", ["per_image", "equalize"])
def test_export_round_trip_with_features(normalization, tmp_path):
    X, _, clf = fit_tiny(3, normalization)
    path = tmp_path / "tiny.onnx"
    check = export_onnx(clf, path, reference=X[:8])
    assert check.precision == "fp32" and check.max_abs_proba_difference <= 1e-4
    network = OnnxNetwork(path, batch_size=5)  # 13 films: batches of 5, 5 and 3
    assert network.outputs == ("logits", "features")
    assert network.input_shape == (1, 64, 64) and network.precision == "fp32"
    logits, features = network.run(X[20:33])
    expected_logits, expected_features = torch_logits_and_features(clf, X[20:33])
    assert logits.dtype == features.dtype == np.float32
    assert features.shape == (13, 16)  # the tiny network's hidden layer
    np.testing.assert_allclose(logits, expected_logits, atol=1e-4)
    np.testing.assert_allclose(features, expected_features, atol=1e-4)
    np.testing.assert_allclose(network.predict_proba(X[20:33]), clf.predict_proba(X[20:33]),
                               atol=1e-5)
    # The batch axis is dynamic: one film scores as it does among others.
    np.testing.assert_allclose(network.run(X[20:21])[0], logits[:1], atol=1e-5)
    # No stack traces with this machine's paths: the bytes do not depend on where skcxr lives.
    data = path.read_bytes()
    assert b"stack_trace" not in data and str(Path(__file__).parent.parent).encode() not in data


def test_export_without_features(tiny, tmp_path):
    X, _, clf = tiny
    export_onnx(clf, tmp_path / "logits.onnx", features=False, reference=X[:4])
    network = OnnxNetwork(tmp_path / "logits.onnx")
    assert network.outputs == ("logits",)
    logits, features = network.run(X[:3])
    assert logits.shape == (3, 2) and features is None


def test_int8_quantisation_ranks_like_torch(tiny, exported, tmp_path):
    X, y, clf = tiny
    fp32_path, _ = exported
    out = quantize_int8(fp32_path, X[:32], tmp_path / "tiny-int8.onnx")
    network = OnnxNetwork(out)
    assert network.precision == "int8"
    import onnx

    ops = {node.op_type for node in onnx.load(str(out)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    # 16 films of a tiny network whose scores cluster by class: one swapped
    # near-tie costs a few hundredths of rank correlation, so a looser limit
    # than the default (0.99, meant for a hundred films or more).
    check = verify_backend(network, X[32:], clf, min_rank_correlation=0.95)
    assert check.rank_correlation >= 0.95 and check.max_abs_proba_difference <= 0.1
    assert check.limits == {"atol": 0.1, "min_rank_correlation": 0.95, "max_feature_error": 0.15}
    assert not any(name.startswith(".") for name in os.listdir(tmp_path))  # no temporary left


def test_int8_quantisation_of_an_equalising_network(tmp_path):
    # Histogram equalisation (scatter, gather, cumsum) in the graph defeats
    # onnxruntime's symbolic shape inference; quantisation must not need it.
    X, _, clf = fit_tiny(3, "equalize")
    export_onnx(clf, tmp_path / "eq.onnx", reference=X[:8])
    network = OnnxNetwork(quantize_int8(tmp_path / "eq.onnx", X[:32], tmp_path / "eq-int8.onnx"))
    assert verify_backend(network, X[32:], clf, min_rank_correlation=0.95).precision == "int8"


def test_a_failed_int8_verification_leaves_no_file(tiny, exported, tmp_path, monkeypatch):
    from skcxr.backends import _quantize

    X, _, clf = tiny

    def failing_check(network, *args, **kwargs):
        assert network.precision == "int8"
        raise BackendMismatchError("the scores' rank correlation is 0.2")

    monkeypatch.setattr(_quantize, "verify_backend", failing_check)
    with pytest.raises(BackendMismatchError, match="rank correlation is 0.2"):
        quantize_int8(exported[0], X[:32], tmp_path / "q.onnx", classifier=clf, reference=X[32:])
    assert os.listdir(tmp_path) == []


def test_quantize_errors(exported, tiny, tmp_path):
    X, _, _ = tiny
    fp32_path, _ = exported
    with pytest.raises(ValueError, match="method must be one of"):
        quantize_int8(fp32_path, X[:8], tmp_path / "q.onnx", method="entropy")
    with pytest.raises(ValueError, match="Give classifier and reference together"):
        quantize_int8(fp32_path, X[:8], tmp_path / "q.onnx", reference=X[8:])
    with pytest.raises(ValueError, match=r"X has shape \(8, 1, 32, 32\); this network takes "
                                         r"\(n, 1, 64, 64\)"):
        quantize_int8(fp32_path, X[:8, :, :32, :32], tmp_path / "q.onnx")
    assert os.listdir(tmp_path) == []


def test_verify_backend_catches_another_network(tiny, exported):
    X, _, clf = tiny
    _, _, other = fit_tiny(11)
    path, _ = exported
    with pytest.raises(BackendMismatchError, match="probabilities differ by up to"):
        verify_backend(OnnxNetwork(path), X[:8], other)
    with pytest.raises(ValueError, match="at least 3 reference films"):
        verify_backend(OnnxNetwork(path), X[:2], clf, min_rank_correlation=0.9)


@pytest.mark.parametrize("X, message", [
    (np.zeros((2, 1, 64, 64), np.float32), r"X has dtype float32; this network takes uint8"),
    (np.zeros((2, 1, 32, 32), np.uint8), r"X has shape \(2, 1, 32, 32\); this network takes "
                                         r"\(n, 1, 64, 64\)"),
    (np.zeros((2, 64, 64), np.uint8), r"X has shape \(2, 64, 64\)"),
    (np.zeros((2, 3, 64, 64), np.uint8), r"1 channel\(s\)"),
    (np.zeros((0, 1, 64, 64), np.uint8), r"with n >= 1"),
])
def test_onnx_network_input_errors(exported, X, message):
    network = OnnxNetwork(exported[0])
    with pytest.raises(ValueError, match=message):
        network.run(X)


def test_onnx_network_file_and_parameter_errors(exported, tmp_path):
    with pytest.raises(FileNotFoundError, match="No ONNX file at"):
        OnnxNetwork(tmp_path / "missing.onnx")
    with pytest.raises(ValueError, match="n_threads must be a positive int"):
        OnnxNetwork(exported[0], n_threads=0)
    with pytest.raises(TypeError, match="numpy array"):
        OnnxNetwork(exported[0]).run([[0]])


def test_missing_onnxruntime_gives_the_install_hint(exported, tiny, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r"pip install 'skcxr\[onnx\]'"):
        OnnxNetwork(exported[0])
    X, _, clf = tiny
    with pytest.raises(ImportError, match=r"pip install 'skcxr\[onnx\]'"):
        export_onnx(clf, tmp_path / "x.onnx", reference=X[:4])
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("error, name", [(BackendMismatchError("differs"), "new.onnx"),
                                         (KeyboardInterrupt(), "old.onnx")])
def test_no_unverified_file_is_left(tiny, tmp_path, monkeypatch, error, name):
    X, _, clf = tiny

    def failing_check(*args, **kwargs):
        assert any(entry.endswith(".unverified.onnx") for entry in os.listdir(tmp_path))
        raise error

    monkeypatch.setattr(_onnx_export, "verify_backend", failing_check)
    (tmp_path / "old.onnx").write_bytes(b"an earlier file")
    with pytest.raises(type(error)):
        export_onnx(clf, tmp_path / name, reference=X[:4])
    # Neither the temporary file nor a half-verified one: the earlier file is untouched.
    assert os.listdir(tmp_path) == ["old.onnx"]
    assert (tmp_path / "old.onnx").read_bytes() == b"an earlier file"


def test_session_threads_and_spinning(exported, monkeypatch):
    options = _session.session_options(3)
    assert options.intra_op_num_threads == 3 and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert OnnxNetwork(exported[0], n_threads=2).n_threads == 2
    assert OnnxNetwork(exported[0]).n_threads == cpu_share()


def test_cpu_share_respects_affinity_and_limits(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=8, user_api="openmp"):
        assert cpu_share() == 4
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert cpu_share() == 2
    with threadpool_limits(limits=1, user_api="openmp"):  # as torch.set_num_threads(1) does
        assert cpu_share() == 1


def test_texture_references_are_never_flat():
    images = texture_images((1, 64, 48))
    assert images.shape == (8, 1, 64, 48) and images.dtype == np.uint8
    spread = images.reshape(8, -1).astype(float)
    assert (spread.max(axis=1) - spread.min(axis=1) >= 150).all()
    assert (spread.std(axis=1) > 20).all()
    np.testing.assert_array_equal(images, texture_images((1, 64, 48)))  # fixed seed
