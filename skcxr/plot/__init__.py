"""Plots for screening models (needs matplotlib: ``pip install skcxr[plot]``)."""

from ._plots import (
    plot_confusion_matrix,
    plot_gradcam,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
)

__all__ = [
    "plot_confusion_matrix",
    "plot_gradcam",
    "plot_precision_recall",
    "plot_reliability",
    "plot_roc",
]
