"""Checks shared by skcxr's estimators: image batches and binary targets.

Public so that code building on skcxr (an input guard, a wrapper, a new
estimator) validates inputs exactly as the classifier does.
"""

from ._validation import check_binary_target, check_image_batch

__all__ = ["check_binary_target", "check_image_batch"]
