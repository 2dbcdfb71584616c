"""Intensity scaling of input batches, identical in fit and predict."""

import torch

NORMALIZATIONS = ("per_image", "equalize", "dataset", "none")


def to_unit_float(x):
    """uint8 batches become float in [0, 1]; float batches are taken as scaled."""
    if x.dtype == torch.uint8:
        return x.float().div_(255)
    return x.float()


def dataset_statistics(X, batch_size=256):
    """Mean and standard deviation of a uint8/float image array, in [0, 1] units.

    Computed in chunks so the whole set is never held as float.
    """
    total, total_sq, count = 0.0, 0.0, 0
    for start in range(0, len(X), batch_size):
        chunk = to_unit_float(torch.as_tensor(X[start:start + batch_size])).double()
        total += chunk.sum().item()
        total_sq += chunk.square().sum().item()
        count += chunk.numel()
    mean = total / count
    std = max((total_sq / count - mean**2) ** 0.5, 1e-6)
    return mean, std


def normalize(x, mode, mean=None, std=None):
    """Standardise a float batch.

    ``"per_image"`` gives each image zero mean and unit variance, which takes
    out most of the exposure and contrast differences between scanners (the
    Kermany test split is shifted in exactly that way); ``"equalize"``
    histogram-equalises each image first, which removes any monotonic
    exposure, contrast or gamma difference, then standardises it;
    ``"dataset"`` uses the training set's mean and std; ``"none"`` centres
    [0, 1] at 0.
    """
    if mode == "equalize":
        return standardize(equalize_histogram(x))
    if mode == "per_image":
        return standardize(x)
    if mode == "dataset":
        return (x - mean) / std
    return x - 0.5


def standardize(x):
    """Each image to zero mean and unit variance."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
    return (x - mean) / std


def equalize_histogram(x, levels=256):
    """Histogram-equalise each image of a [0, 1] batch (on its own device).

    Each pixel becomes the share of its image's pixels that are no brighter
    (on ``levels`` grey levels), so any monotonic change of exposure,
    contrast or gamma gives (up to rounding to grey levels) the same output: the film's own intensity scale
    no longer matters, only the order of its grey levels.
    """
    n = x.shape[0]
    grey = (x.clamp(0, 1) * (levels - 1)).round().long().reshape(n, -1)
    counts = torch.zeros(n, levels, device=x.device).scatter_add_(
        1, grey, torch.ones_like(grey, dtype=torch.float32))
    cdf = counts.cumsum(dim=1)
    # The darkest level present maps to 0, the brightest to 1.
    lowest = cdf.gather(1, grey.min(dim=1, keepdim=True).values)
    mapped = (cdf - lowest) / (cdf[:, -1:] - lowest).clamp_min(1)
    return mapped.clamp_min(0).gather(1, grey).reshape(x.shape).to(x.dtype)
