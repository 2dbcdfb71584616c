"""Pretrained screeners shipped with skcxr: named, checksummed, documented, offline.

Each weight set comes with a model card (:func:`get_card`): intended use,
training data and recipe, the screening threshold and how it was chosen,
validation and test metrics with confidence intervals, known limitations.
"""

from ._load import build_classifier, load_pretrained, pretrained_classifier
from ._registry import PretrainedWeights, get_card, get_weights, list_pretrained
from ._write import write_weights

__all__ = [
    "PretrainedWeights",
    "build_classifier",
    "get_card",
    "get_weights",
    "list_pretrained",
    "load_pretrained",
    "pretrained_classifier",
    "write_weights",
]
