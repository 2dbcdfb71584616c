"""The fitted network as one self-contained module: raw image batch in, logits out.

Everything an image goes through between the decoder and the network's first
convolution lives in :class:`InputHead`, inside the module, with its
statistics as buffers. A saved, exported or explained ``module_`` therefore
needs nothing from the estimator: ``module_(uint8_batch)`` gives the logits
``predict_proba`` is computed from.
"""

import torch
from torch import nn

from ._intensity import NORMALIZATIONS, normalize, to_unit_float


class InputHead(nn.Module):
    """Scale to [0, 1], augment while training, standardise intensities.

    Parameters
    ----------
    normalization : {"per_image", "dataset", "none"}
        See :func:`skcxr.classifier._intensity.normalize`.
    mean, std : float, default=0.0, 1.0
        The training set's intensity statistics, used by ``"dataset"``;
        kept as buffers so that they travel with the weights.
    augment : callable or None, default=None
        Applied to the [0, 1] batch in training mode only. Not a submodule:
        it holds no weights, and an exported network never contains it.
    """

    def __init__(self, normalization="per_image", mean=0.0, std=1.0, augment=None):
        super().__init__()
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}; got {normalization!r}.")
        self.normalization = normalization
        self.augment = augment
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x):
        x = to_unit_float(x)
        if self.training and self.augment is not None:
            x = self.augment(x)
        return normalize(x, self.normalization, self.mean, self.std)

    def extra_repr(self):
        return f"normalization={self.normalization!r}, augment={self.augment!r}"


class NetworkWithInputHead(nn.Module):
    """A classification network behind its :class:`InputHead`.

    Parameters
    ----------
    network : torch.nn.Module
        Maps a standardised float batch to logits.
    input_head : InputHead
    """

    def __init__(self, network, input_head):
        super().__init__()
        self.input_head = input_head
        self.network = network

    def forward(self, x, **kwargs):
        return self.network(self.input_head(x), **kwargs)

    def embed(self, x):
        """The network's penultimate features: the input of its last ``Linear`` layer.

        What the network has made of the image just before deciding; the
        input guard measures how far a new film lies from the training
        films in this space.
        """
        return self.forward_with_features(x)[1]

    def final_linear(self):
        """The network's last ``Linear`` layer: the classifier whose input is the features."""
        return final_linear_layer(self.network)

    def forward_with_features(self, x):
        """``(logits, penultimate features)`` from one pass through the network."""
        last_linear = final_linear_layer(self.network)
        captured = {}
        handle = last_linear.register_forward_hook(
            lambda _module, inputs, _output: captured.update(features=inputs[0]))
        try:
            logits = self(x)
        finally:
            handle.remove()
        return logits, captured["features"]


def final_linear_layer(network):
    """The last ``nn.Linear`` of a network: its classification layer in every registered family."""
    linears = [module for module in network.modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ValueError(
            f"{type(network).__name__} has no Linear layer, so it has no penultimate "
            "features to embed; networks built by name all end in one."
        )
    return linears[-1]
