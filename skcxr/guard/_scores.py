"""The two novelty scores the input guard combines, each a plain numpy model.

* :class:`FeatureGaussian`: Mahalanobis distance of the classifier's
  penultimate features to the training films' (Lee et al. 2018), with a
  Ledoit-Wolf shrunk covariance. It measures what the network makes of an
  image. The features are not L2-normalised as "Mahalanobis++" (Müller &
  Hein) proposes: on our development model that lost gradients and crops
  (their unusual feature norm is part of what gives them away).
* :class:`ThumbnailPCA`: the negative log-likelihood of a 16x16, per-image
  standardised thumbnail under probabilistic PCA of the training films'
  thumbnails -- a linear autoencoder in the manner of TorchXRayVision's
  reconstruction check. It measures the image itself, independently of what
  the network learned to ignore, so an input that the network happens to map
  near the films (feature collapse) still stands out by its layout.

Both keep their state as arrays (``to_state``/``from_state``) so that a
fitted guard can be stored next to weights that load without unpickling.
"""

import numpy as np
from sklearn.covariance import LedoitWolf

from ._state import THUMBNAIL_SIDE

_EPS = 1e-6


def grey_float(X):
    """A uint8 or [0, 1] float batch ``(n, c, H, W)`` as grey float32 in 0-255, ``(n, H, W)``."""
    X = np.asarray(X)
    grey = X.astype(np.float32).mean(axis=1)
    return grey if X.dtype == np.uint8 else grey * 255


def thumbnails(X, side=THUMBNAIL_SIDE):
    """Area-averaged ``side`` x ``side`` thumbnails, each standardised to zero mean and unit variance.

    Returns an array ``(n, side * side)``; a constant image becomes all zeros.
    """
    grey = grey_float(X)
    rows, columns = _area_weights(grey.shape[1], side), _area_weights(grey.shape[2], side)
    small = (rows @ grey @ columns.T).astype(np.float32).reshape(len(grey), side * side)
    small = small - small.mean(axis=1, keepdims=True)
    return small / (small.std(axis=1, keepdims=True) + _EPS)


def _area_weights(length, side):
    """``(side, length)`` weights that average each of ``side`` bins of a line of pixels.

    The bins of ``torch.nn.functional.adaptive_avg_pool2d``: bin ``i`` spans
    pixels ``floor(i * length / side)`` to ``ceil((i + 1) * length / side)``
    (the guard was fitted with it; numpy gives the same without torch).
    """
    weights = np.zeros((side, length), dtype=np.float32)
    for i in range(side):
        start, end = (i * length) // side, -((-(i + 1) * length) // side)
        weights[i, start:end] = 1 / (end - start)
    return weights


class FeatureGaussian:
    """Squared Mahalanobis distance of features to their training mean (shrunk covariance)."""

    def fit(self, features):
        features = np.asarray(features, dtype=np.float64)
        self.mean_ = features.mean(axis=0)
        self.precision_ = LedoitWolf().fit(features).precision_
        return self

    def score(self, features):
        centred = np.asarray(features, dtype=np.float64) - self.mean_
        # Two BLAS products, not einsum's unoptimised triple loop (10x slower on 512 features).
        return ((centred @ self.precision_) * centred).sum(axis=1)

    def to_state(self, prefix):
        return {f"{prefix}mean": self.mean_, f"{prefix}precision": self.precision_}

    @classmethod
    def from_state(cls, state, prefix):
        model = cls()
        model.mean_ = np.asarray(state[f"{prefix}mean"], dtype=np.float64)
        model.precision_ = np.asarray(state[f"{prefix}precision"], dtype=np.float64)
        return model


class ThumbnailPCA:
    """Negative log-likelihood (up to a constant) of thumbnails under probabilistic PCA.

    Parameters
    ----------
    n_components : int
        Principal components kept; the rest of the variance is isotropic
        noise, so an image that does not lie near the films' subspace scores
        high by its reconstruction error.
    """

    def __init__(self, n_components=32):
        self.n_components = n_components

    def fit(self, thumbs):
        thumbs = np.asarray(thumbs, dtype=np.float64)
        n_samples, n_pixels = thumbs.shape
        n_components = min(self.n_components, n_samples - 1, n_pixels - 1)
        self.mean_ = thumbs.mean(axis=0)
        centred = thumbs - self.mean_
        # The pixel covariance is small (1024 x 1024): its eigendecomposition
        # is faster and steadier than an SVD of thousands of thumbnails.
        variance, vectors = np.linalg.eigh(centred.T @ centred / max(n_samples - 1, 1))
        top = np.argsort(variance)[::-1][:n_components]
        self.variance_ = np.maximum(variance[top], _EPS)
        self.components_ = vectors[:, top].T
        # Isotropic noise: the variance left outside the components, per dimension.
        left = variance.clip(min=0).sum() - self.variance_.sum()
        self.noise_variance_ = float(max(left / (n_pixels - n_components), _EPS))
        return self

    def score(self, thumbs):
        centred = thumbs - self.mean_
        projected = centred @ self.components_.T
        inside = (projected**2 / self.variance_).sum(axis=1)
        residual = (centred**2).sum(axis=1) - (projected**2).sum(axis=1)
        return inside + np.maximum(residual, 0) / self.noise_variance_

    def to_state(self, prefix):
        return {f"{prefix}mean": self.mean_, f"{prefix}components": self.components_,
                f"{prefix}variance": self.variance_,
                f"{prefix}noise_variance": self.noise_variance_}

    @classmethod
    def from_state(cls, state, prefix):
        model = cls(n_components=len(state[f"{prefix}variance"]))
        model.mean_ = np.asarray(state[f"{prefix}mean"], dtype=np.float64)
        model.components_ = np.asarray(state[f"{prefix}components"], dtype=np.float64)
        model.variance_ = np.asarray(state[f"{prefix}variance"], dtype=np.float64)
        model.noise_variance_ = float(state[f"{prefix}noise_variance"])
        return model

