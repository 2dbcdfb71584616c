"""skcxr: scikit-learn-compatible chest X-ray screening (NORMAL vs PNEUMONIA).

A preliminary screening aid that flags possibly concerning films so that a
radiologist can review them sooner; it never replaces the radiologist.
"""

from ._export import export
from .classifier import AcceleratedCXRClassifier, CXRClassifier
from .datasets import fetch_chest_xray, load_chest_xray
from .preprocessing import ImageLoader
from .pretrained import list_pretrained, load_pretrained
from .screener import Screener

__version__ = "0.1.0.dev0"

__all__ = [
    "AcceleratedCXRClassifier",
    "CXRClassifier",
    "ImageLoader",
    "Screener",
    "export",
    "fetch_chest_xray",
    "list_pretrained",
    "load_chest_xray",
    "load_pretrained",
    "__version__",
]
