"""A fit that diverged, collapsed or was interrupted never passes for a trained model.

One test per harm found in the "trustworthy by default" audit; tiny networks, seconds each.
"""

import json
import pickle
import signal

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, make_blob_images
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from skcxr import CXRClassifier
from skcxr.classifier._callbacks import CHANCE_LOSS, DivergenceCheck, has_diverged


@pytest.fixture(scope="module")
def blobs():
    return make_blob_images(n=64, size=32, seed=0)


def tiny(**params):
    defaults = dict(module="tiny", optimizer=torch.optim.AdamW, max_epochs=6, batch_size=8,
                    random_state=0, patience=None)
    return CXRClassifier(**{**defaults, **params})


def in_eval_mode(clf):
    return not any(m.training for m in clf.module_.modules()) and not clf.criterion_.training


# ------------------------------------------------------------ 5. divergence
def test_a_diverged_fit_with_finite_weights_is_an_error_not_a_model(blobs):
    X, y, _ = blobs
    # lr=100 with AdamW: epoch 1's loss passes 1e11 yet every weight stays finite, so the
    # non-finite checks never fire; before, fit returned a network calling every image one class.
    clf = tiny(lr=100.0)
    with pytest.raises(ValueError, match=r"Training diverged: the training loss reached "
                                         r"[0-9.e+]+ in epoch 1, batch \d+, over 100 times the "
                                         r"0\.\d+ it started from.*lr=100\.0.*10 times lower"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    assert all(torch.isfinite(p).all() for p in clf.module_.parameters())


def test_a_collapsed_network_is_an_error_not_a_model(blobs):
    X, y, _ = blobs
    # lr=0.1 with AdamW kills the tiny network: its losses stay unremarkable (below the
    # divergence limit) but it answers the same probability for every image.
    clf = tiny(lr=0.1)
    with pytest.raises(ValueError, match=r"Training collapsed: the fitted network calls all 7 "
                                         r"validation images [01] with probability (0\.\d+) to "
                                         r"\1, though the validation split holds 4 of 0 and 3 "
                                         r"of 1: one answer for every image.*lr=0\.1"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_a_fit_ending_far_above_its_start_without_validation_is_an_error():
    """lr=20, no validation split: batch losses grow 20-fold (below the 100-fold limit), the
    last epoch ends at about 5 times the start and every film gets one answer (re-audit 8d)."""
    from conftest import make_blob_images

    X, y, _ = make_blob_images(n=32, size=32, seed=1)
    clf = CXRClassifier("tiny", lr=20.0, max_epochs=3, batch_size=8, validation_fraction=None,
                        random_state=0, verbose=0)
    with pytest.raises(ValueError, match=r"Training diverged: its last epoch ended at a training "
                                         r"loss of [0-9.]+, over 4 times .*lr=20\.0"):
        clf.fit(X.astype(np.float32) / 255, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_an_undertrained_network_that_still_ranks_fits_with_a_warning(blobs):
    X, y, _ = blobs
    with pytest.warns(UserWarning, match=r"calls all 7 validation images [01] with probability "
                                         r"0\.\d+ to 0\.\d+, .*may be undertrained"):
        clf = tiny(lr=1e-3).fit(X, y)
    assert clf.predict_proba(X).std() > 1e-3  # scores still spread: a threshold may rank them


def test_divergence_limit_gives_no_false_alarm_on_the_shipped_recipe():
    weights = REPO_ROOT / "skcxr" / "pretrained" / "weights"
    # The card's file (a weight set's folder holds it as card.json in newer layouts).
    [card] = [path for path in (weights / "resnet18-kermany-128.json",
                                weights / "resnet18-kermany-128" / "card.json") if path.exists()]
    losses = json.loads(card.read_text())["recipe"]["history"]["train_loss"]
    # Whatever the first batch's loss was (an untrained network: about log 2).
    for start in (CHANCE_LOSS, losses[0], min(losses)):
        assert not any(has_diverged(loss, start) for loss in losses)
    assert max(losses) * 100 < 100 * CHANCE_LOSS  # two orders of magnitude to spare
    assert has_diverged(7.6e27, CHANCE_LOSS)  # the audit's lr=1e4 run


def test_divergence_is_measured_from_where_each_training_run_starts(blobs):
    X, y, _ = blobs
    clf = tiny(lr=1e-3, max_epochs=1, validation_fraction=None).fit(X, y)
    check = dict(clf.callbacks_)["divergence_check"]
    assert isinstance(check, DivergenceCheck)
    assert check.start_loss_ == pytest.approx(clf.history[0, "batches", 0, "train_loss"])


# --------------------------------------------------------------- 6. Ctrl-C
class PressCtrlC(Callback):
    """Delivers a real SIGINT while a callback runs, as a user's Ctrl-C can land there."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            signal.raise_signal(signal.SIGINT)


def test_ctrl_c_inside_a_callback_warns_that_the_model_is_half_trained(blobs, python_sigint):
    X, y, g = blobs
    handler = signal.getsignal(signal.SIGINT)
    clf = tiny(lr=1e-2, max_epochs=4, callbacks=[("ctrl_c", PressCtrlC())],
               validation_fraction=0.25)
    with pytest.warns(UserWarning, match=r"fit was interrupted \(KeyboardInterrupt\) in epoch 2 "
                                         r"of 4\. The weights kept are those it had when "
                                         r"interrupted"):
        clf.fit(X, y, groups=g)
    assert len(clf.history) == 2
    assert signal.getsignal(signal.SIGINT) is handler  # the caller's handler is back
    # Early stopping's own KeyboardInterrupt stays silent:
    # test_classifier_failures.py::test_interrupted_fit_warns_which_weights_it_kept.


# ------------------------------------------------------------ 7. eval mode
class TrainingModeSeen(Callback):
    def initialize(self):
        self.modes_ = []
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.modes_.append(net.module_.training)


def test_module_is_in_eval_mode_whenever_no_fit_runs(blobs):
    X, y, _ = blobs
    seen = TrainingModeSeen()
    # No validation split: skorch's last step of the fit is a training step.
    clf = tiny(lr=1e-3, max_epochs=2, validation_fraction=None, callbacks=[("seen", seen)])
    clf.initialize()
    assert in_eval_mode(clf), "after initialize"
    clf.fit(X, y)
    assert in_eval_mode(clf), "after fit"
    assert seen.modes_ and all(seen.modes_)  # ...yet every training step ran in training mode
    clf.partial_fit(X, y)
    assert in_eval_mode(clf), "after partial_fit"
    clf.set_params(module__hidden_units=8)  # rebuilds the network
    assert in_eval_mode(clf), "after set_params rebuilt the module"
    refit = clone(clf).fit(X, y)
    assert in_eval_mode(refit), "after clone and fit"
    clf.module_.train()  # a pickle written by an older version may hold a training network
    assert in_eval_mode(pickle.loads(pickle.dumps(clf))), "after loading a pickle"
    failed = tiny(lr=100.0, validation_fraction=None)
    with pytest.raises(ValueError, match="Training diverged"):
        failed.fit(X, y)
    assert in_eval_mode(failed), "after a failed fit"
    assert np.isfinite(refit.predict_proba(X)).all()


def test_one_step_too_large_is_an_error_even_when_the_loss_looked_finite():
    """Audit: `skcxr train --lr 1e4 --epochs 1` on one batch logged a finite loss; the network
    then scored every film NaN, and the error came later, from the guard's fit."""
    X, y, _ = make_blob_images(n=24, size=32, seed=0)
    clf = CXRClassifier.from_preset("compact", lr=1e4, max_epochs=1, batch_size=64,
                                    validation_fraction=None, random_state=0)
    with pytest.raises(ValueError, match="outputs are not finite on its own training images"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict_proba(X[:2])
