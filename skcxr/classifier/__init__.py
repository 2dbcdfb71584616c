"""The skorch-wrapped CNN classifier and its training pieces."""

from ._accelerate import AcceleratedCXRClassifier
from ._augment import RandomAugment
from ._averaging import WeightAveraging
from ._classifier import CXRClassifier

__all__ = ["AcceleratedCXRClassifier", "CXRClassifier", "RandomAugment", "WeightAveraging"]
