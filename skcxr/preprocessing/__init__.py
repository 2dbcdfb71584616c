"""Image transformers for scikit-learn pipelines."""

from ._image_loader import ImageLoader

__all__ = ["ImageLoader"]
