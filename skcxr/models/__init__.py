"""Networks: the original CNN+FC (:class:`CXRNet`) and torchvision architectures.

All take ``in_channels`` and ``n_classes`` and return logits.
"""

from ._cnn import CXRNet
from ._registry import available_modules, create_module, get_module_factory
from ._torchvision import torchvision_model

__all__ = [
    "CXRNet",
    "available_modules",
    "create_module",
    "get_module_factory",
    "torchvision_model",
]
