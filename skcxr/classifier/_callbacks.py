"""The classifier's default skorch callbacks, built from its parameters."""

import numbers
import os
import re
import sys

import numpy as np
from sklearn.metrics import roc_auc_score
from skorch.callbacks import (
    EarlyStopping,
    EpochScoring,
    EpochTimer,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)
from torch.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau

from ._averaging import WeightAveraging

LR_SCHEDULES = (None, "cosine", "plateau")


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
    callbacks.append(("print_log", TerminalPrintLog()))
    return callbacks
