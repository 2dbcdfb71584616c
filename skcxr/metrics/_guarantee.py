"""A threshold with a stated guarantee: a lower confidence bound on sensitivity reaches the target.

Choosing the highest threshold whose *observed* sensitivity reaches 97% on a
few dozen held-out pneumonia films promises little: the next films may fall
short. Here the threshold is the highest whose one-sided Clopper-Pearson
lower bound for sensitivity, at the stated confidence, reaches the target.
The bound counts films (the unit a screener flags); patients with several
films make it slightly optimistic, and the card says so.
"""

import math

import numpy as np


class InsufficientPositivesError(ValueError):
    """Too few positive films to support a sensitivity target at a confidence.

    Parameters
    ----------
    n_positives : int
        Positive films available.
    min_sensitivity : float
        The sensitivity target, in (0, 1].
    confidence : float
        The confidence of the lower bound, in (0, 1).
    pos_label : int, float, bool or str
        The positive class, as the message names it.
    where : str, default=""
        Where the films are, as the message says it (e.g. " among the 12 held-out patients").
    remedy : str, default=""
        Added to the message's advice to add films (e.g. " (or hold out a larger share
        of the patients)").

    Attributes
    ----------
    n_positives : int
        Positive films available.
    n_needed : int
        Positive films the target needs at this confidence, none missed.
    supportable : float
        The highest sensitivity target these films support at this
        confidence (none missed).
    """

    def __init__(self, n_positives, min_sensitivity, confidence, pos_label, *, where="",
                 remedy=""):
        self.n_positives = int(n_positives)
        self.n_needed = positives_needed(min_sensitivity, confidence)
        self.supportable = supportable_sensitivity(n_positives, confidence)
        kind = pos_label if isinstance(pos_label, str) else f"positive (label {pos_label!r})"
        super().__init__(
            f"{self.n_positives} {kind} film(s){where} cannot show sensitivity >= "
            f"{min_sensitivity:g} with {confidence:.0%} confidence: that needs at least "
            f"{self.n_needed} {kind} films, none of them missed. With "
            f"{self.n_positives} (none missed) the highest target supportable at "
            f"{confidence:.0%} confidence is {math.floor(self.supportable * 1000) / 1000:.3f}. "
            f"Add {kind} films{remedy}, or lower min_sensitivity or confidence and say so.")


def sensitivity_lower_bound(detected, positives, confidence):
    """One-sided Clopper-Pearson lower bound of a sensitivity of ``detected``/``positives``.

    Parameters
    ----------
    detected : int
        Positive films flagged.
    positives : int
        Positive films.
    confidence : float
        In (0, 1), e.g. 0.95.

    Returns
    -------
    bound : float
        0 when nothing was detected.

    Examples
    --------
    >>> round(sensitivity_lower_bound(99, 99, 0.95), 4)
    0.9702
    """
    from scipy.stats import beta

    if positives <= 0:
        return 0.0
    if detected <= 0:
        return 0.0
    return float(beta.ppf(1 - confidence, detected, positives - detected + 1))


def positives_needed(min_sensitivity, confidence):
    """Positive films needed, none missed, for the bound to reach ``min_sensitivity``.

    Parameters
    ----------
    min_sensitivity : float
        The sensitivity target, in (0, 1].
    confidence : float
        Confidence of the lower bound, in (0, 1).

    Returns
    -------
    n : int or float
        The number of films; ``math.inf`` for a target of 1.

    Examples
    --------
    >>> positives_needed(0.97, 0.95)
    99
    """
    if min_sensitivity >= 1:
        return math.inf
    # All detected: the bound is (1 - confidence) ** (1 / n).
    return math.ceil(math.log(1 - confidence) / math.log(min_sensitivity) - 1e-9)


def supportable_sensitivity(n_positives, confidence):
    """The bound with every one of ``n_positives`` detected: the most these films can show."""
    return 0.0 if n_positives <= 0 else (1 - confidence) ** (1 / n_positives)


def guaranteed_operating_point(true_pos, y_score, min_sensitivity, confidence, pos_label):
    """``(threshold, detected, positives, lower bound)`` of the highest threshold meeting the bound.

    ``true_pos`` is a boolean array (the positive class), ``y_score`` the
    positive class's score; a film is flagged when its score reaches the
    threshold.
    """
    positives = int(true_pos.sum())
    if positives_needed(min_sensitivity, confidence) > positives:
        raise InsufficientPositivesError(positives, min_sensitivity, confidence, pos_label)
    # Lowering the threshold through the positives' scores flags one more each
    # time (ties together); the bound grows with every positive flagged.
    scores = np.sort(y_score[true_pos])[::-1]
    for detected in range(1, positives + 1):
        threshold = scores[detected - 1]
        if detected < positives and scores[detected] == threshold:
            continue  # a tie: the threshold flags the whole group or none of it
        bound = sensitivity_lower_bound(detected, positives, confidence)
        if bound >= min_sensitivity:
            return float(threshold), detected, positives, bound
    raise InsufficientPositivesError(positives, min_sensitivity, confidence, pos_label)
