"""Explanations of a fitted classifier's decisions."""

from ._gradcam import gradcam

__all__ = ["gradcam"]
