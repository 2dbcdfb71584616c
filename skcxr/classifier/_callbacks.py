"""The classifier's default skorch callbacks, built from its parameters."""

import math
import numbers
import os
import re
import sys
import warnings

import numpy as np
from sklearn.metrics import roc_auc_score
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    EpochScoring,
    EpochTimer,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)
from skorch.utils import data_from_dataset
from torch.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau

from ._averaging import WeightAveraging

LR_SCHEDULES = (None, "cosine", "plateau")

# Cross-entropy of a two-class guess at 50/50: what an untrained network's loss is near.
CHANCE_LOSS = math.log(2)


def valid_auc(net, X, y):
    """ROC AUC on the validation split (NaN when it holds one class)."""
    proba = finite_proba(net, X)
    if len(np.unique(y)) < 2:
        return float("nan")
    return roc_auc_score(y, proba[:, 1])


def valid_accuracy(net, X, y):
    """Accuracy on the validation split, on encoded labels 0..n_classes-1."""
    return float(np.mean(finite_proba(net, X).argmax(1) == np.asarray(y)))


def finite_proba(net, X):
    """Validation probabilities; an error naming the epoch if the network's outputs are not finite."""
    proba = net.predict_proba(X)
    if not np.isfinite(proba).all():
        raise ValueError(
            f"The network's outputs became non-finite in epoch {len(net.history)}: training "
            f"diverged (lr={net.lr!r} is likely too high for this optimiser). fit stopped; "
            "the model is not fitted."
        )
    return proba


class DivergenceCheck(Callback):
    """Stop ``fit`` with a ``ValueError`` when the training loss grows far beyond where it began.

    A learning rate far too high can leave weights that are huge but still
    finite (a loss of 1e27, every film called one class): the non-finite
    checks do not see it. After each training batch, its loss is compared
    with the loss of the first batch of this ``fit`` or ``partial_fit``
    (the network before any update), taken as at least the chance-level
    ``log 2``: a loss ``factor`` times higher stops training.

    Why 100: an untrained two-class network starts near ``log 2 = 0.69``,
    so the default limit is a batch loss of 69, which needs every image of
    the batch scored around ``exp(-69) = 1e-30`` for its true class; a
    training run that is merely noisy stays orders of magnitude below (the
    shipped ResNet-18 recipe's epochs ran at 0.07-0.27, and epochs of a
    tiny test network at lr=1 with AdamW already reach thousands).

    Parameters
    ----------
    factor : float, default=100
        How many times the starting loss a batch loss may reach.
    """

    def __init__(self, factor=100.0):
        self.factor = factor

    def on_train_begin(self, net, **kwargs):
        self.start_loss_ = None

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        loss = net.history[-1, "batches", -1, "train_loss"]
        if self.start_loss_ is None:
            self.start_loss_ = loss
            return
        if has_diverged(loss, self.start_loss_, self.factor):
            epoch, batch = len(net.history), len(net.history[-1, "batches"])
            raise ValueError(
                f"Training diverged: the training loss reached {loss:.3g} in epoch {epoch}, "
                f"batch {batch}, over {self.factor:g} times the {self.start_loss_:.3g} it "
                f"started from. The weights are no longer usable; the usual cause is a "
                f"learning rate too high for this optimiser (lr={net.lr!r}): try one 10 "
                "times lower. fit stopped; the model is not fitted."
            )


    def on_train_end(self, net, **kwargs):
        # Without a validation split no collapse check runs and no checkpoint restores better
        # weights: a fit whose last epoch ends far above where it began is returned as it is.
        if self.start_loss_ is None or not len(net.history) or "valid_loss" in net.history[-1]:
            return
        loss = net.history[-1].get("train_loss")  # none when interrupted mid-epoch
        if loss is not None and has_diverged(loss, self.start_loss_, END_FACTOR):
            raise ValueError(
                f"Training diverged: its last epoch ended at a training loss of {loss:.3g}, over "
                f"{END_FACTOR:g} times the {self.start_loss_:.3g} it started from, and there is "
                "no validation split to catch a network that gives every film one answer. The "
                f"usual cause is a learning rate too high for this optimiser (lr={net.lr!r}): "
                "try one 10 times lower. fit stopped; the model is not fitted.")


# A last epoch's mean training loss this many times the start (at least log 2, chance level):
# the fit made the network far worse than untrained. Training that works ends below its start.
END_FACTOR = 4.0


def has_diverged(loss, start_loss, factor=100.0):
    """Whether ``loss`` is over ``factor`` times ``start_loss`` (taken as at least ``log 2``)."""
    return loss > factor * max(start_loss, CHANCE_LOSS)


class CollapseCheck(Callback):
    """A ``ValueError`` when, at the end of ``fit``, the network gives every validation film one answer.

    A network whose weights were wrecked (a learning rate far too high, a
    dead network) outputs the same probability for every image, yet its
    losses can look unremarkable. Once training has ended (after early
    stopping has restored the best epoch's weights), the kept network
    predicts the validation split; if it holds both classes, every image is
    predicted the same class and the probabilities of all images lie within
    ``tolerance`` of each other, ``fit`` fails saying what was seen.

    When every image gets the same class but the probabilities still differ,
    the network may only be undertrained: it can still rank films (a
    threshold chosen on validation data may work) and ``predict``'s 0.5 is
    the wrong threshold for it. That is a ``UserWarning``, not an error.
    Without a validation split nothing is checked.

    Parameters
    ----------
    tolerance : float, default=1e-4
        Largest spread of the predicted class's probability over the
        validation images that counts as one answer for all. A trained or
        merely undertrained network spreads its probabilities far more.
    """

    def __init__(self, tolerance=1e-4):
        self.tolerance = tolerance

    def on_train_begin(self, net, **kwargs):
        self.dataset_valid_ = None

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        self.dataset_valid_ = dataset_valid

    def on_train_end(self, net, **kwargs):
        dataset, self.dataset_valid_ = self.dataset_valid_, None
        if dataset is None:
            return
        _, y = data_from_dataset(dataset)
        y = np.asarray(y)
        if len(np.unique(y)) < 2:
            return
        proba = finite_proba(net, dataset)
        predicted = np.unique(proba.argmax(axis=1))
        if len(predicted) > 1:
            return
        classes = [c.item() if isinstance(c, np.generic) else c for c in net.classes_]
        p = proba[:, predicted[0]]
        seen = (f"the fitted network calls all {len(y)} validation images "
                f"{classes[predicted[0]]!r} with probability {p.min():.4g} to {p.max():.4g}, "
                f"though the validation split holds {np.sum(y == 0)} of {classes[0]!r} and "
                f"{np.sum(y == 1)} of {classes[1]!r}")
        if np.ptp(p) <= self.tolerance:
            raise ValueError(
                f"Training collapsed: {seen}: one answer for every image. The usual cause is "
                f"a learning rate too high for this optimiser (lr={net.lr!r}): try one 10 "
                "times lower. fit stopped; the model is not fitted."
            )
        warnings.warn(
            f"{seen.capitalize()}. The network may be undertrained (train longer or with "
            "more images) or diverging (lower lr); predict's threshold of 0.5 separates "
            "nothing here.", UserWarning, stacklevel=2)


def is_positive_number(value):
    """True for a number above 0; False for anything else, without raising."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0


class TerminalPrintLog(PrintLog):
    """skorch's epoch table, coloured only on a terminal.

    skorch marks each epoch's best values with ANSI colour codes wherever
    the table goes; in a log file or a CI log they show as
    ``[36m0.3808[0m``. Colour is kept only when the table is printed to a
    terminal, decided at each epoch (a pickled classifier may be fitted
    again elsewhere); ``NO_COLOR`` (https://no-color.org) turns it off
    anywhere.
    """

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not self._colour_allowed():
            return _ANSI.sub("", text)
        return text

    def _colour_allowed(self):
        return self.sink is print and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def default_callbacks(*, validates, lr_schedule, max_epochs, patience, weight_averaging, verbose):
    """The (name, callback) list CXRClassifier trains with.

    get_params builds these before fit has validated anything, so every
    test on a parameter here must tolerate any value.
    """
    schedule = lr_schedule if isinstance(lr_schedule, str) else None
    monitor = "valid_loss" if validates else "train_loss"
    callbacks = [
        ("epoch_timer", EpochTimer()),
        ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
    ]
    if validates:
        callbacks += [
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("valid_acc", EpochScoring(valid_accuracy, name="valid_acc", lower_is_better=False)),
            ("valid_auc", EpochScoring(valid_auc, name="valid_auc", lower_is_better=False)),
        ]
    if schedule == "cosine":
        callbacks.append(("lr_scheduler", LRScheduler(CosineAnnealingLR, T_max=max_epochs)))
    elif schedule == "plateau":
        callbacks.append(("lr_scheduler", LRScheduler(
            ReduceLROnPlateau, monitor=monitor, patience=2, factor=0.3)))
    if is_positive_number(weight_averaging) and weight_averaging < 1:
        # Before early stopping: the epoch's snapshot must be of the averaged weights.
        callbacks.append(("weight_averaging", WeightAveraging(decay=weight_averaging)))
    if validates and is_positive_number(patience):
        # load_best restores the weights of the epoch with the lowest
        # validation loss when training stops.
        callbacks.append(("early_stopping", EarlyStopping(
            monitor="valid_loss", patience=patience, load_best=True)))
    if is_positive_number(verbose) and verbose > 1:
        callbacks.append(("progress_bar", ProgressBar()))
    callbacks.append(("divergence_check", DivergenceCheck()))
    if validates:
        # After early stopping and weight averaging: it checks the weights fit returns.
        callbacks.append(("collapse_check", CollapseCheck()))
    callbacks.append(("print_log", TerminalPrintLog()))
    return callbacks
