"""Image transformers for scikit-learn pipelines, and reading a file as a picture to show."""

from ._display import read_image
from ._image_loader import ImageLoader

__all__ = ["ImageLoader", "read_image"]
