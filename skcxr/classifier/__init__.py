"""The skorch-wrapped CNN classifier and its training pieces."""

from .._lazy import attach

# AcceleratedCXRClassifier pulls in skorch's Hugging Face helpers: loaded on first use.
__getattr__, __dir__, __all__ = attach(__name__, attributes={
    "._accelerate": ["AcceleratedCXRClassifier"],
    "._augment": ["RandomAugment"],
    "._classifier": ["CXRClassifier"],
})
