"""AcceleratedCXRClassifier: one process in this one, and two CPU processes (gloo) launched by accelerate.

The two-process run trains the tiny network on blob images in
tests/accelerate_worker.py; the test checks that both processes ended with the
same weights, history and validation split, that they trained on disjoint
halves of every epoch, and that the model the main process saved loads and
predicts, as the trained net did, in an ordinary process where accelerate
cannot be imported.
"""

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from accelerate_worker import TRAIN, image_fingerprint
from conftest import REPO_ROOT, make_blob_images
from sklearn.base import clone

from skcxr import AcceleratedCXRClassifier, CXRClassifier

accelerate = pytest.importorskip("accelerate")

TESTS = Path(__file__).resolve().parent
# A hung collective must fail the test, not hang CI. The launcher, its two
# workers and the loading process take about 30 s of CPU time together, but
# minutes of wall time on a busy shared machine.
LAUNCH_TIMEOUT = 600


@pytest.fixture(scope="module")
def accelerator():
    yield accelerate.Accelerator(cpu=True)
    # The Accelerator's state is process-wide; leave none behind.
    accelerate.state.AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture(scope="module")
def blobs():
    return make_blob_images(n=32, size=32, seed=1)


# Early stopping and weight averaging load state dicts at the end of training.
SMALL = dict(module="tiny", lr=0.05, max_epochs=2, batch_size=8, random_state=0,
             validation_fraction=0.25, weight_averaging=0.9, patience=1)


def small(accelerator, /, **params):
    return AcceleratedCXRClassifier(**{**SMALL, "accelerator": accelerator, **params})


def test_one_process_computes_what_cxrclassifier_computes(accelerator, blobs):
    X, y, groups = blobs
    net = small(accelerator).fit(X, y, groups=groups)
    plain = CXRClassifier(**SMALL).fit(X, y, groups=groups)
    np.testing.assert_array_equal(net.predict_proba(X), plain.predict_proba(X))
    assert net.history[:, "valid_auc"] == plain.history[:, "valid_auc"]
    np.testing.assert_array_equal(net.embed(X), plain.embed(X))


def test_to_classifier_is_a_plain_fitted_classifier(accelerator, blobs):
    X, y, groups = blobs
    net = small(accelerator, normalization="dataset", lr=0.07).fit(X, y, groups=groups)
    model = pickle.loads(pickle.dumps(net.to_classifier()))
    assert type(model) is CXRClassifier
    assert model.lr == 0.07 and model.device == "auto" and not model.amp
    assert model.intensity_mean_ == net.intensity_mean_ and model.input_shape_ == net.input_shape_
    np.testing.assert_array_equal(model.predict_proba(X), net.predict_proba(X))
    assert model.history[:, "valid_loss"] == net.history[:, "valid_loss"]
    assert net.to_classifier(lr=0.2).lr == 0.2


def test_fit_leaves_parameters_as_given(accelerator, blobs):
    X, y, groups = blobs
    net = small(accelerator)
    before = net.get_params(deep=False)
    net.fit(X, y, groups=groups)
    after = net.get_params(deep=False)
    assert before.keys() == after.keys()
    assert all(before[key] is after[key] or before[key] == after[key] for key in before)
    assert after["callbacks__print_log__sink"] == "auto" and after["device"] is None
    assert clone(net).get_params(deep=False).keys() == before.keys()


def test_partial_fit_and_refit_train_the_prepared_network(accelerator, blobs):
    X, y, groups = blobs
    # Without a schedule: the cosine one ends at lr=0, where partial_fit would go on.
    net = small(accelerator, lr_schedule=None).fit(X, y, groups=groups)
    assert type(net.module_).__name__ == "NetworkWithInputHead"  # unwrapped after training
    before = net.predict_proba(X)
    net.partial_fit(X, y, epochs=1)
    assert len(net.history) == 3 and not np.array_equal(before, net.predict_proba(X))
    assert isinstance(net.optimizer_.optimizer, torch.optim.SGD)  # wrapped once, not twice
    net.fit(X, y, groups=groups)  # builds and prepares a new network
    np.testing.assert_array_equal(before, net.predict_proba(X))


@pytest.mark.parametrize("params, message", [
    ({"amp": True}, "mixed precision is the Accelerator's"),
    ({"use_caching": "auto"}, "use_caching must be False"),
    ({"device": "cpu"}, "device must be None"),
    ({"accelerator": "cpu"}, "'accelerator' parameter"),
])
def test_settings_of_the_single_device_classifier_are_refused(accelerator, blobs, params, message):
    X, y, groups = blobs
    net = small(accelerator, **params)
    with pytest.raises(ValueError, match=message):
        net.fit(X, y, groups=groups)
    assert not net.__sklearn_is_fitted__()


def test_processes_given_different_data_are_stopped(accelerator, blobs, monkeypatch):
    X, y, groups = blobs
    # What gather_object returns when another process hashed other data.
    monkeypatch.setattr(accelerate.utils, "gather_object", lambda digests: digests + ["other"])
    with pytest.raises(ValueError, match="2 processes were given different training data"):
        small(accelerator).fit(X, y, groups=groups)


def test_presets_build_the_accelerated_classifier(accelerator):
    net = AcceleratedCXRClassifier.from_preset("recommended", accelerator=accelerator)
    assert type(net) is AcceleratedCXRClassifier
    assert net.module == "resnet18" and net.device is None and net.amp is False


def test_it_does_not_pickle_but_says_what_to_save(accelerator):
    with pytest.raises(TypeError, match=r"to_classifier\(\)"):
        pickle.dumps(small(accelerator))


def test_missing_accelerate_gives_the_install_hint(accelerator, blobs, monkeypatch):
    X, y, groups = blobs
    monkeypatch.setitem(sys.modules, "accelerate", None)  # import accelerate now fails
    with pytest.raises(ImportError, match=r"pip install 'skcxr\[accelerate\]'"):
        small(accelerator).fit(X, y, groups=groups)


# ------------------------------------------------------ two processes (gloo)
def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_bounded(command, timeout, **kwargs):
    """Run ``command``; kill its whole process group (the launcher's workers too) on timeout."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True, **kwargs)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{command[:4]}... ran past {timeout} s (a hung collective?):\n{output[-3000:]}")
    assert process.returncode == 0, f"{command[:4]}... failed:\n{output[-5000:]}"
    return output


def subprocess_env(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HOME=str(tmp_path / "hf"))  # no user accelerate config
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


# The saved model in an ordinary process: importing accelerate fails there.
LOAD_AND_PREDICT = """
import sys
sys.modules["accelerate"] = None
import joblib, numpy as np
from accelerate_worker import NEW, state_checksum
from conftest import make_blob_images
out = sys.argv[1]
model = joblib.load(out + "/model.joblib")
X_new, _, _ = make_blob_images(**NEW)
np.save(out + "/loaded_proba.npy", model.predict_proba(X_new))
np.save(out + "/loaded_features.npy", model.embed(X_new))
print(type(model).__name__, state_checksum(model.module_.state_dict()))
"""


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("accelerate")
    # accelerate 1.15's `launch --cpu` starts one process (several only
    # through MPI); --multi_gpu starts them with torchrun, and the worker's
    # Accelerator(cpu=True) makes them CPU processes on gloo.
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
               "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "--main_process_port", str(free_port()),
               str(TESTS / "accelerate_worker.py"), str(out)]
    run_bounded(command, LAUNCH_TIMEOUT, cwd=TESTS, env=subprocess_env(out))
    records = [json.loads((out / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    loaded = run_bounded([sys.executable, "-c", LOAD_AND_PREDICT, str(out)], LAUNCH_TIMEOUT,
                         cwd=TESTS, env=subprocess_env(out))
    return out, records, loaded.split()


def test_processes_end_with_the_same_weights_history_and_split(two_process_run):
    _, (main, other), _ = two_process_run
    assert main["num_processes"] == other["num_processes"] == 2
    assert main["weights"] == other["weights"]
    assert main["history"] == other["history"]  # merged batch losses, gathered scores
    assert main["valid_indices"] == other["valid_indices"]
    assert main["module_type"] == "NetworkWithInputHead"  # unwrapped after training
    np.testing.assert_array_equal(main["proba"], other["proba"])


def test_each_epoch_is_shared_out_without_overlap(two_process_run):
    _, (main, other), _ = two_process_run
    X, _, _ = make_blob_images(**TRAIN)
    fingerprints = [image_fingerprint(torch.from_numpy(image)) for image in X]
    assert len(set(fingerprints)) == len(X)
    assert len(main["train_images"]) == 3  # fit's two epochs and partial_fit's one
    for valid, mine, theirs in zip(main["valid_indices"], main["train_images"], other["train_images"]):
        train = {fingerprints[i] for i in set(range(len(X))) - set(valid)}
        assert len(mine) == len(theirs) == len(train) // 2
        assert not set(mine) & set(theirs)
        assert set(mine) | set(theirs) == train


def test_saved_model_predicts_as_trained_without_accelerate(two_process_run):
    out, (main, _), (loaded_type, loaded_weights) = two_process_run
    assert loaded_type == "CXRClassifier"
    assert loaded_weights == main["saved_weights"] == main["weights"]
    proba = np.load(out / "proba.npy")
    assert proba.shape == (13, 2)
    np.testing.assert_allclose(np.load(out / "loaded_proba.npy"), proba, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.load(out / "loaded_features.npy"), np.load(out / "features.npy"),
                               rtol=0, atol=1e-5)
    assert type(joblib.load(out / "model.joblib")) is CXRClassifier
