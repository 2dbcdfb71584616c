"""Shared by skcxr's estimators: checks of image batches and binary targets, the image warp.

Public so that code building on skcxr (an input guard, a wrapper, a new
estimator) validates inputs exactly as the classifier does.
"""

from ._validation import check_binary_target, check_image_batch
from ._warp import affine_warp

__all__ = ["affine_warp", "check_binary_target", "check_image_batch"]
