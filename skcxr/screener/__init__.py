"""A fitted screening model as one estimator: classifier, operating threshold, input guard, model card."""

from ._screener import Screener, split_loader

__all__ = ["Screener", "split_loader"]
