"""torchvision architectures with a 1-channel stem and a 2-logit head."""

import torch
from torch import nn

TORCHVISION_ARCHITECTURES = (
    "resnet18", "resnet34", "resnet50",
    "densenet121",
    "efficientnet_b0",
    "mobilenet_v3_small",
)


def torchvision_model(arch, in_channels=1, n_classes=2, weights_path=None):
    """Build a torchvision architecture for ``in_channels``-channel input.

    Parameters
    ----------
    arch : str
        A torchvision architecture that :func:`available_modules` lists
        (``"resnet18"``, ``"densenet121"``, ``"efficientnet_b0"``, ...).
    in_channels : int, default=1
        Input channels; the stem convolution is rebuilt when not 3.
    n_classes : int, default=2
        Logits of the new head.
    weights_path : str or path-like, default=None
        A local state dict (``torch.save(model.state_dict())``) to start
        from, loaded with ``weights_only=True``. Its 3-channel stem is summed
        over colour channels for grayscale input, its head is dropped.
        Nothing is ever downloaded: without it, weights are random.

    Returns
    -------
    model : torch.nn.Module
        The network, returning ``n_classes`` logits.
    """
    if arch not in TORCHVISION_ARCHITECTURES:
        raise ValueError(
            f"Unknown torchvision architecture {arch!r}; known: {TORCHVISION_ARCHITECTURES}."
        )
    import torchvision  # only for these architectures: it costs seconds to import

    model = getattr(torchvision.models, arch)(weights=None)
    if weights_path is not None:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    _replace_stem(model, in_channels)
    _replace_head(model, n_classes)
    return model


def _first_conv(model):
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module
    raise ValueError("model has no convolution")  # pragma: no cover


def _set_submodule(model, dotted, new):
    parent_name, _, child = dotted.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def _replace_stem(model, in_channels):
    name, conv = _first_conv(model)
    if conv.in_channels == in_channels:
        return
    stem = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                     conv.padding, bias=conv.bias is not None)
    with torch.no_grad():
        # Summing the RGB filters keeps a pretrained stem's response to grey
        # images (R=G=B); for random weights it is just another init.
        summed = conv.weight.sum(dim=1, keepdim=True)
        stem.weight.copy_(summed.repeat(1, in_channels, 1, 1) / in_channels)
        if conv.bias is not None:
            stem.bias.copy_(conv.bias)
    _set_submodule(model, name, stem)


def _replace_head(model, n_classes):
    # The last Linear layer is the classification head in every listed family.
    name, linear = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    _set_submodule(model, name, nn.Linear(linear.in_features, n_classes))
