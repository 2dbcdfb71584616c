"""The skorch-wrapped CNN classifier and its training pieces."""

from ._augment import RandomAugment
from ._averaging import WeightAveraging
from ._classifier import CXRClassifier

__all__ = ["CXRClassifier", "RandomAugment", "WeightAveraging"]
