"""Networks by name, as timm does: ``create_module("resnet18", in_channels=1)``."""

from functools import partial

from ._cnn import CXRNet, _tiny_cxrnet
from ._torchvision import TORCHVISION_ARCHITECTURES, torchvision_model

# "tiny" is a test-size network (tests train it in about a second), kept
# registered by name for them; its builder is not public API.
_REGISTRY = {"cxrnet": CXRNet, "tiny": _tiny_cxrnet}
_REGISTRY.update({arch: partial(torchvision_model, arch) for arch in TORCHVISION_ARCHITECTURES})


def available_modules():
    """List the names accepted by :func:`create_module` and ``CXRClassifier(module=...)``.

    Returns
    -------
    names : list of str
        Sorted.
    """
    return sorted(_REGISTRY)


def get_module_factory(name):
    """Return the class or function that builds the network called ``name``.

    Parameters
    ----------
    name : str
        One of :func:`available_modules`.

    Returns
    -------
    factory : callable
        Called with the network's arguments (``in_channels``, ``n_classes``, ...).
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"Unknown module {name!r}; known modules: {', '.join(available_modules())}."
        ) from None


def create_module(name, **kwargs):
    """Build the network called ``name`` with keyword arguments ``kwargs``.

    Every network takes ``in_channels`` and ``n_classes`` and returns logits.

    Parameters
    ----------
    name : str
        One of :func:`available_modules`.
    **kwargs
        The network's arguments.

    Returns
    -------
    module : torch.nn.Module
        The network, with random weights.

    Examples
    --------
    >>> from skcxr.models import create_module
    >>> net = create_module("cxrnet", in_channels=1, hidden_units=256)
    >>> type(net).__name__
    'CXRNet'
    """
    return get_module_factory(name)(**kwargs)
