"""The skorch-wrapped CNN classifier and its training pieces."""

from ._augment import RandomAugment
from ._classifier import CXRClassifier

__all__ = ["CXRClassifier", "RandomAugment"]
