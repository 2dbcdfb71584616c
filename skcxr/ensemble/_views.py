"""Fixed geometric views of an image batch, for test-time augmentation."""

from numbers import Real

import numpy as np
import torch

from ..utils import affine_warp

IDENTITY = (0.0, 0.0, 1.0)
MAX_SHIFT = 0.25
SCALE_RANGE = (0.5, 2.0)


def check_views(shifts, scales):
    """The views ``(dx, dy, scale)``: the identity, then one per shift, then one per scale.

    Raises ValueError for anything that is not a small shift or scale, or
    that repeats the identity (which is always included and would silently
    count twice).
    """
    views = [IDENTITY]
    for shift in shifts:
        if (not isinstance(shift, (tuple, list)) or len(shift) != 2
                or not all(isinstance(v, Real) and not isinstance(v, bool) for v in shift)):
            raise ValueError(
                f"Each shift must be a pair (dx, dy) of fractions of the image width and "
                f"height, e.g. (0.04, 0.0); got {shift!r} in shifts={shifts!r}.")
        dx, dy = (float(v) for v in shift)
        if not (abs(dx) <= MAX_SHIFT and abs(dy) <= MAX_SHIFT):
            raise ValueError(
                f"Shift {shift!r} moves the image by more than {MAX_SHIFT:.0%} of a side; "
                "shifts are fractions of the side (0.04 is 4%), meant to be small.")
        if dx == dy == 0:
            raise ValueError("Shift (0, 0) repeats the identity view, which is always included.")
        views.append((dx, dy, 1.0))
    for scale in scales:
        if not isinstance(scale, Real) or isinstance(scale, bool):
            raise ValueError(f"Each scale must be a number, e.g. 1.05; got {scale!r}.")
        if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
            raise ValueError(
                f"Scale {scale!r} is outside [{SCALE_RANGE[0]}, {SCALE_RANGE[1]}]; "
                "scales are magnifications near 1 (1.05 enlarges by 5%).")
        if scale == 1:
            raise ValueError("Scale 1 repeats the identity view, which is always included.")
        views.append((0.0, 0.0, float(scale)))
    if len(set(views)) != len(views):
        raise ValueError(f"shifts={shifts!r} and scales={scales!r} repeat a view.")
    return views


def warp(X, dx, dy, scale):
    """One view of an image batch: content moved by ``(dx, dy)`` and magnified by ``scale``.

    Parameters
    ----------
    X : ndarray of shape (n, channels, height, width), uint8 or float32
    dx, dy : float
        Shift of the content, as fractions of the width and height;
        positive moves it right and down.
    scale : float
        Magnification about the image centre; above 1 enlarges.

    Returns
    -------
    view : ndarray like X
        Same shape and dtype; uint8 is rounded back to uint8. Pixels moved in
        from outside repeat the border (as in training augmentation: real
        films have no black margins).
    """
    if (dx, dy, scale) == IDENTITY:
        return X
    x = torch.from_numpy(np.ascontiguousarray(X)).float()
    # affine_grid maps output to input coordinates in [-1, 1] (a side spans 2):
    # input = (output - 2 * shift) / scale shows the input point p at scale * p + 2 * shift.
    theta = torch.tensor([[1 / scale, 0.0, -2 * dx / scale], [0.0, 1 / scale, -2 * dy / scale]])
    view = affine_warp(x, theta.expand(len(x), 2, 3))
    if X.dtype == np.uint8:
        return view.round_().clamp_(0, 255).to(torch.uint8).numpy()
    return view.clamp_(0, 1).numpy().astype(X.dtype, copy=False)
