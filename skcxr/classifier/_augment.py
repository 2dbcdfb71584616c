"""Training-time augmentation of whole batches, on the batch's device.

Batched affine warps and intensity changes run where the batch is (GPU or
CPU) with no per-image Python loop, so augmentation does not starve the GPU.
"""

import math
import numbers
from numbers import Real

import torch
from sklearn.base import BaseEstimator

from .._compat import Interval, validate_estimator_params
from .._versioning import VersionedPickleMixin
from ..utils import affine_warp


class RandomAugment(VersionedPickleMixin, BaseEstimator):
    """Random geometric and intensity changes, drawn per image.

    Clinically chosen: small rotations, scaling and shifts, brightness,
    contrast and gamma changes (the train/test shift of the Kermany set is
    mostly contrast). No horizontal flip unless asked for: the heart is on
    the left, and a flipped film is not a plausible film.

    Parameters
    ----------
    rotation : float, default=10
        Maximum rotation in degrees, either way.
    scale : float, default=0.1
        Maximum relative zoom, in or out.
    shift : float, default=0.06
        Maximum translation as a fraction of the image side.
    brightness : float, default=0.1
        Maximum additive change, on the [0, 1] intensity scale.
    contrast : float, default=0.25
        Maximum relative contrast change around the image mean.
    gamma : float, default=0.25
        Gamma drawn log-uniformly from ``[1/(1+gamma), 1+gamma]``.
    hflip : float, default=0.0
        Probability of a horizontal flip.

    Examples
    --------
    >>> import torch
    >>> from skcxr.classifier import RandomAugment
    >>> out = RandomAugment().scaled(0.5)(torch.rand(4, 1, 32, 32))
    >>> out.shape
    torch.Size([4, 1, 32, 32])
    """

    _parameter_constraints = {
        "rotation": [Interval(Real, 0, None, closed="left")],
        # A zoom of 1 - scale must stay positive.
        "scale": [Interval(Real, 0, 1, closed="left")],
        "shift": [Interval(Real, 0, None, closed="left")],
        "brightness": [Interval(Real, 0, None, closed="left")],
        "contrast": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "hflip": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, rotation=10.0, scale=0.1, shift=0.06, brightness=0.1,
                 contrast=0.25, gamma=0.25, hflip=0.0):
        self.rotation = rotation
        self.scale = scale
        self.shift = shift
        self.brightness = brightness
        self.contrast = contrast
        self.gamma = gamma
        self.hflip = hflip

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Not fitted: called on float torch batches (n, channels, H, W) during training.
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        return tags

    def scaled(self, strength):
        """A copy with every range multiplied by ``strength`` (flips kept).

        Parameters
        ----------
        strength : float
            Factor of every range but ``hflip``; 0 leaves the images as they are.

        Returns
        -------
        augment : RandomAugment
            The scaled copy.
        """
        params = {k: v * strength for k, v in self.get_params().items() if k != "hflip"}
        return RandomAugment(hflip=self.hflip, **params)

    def __call__(self, x):
        """Augment a float batch ``(n, c, h, w)`` with values in [0, 1]."""
        n = x.shape[0]
        x = self._warp(x, n)
        if self.brightness or self.contrast or self.gamma:
            x = self._intensity(x, n)
        if self.hflip:
            flip = torch.rand(n, device=x.device) < self.hflip
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        return x

    def _uniform(self, n, bound, device):
        return (torch.rand(n, device=device) * 2 - 1) * bound

    def _warp(self, x, n):
        if not (self.rotation or self.scale or self.shift):
            return x
        device = x.device
        angle = self._uniform(n, math.radians(self.rotation), device)
        zoom = 1 + self._uniform(n, self.scale, device)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        # affine_grid works in [-1, 1] coordinates: a shift of f of the side is 2f.
        tx, ty = (self._uniform(n, 2 * self.shift, device) for _ in range(2))
        theta = torch.stack(
            [torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1
        )
        return affine_warp(x, theta)

    def _intensity(self, x, n):
        device = x.device
        shape = (n, 1, 1, 1)
        log_gamma = self._uniform(n, math.log1p(self.gamma), device).view(shape)
        x = x.clamp(0, 1) ** torch.exp(log_gamma)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        factor = 1 + self._uniform(n, self.contrast, device).view(shape)
        x = (x - mean) * factor + mean
        x = x + self._uniform(n, self.brightness, device).view(shape)
        return x.clamp(0, 1)


def resolve_augmentation(augmentation):
    """Turn the ``augmentation`` parameter into a callable or ``None``.

    ``None`` or 0 switches augmentation off; a number scales the default
    :class:`RandomAugment` ranges; a callable is used as given. A
    :class:`RandomAugment`'s parameters are validated here, where the
    classifier takes it.
    """
    if augmentation is None:
        return None
    if isinstance(augmentation, numbers.Real) and not isinstance(augmentation, bool):
        if augmentation < 0:
            raise ValueError(f"augmentation strength must be >= 0; got {augmentation}.")
        augmentation = RandomAugment().scaled(augmentation) if augmentation else None
    if isinstance(augmentation, RandomAugment):
        validate_estimator_params(augmentation)
    if augmentation is None or callable(augmentation):
        return augmentation
    raise ValueError(
        "augmentation must be None, a non-negative strength or a callable such as "
        f"RandomAugment(...); got {augmentation!r}."
    )
