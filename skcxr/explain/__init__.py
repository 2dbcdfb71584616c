"""Explanations of a fitted classifier's decisions."""

from ._gradcam import default_target_layer, gradcam

__all__ = ["default_target_layer", "gradcam"]
