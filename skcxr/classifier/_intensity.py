"""Intensity scaling of input batches, identical in fit and predict."""

import torch

NORMALIZATIONS = ("per_image", "dataset", "none")


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
    Kermany test split is shifted in exactly that way); ``"dataset"`` uses
    the training set's mean and std; ``"none"`` centres [0, 1] at 0.
    """
    if mode == "per_image":
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True).clamp_min(1e-3)
        return (x - mean) / std
    if mode == "dataset":
        return (x - mean) / std
    return x - 0.5
