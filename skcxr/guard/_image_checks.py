"""Cheap checks on a decoded batch that name what is wrong with an image.

* A near-constant frame (blank, overexposed, a uniform fill).
* Colour, when the batch has three channels: X-ray films are grey.
* An inverted or rotated film, by correlating the image's thumbnail with
  the mean thumbnail of the training films (the *template*): a negative
  correlates with it as strongly as a film does, only with the sign turned;
  a film turned on its side correlates once turned back.

The template checks use limits learnt from the training films, so they
stay silent on anything that looks like a film in the usual orientation.
"""

import numpy as np

from ._scores import grey_float, thumbnails

# Grey levels spanned by the middle 98% of the pixels (1st to 99th
# percentile) below which a frame holds no picture to read.
MIN_GREY_RANGE = 12
COLOUR_CHROMA = 40  # as in file checks: channels differing by more are coloured
MAX_COLOUR_SHARE = 0.1
# Turns tried for a film on its side or upside down: np.rot90's k.
TURNS = {1: "rotated by 90 degrees", 3: "rotated by 90 degrees", 2: "upside down"}


def frame_reasons(X):
    """Reasons from the pixels alone: near-constant frame, colour. ``""`` when none."""
    grey = grey_float(X).reshape(len(X), -1)
    low, high = np.percentile(grey, [1, 99], axis=1)
    reasons = np.full(len(X), "", dtype=object)
    blank = (high - low) < MIN_GREY_RANGE
    for i in np.flatnonzero(blank):
        reasons[i] = f"near-constant frame (grey levels span {high[i] - low[i]:.0f} of 255)"
    if X.shape[1] == 3:
        share = _colour_share(X)
        for i in np.flatnonzero(~blank & (share > MAX_COLOUR_SHARE)):
            reasons[i] = f"colour picture ({share[i]:.0%} of pixels in colour), not a grey X-ray film"
    return reasons


def _colour_share(X):
    rgb = np.asarray(X, dtype=np.float32)
    if X.dtype != np.uint8:
        rgb = rgb * 255
    return np.mean(rgb.max(axis=1) - rgb.min(axis=1) > COLOUR_CHROMA, axis=(1, 2))


def template_of(X):
    """The standardised mean thumbnail of a batch of films, flattened."""
    template = thumbnails(X).mean(axis=0)
    return (template - template.mean()) / (template.std() + 1e-6)


def template_correlation(X, template):
    """Pearson correlation of each image's thumbnail with the template."""
    return thumbnails(X) @ template / template.size


def orientation_reasons(X, template, low_correlation):
    """Inverted or turned films, from correlations with the template.

    Parameters
    ----------
    X : ndarray (n, c, H, W)
    template : ndarray
        From :func:`template_of` on the training films.
    low_correlation : float
        A low quantile of the training films' correlations with the
        template: below it an image does not match their layout. A film is
        *inverted* when its negative matches, *turned* when it does not
        match as it is but does once turned back. Both need the template to
        mean something, i.e. a positive ``low_correlation``.
    """
    reasons = np.full(len(X), "", dtype=object)
    if low_correlation <= 0:
        return reasons  # the films do not share a layout: nothing to compare with
    corr = template_correlation(X, template)
    for i in np.flatnonzero(-corr >= low_correlation):
        reasons[i] = (f"inverted film (its negative matches the training films' layout: "
                      f"correlation {-corr[i]:.2f}, {corr[i]:.2f} as given)")
    square = X.shape[2] == X.shape[3]
    candidates = np.flatnonzero((reasons == "") & (corr < low_correlation))
    if not square or len(candidates) == 0:
        return reasons
    for k, what in TURNS.items():
        turned = template_correlation(np.rot90(X[candidates], k, axes=(2, 3)), template)
        for i, c in zip(candidates, turned):
            if reasons[i] == "" and c >= low_correlation:
                reasons[i] = (f"{what} (turned back it matches the training films' layout: "
                              f"correlation {c:.2f}, {corr[i]:.2f} as given)")
    return reasons
