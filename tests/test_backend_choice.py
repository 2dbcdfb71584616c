"""Which backend runs a screener, and what happens when one cannot be used."""

import builtins
import shutil

import numpy as np
import pytest

import skcxr
from skcxr import load_screener
from skcxr.screener._backend import BackendFallbackWarning

SHIPPED = skcxr.list_pretrained()


def test_a_screener_without_faster_files_runs_on_torch_quietly(tiny_screener, recwarn):
    screener = load_screener(tiny_screener["folder"])
    assert screener.backend_in_use == "torch" and screener.decision_threshold == 0.4
    assert not [w for w in recwarn if issubclass(w.category, BackendFallbackWarning)]


def test_an_unavailable_backend_falls_back_to_torch_with_one_warning(tiny_screener):
    screener = load_screener(tiny_screener["folder"], backend="onnxruntime-int8")
    with pytest.warns(BackendFallbackWarning, match="ships no int8 file.*runs on PyTorch"):
        assert screener.backend_in_use == "torch"
    paths = tiny_screener["paths"][:4]
    np.testing.assert_array_equal(screener.set_params(on_refusal="score").predict_proba(paths),
                                  load_screener(tiny_screener["folder"], on_refusal="score")
                                  .predict_proba(paths))


def test_a_missing_onnxruntime_is_said_not_hidden(monkeypatch, tiny_screener, tmp_path):
    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    monkeypatch.setenv("SKCXR_CACHE", str(tmp_path))
    screener = load_screener(tiny_screener["folder"], backend="onnxruntime")
    with pytest.warns(BackendFallbackWarning, match="onnxruntime.*PyTorch"):
        assert screener.backend_in_use == "torch"


def test_the_fp32_backend_is_built_once_verified_and_scores_as_torch(tiny_screener, tmp_path,
                                                                     monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    monkeypatch.setenv("SKCXR_CACHE", str(tmp_path))
    screener = load_screener(tiny_screener["folder"], backend="onnxruntime", on_refusal="score")
    with pytest.warns(UserWarning, match="Exporting the network to ONNX"):
        assert screener.backend_in_use == "onnxruntime"
    assert len(list(tmp_path.glob("*.onnx"))) == 1
    paths = tiny_screener["paths"][:8]
    torch_screener = load_screener(tiny_screener["folder"], backend="torch", on_refusal="score")
    np.testing.assert_allclose(screener.predict_proba(paths), torch_screener.predict_proba(paths),
                               atol=1e-4)
    again = load_screener(tiny_screener["folder"], backend="onnxruntime")
    assert again.backend_in_use == "onnxruntime"  # from the cache: no second export
    # Audit round 5: another network planted under the cache's name was used unchecked. A file
    # from the cache is checked again against PyTorch: this one (the network with its weights
    # scaled) fails, and the screener says so and runs on PyTorch.
    import onnx

    cached = next(tmp_path.glob("*.onnx"))
    graph = onnx.load(cached)
    for initializer in graph.graph.initializer:
        if initializer.data_type == onnx.TensorProto.FLOAT:
            array = onnx.numpy_helper.to_array(initializer) * 1.5
            initializer.CopyFrom(onnx.numpy_helper.from_array(array, initializer.name))
    onnx.save(graph, cached)
    planted = load_screener(tiny_screener["folder"], backend="onnxruntime")
    with pytest.warns(BackendFallbackWarning, match="onnxruntime backend cannot be used"):
        assert planted.backend_in_use == "torch"


@pytest.mark.parametrize("name", SHIPPED)
def test_a_saved_copy_keeps_its_int8_file_and_an_override_drops_its_thresholds(name, tmp_path):
    screener = skcxr.load_pretrained(name, device="cpu")
    card = screener.save(tmp_path / "copy")
    assert (tmp_path / "copy" / card.backends["onnxruntime-int8"]["file"]).is_file()
    assert load_screener(tmp_path / "copy").backend_in_use == "onnxruntime-int8"
    overridden = screener.set_params(threshold=0.3).save(tmp_path / "set-by-hand")
    assert all("threshold" not in entry for entry in overridden.backends.values())
    again = load_screener(tmp_path / "set-by-hand")
    assert again.backend_in_use == "onnxruntime-int8" and again.decision_threshold == 0.3


@pytest.mark.parametrize("name", SHIPPED)
def test_a_damaged_int8_file_falls_back(name, tmp_path):
    source = skcxr.pretrained._registry.pretrained_folder(name)
    shutil.copytree(source, tmp_path / "s")
    int8 = tmp_path / "s" / skcxr.pretrained.get_card(name).backends["onnxruntime-int8"]["file"]
    int8.write_bytes(int8.read_bytes()[:-100])
    screener = load_screener(tmp_path / "s")
    with pytest.warns(BackendFallbackWarning, match="does not match the sha256"):
        assert screener.backend_in_use == "torch"
    assert screener.decision_threshold == screener.card.threshold


@pytest.mark.realdata
@pytest.mark.parametrize("name", SHIPPED)
def test_scores_come_from_the_backend_in_use_with_or_without_the_guard(name, data_home):
    """The threshold in use is the backend's, so the unguarded scores must be that backend's too."""
    from skcxr.datasets import load_chest_xray

    films = list(load_chest_xray(subset="test", data_home=data_home).data[:6])
    guarded = skcxr.load_pretrained(name, device="cpu")
    unguarded = skcxr.load_pretrained(name, device="cpu", on_refusal="score")
    assert guarded.backend_in_use == unguarded.backend_in_use == "onnxruntime-int8"
    np.testing.assert_array_equal(unguarded.predict_proba(films), guarded.predict_proba(films))
    torch_scores = skcxr.load_pretrained(name, device="cpu", backend="torch",
                                         on_refusal="score").predict_proba(films)
    assert not np.array_equal(torch_scores, unguarded.predict_proba(films))


def test_a_cache_path_that_is_a_file_is_named(tiny_screener, tmp_path, monkeypatch):
    """Audit round 5: SKCXR_CACHE naming a file fell back with '[Errno 17] File exists'."""
    pytest.importorskip("onnxruntime")
    (tmp_path / "cachefile").write_text("")
    monkeypatch.setenv("SKCXR_CACHE", str(tmp_path / "cachefile"))
    screener = load_screener(tiny_screener["folder"], backend="onnxruntime")
    with pytest.warns(BackendFallbackWarning, match="cachefile' .*is a file, not a folder"):
        assert screener.backend_in_use == "torch"
