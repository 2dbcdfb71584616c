"""An exponential moving average of the weights, validated and kept in place of the last step's.

Averaging the weights over the last stretch of training removes much of the
noise of the final optimiser steps, which is where runs with different seeds
part ways (Polyak & Juditsky 1992; Izmailov et al., "Averaging Weights Leads
to Wider Optima", UAI 2018; timm's ``ModelEmaV3``).
"""

import copy
from numbers import Real

import torch
from skorch.callbacks import Callback

from .._compat import Interval, validate_estimator_params


class WeightAveraging(Callback):
    """Keep an exponential moving average (EMA) of the module's weights.

    After every training step the average moves towards the live weights
    by ``1 - decay`` (with timm's warm-up, so the first steps do not
    dominate). From the end of each epoch's training steps until the next
    epoch begins, ``module_`` holds the *averaged* weights: validation loss
    and AUC, early stopping's best-epoch snapshot and the weights left after
    ``fit`` are all the average's. The optimiser keeps training the live
    weights, which are restored in place (the same parameter tensors) when
    the next epoch begins.

    Batch-norm running statistics are averaged as well.

    Parameters
    ----------
    decay : float, default=0.998
        Weight of the running average at each step; the average spans about
        ``1 / (1 - decay)`` steps (500 for 0.998).
    """

    _parameter_constraints = {"decay": [Interval(Real, 0, 1, closed="neither")]}

    def __init__(self, decay=0.998):
        self.decay = decay

    def initialize(self):
        validate_estimator_params(self)
        self.average_ = None
        self.live_ = None
        self.steps_ = 0
        return self

    def on_train_begin(self, net, **kwargs):
        self.average_ = _floating_copy(net.module_.state_dict())
        self.live_ = None
        self.steps_ = 0

    def on_epoch_begin(self, net, **kwargs):
        if self.live_ is not None:  # back to the weights the optimiser trains
            net.module_.load_state_dict(self.live_)
            self.live_ = None

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:  # the epoch's training steps are done: validate the average
            self._use_average(net)

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self._update(net.module_.state_dict())

    def on_epoch_end(self, net, **kwargs):
        self._use_average(net)  # when there was no validation batch

    def on_train_end(self, net, **kwargs):
        self._use_average(net)  # also after an interrupted epoch

    def _update(self, state):
        # timm's warm-up: early on the average follows the weights closely.
        decay = min(self.decay, (1 + self.steps_) / (10 + self.steps_))
        self.steps_ += 1
        with torch.no_grad():
            for name, value in state.items():
                average = self.average_[name]
                if average.is_floating_point():
                    average.lerp_(value.to(average.dtype), 1 - decay)
                else:  # e.g. batch norm's num_batches_tracked
                    average.copy_(value)

    def _use_average(self, net):
        if self.live_ is not None or self.average_ is None:
            return
        self.live_ = _floating_copy(net.module_.state_dict())
        net.module_.load_state_dict(self.average_)


def _floating_copy(state):
    """A detached copy of a state dict (floating tensors kept in float32 for averaging)."""
    return {name: value.detach().clone().float() if value.is_floating_point()
            else copy.deepcopy(value) for name, value in state.items()}
