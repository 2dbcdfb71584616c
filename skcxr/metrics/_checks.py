"""Input checks shared by the metrics and the plots: errors that name the argument.

A screening metric fed the wrong positive class does not fail on its own: it
counts every case as negative and reports sensitivity 0 or NaN. These checks
turn such misuse into a ``ValueError`` before anything is computed.
"""

import numbers

import numpy as np

from .._compat import Interval, Options, StrOptions

# Constraints for scikit-learn's ``validate_params`` (the decorator
# sklearn.metrics uses on its own public functions).
POS_LABEL = [numbers.Real, str, "boolean", None]
ZERO_DIVISION = [Options(numbers.Real, {0.0, 1.0}), "nan", StrOptions({"warn"})]
FINITE = Interval(numbers.Real, None, None, closed="neither")


def check_fraction(value, name, *, include_one=True):
    """Return ``value`` as a float in (0, 1] (in (0, 1) if not ``include_one``).

    A value between 1 and 100 is most likely a percentage; the message says
    which fraction to pass instead.
    """
    number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if number and (0 < value < 1 or (include_one and value == 1)):
        return float(value)
    hint = ""
    if number and 1 < value <= 100:
        hint = (f" It is a fraction, not a percentage: if you meant {value:g}%, "
                f"pass {value / 100:g}.")
    interval = "(0, 1]" if include_one else "(0, 1)"
    raise ValueError(f"{name} must be a number in {interval}; got {value!r}.{hint}")


def resolve_pos_label(y_true, pos_label):
    """``pos_label``, or for None the 1 that labels 0/1, -1/1 or False/True imply.

    As scikit-learn's ``roc_curve``: with any other labels (1/2, "NORMAL" /
    "PNEUMONIA") which one is diseased cannot be assumed. Taking 1 there
    would compute every metric for the healthy class (a user coding 1 =
    normal, 2 = pneumonia would read the specificity as the sensitivity),
    so it is an error that asks for ``pos_label``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    pos_label : int, float, bool, str or None
        The diseased class, or None.

    Returns
    -------
    pos_label : int, float, bool or str
        ``pos_label`` itself, or 1.

    Raises
    ------
    ValueError
        For ``pos_label=None`` with labels other than 0/1, -1/1 or False/True.
    """
    if pos_label is not None:
        return pos_label
    try:
        present = np.unique(np.asarray(y_true).ravel())
    except TypeError:
        return 1  # labels of mixed types: check_labels names that problem
    if present.dtype.kind == "f" and np.isnan(present).any() or len(present) > 2:
        return 1  # check_labels names the NaN, or the labels that are not binary
    values = present.tolist()
    if all(not isinstance(v, str) for v in values) and (set(values) <= {0, 1}
                                                        or set(values) <= {-1, 1}):
        return 1
    likely = next((v for v in values if str(v).strip().upper() == "PNEUMONIA"), None)
    hint = (f"pos_label={likely!r} (or your diseased class)" if likely is not None else
            f"the diseased class as pos_label (one of {values[:10]})")
    raise ValueError(
        f"pos_label is required: the labels {values[:10]} are not 0/1, -1/1 or False/True, so "
        f"which one is the diseased class cannot be assumed. Pass {hint}.")


def _unique_labels(y, name):
    try:
        return np.unique(y)
    except TypeError:  # e.g. None mixed with strings in an object array
        raise ValueError(
            f"The labels of {name} cannot be compared with each other (mixed types?): "
            f"{list(y[:10])}."
        ) from None


def _check_1d(y, name):
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label or score per case); got shape {y.shape}.")
    if len(y) == 0:
        raise ValueError(f"{name} is empty: there is no case to score.")
    return y


def check_labels(y_true, pos_label, *, y_pred=None):
    """Return ``y_true`` (and ``y_pred``) as 1-D arrays of binary labels.

    ``pos_label`` must be one of the labels when both classes occur (as in
    scikit-learn). When only one label occurs, ``pos_label`` may be the
    missing class, but must be of the same kind (a string for string labels,
    a number for numeric ones): ``pos_label=1`` for ``"NORMAL"`` and
    ``"PNEUMONIA"`` labels is always a mistake.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    pos_label : int, float, bool or str
        The diseased class.
    y_pred : array-like of shape (n_samples,), default=None
        Predicted labels, checked with ``y_true``.

    Returns
    -------
    y_true : ndarray of shape (n_samples,)
        The labels as an array.
    y_pred : ndarray of shape (n_samples,)
        Only when ``y_pred`` is given.

    Raises
    ------
    ValueError
        Naming the problem: not 1-D, empty, NaN, more than two labels, or a
        ``pos_label`` that cannot be one of the labels.
    """
    y_true = _check_1d(y_true, "y_true")
    arrays = [y_true]
    if y_pred is not None:
        y_pred = np.asarray(y_pred)
        if y_pred.shape != y_true.shape:
            raise ValueError(
                f"y_true and y_pred must be 1-D of equal length; got shapes "
                f"{y_true.shape} and {y_pred.shape}."
            )
        arrays.append(y_pred)
    for y, name in zip(arrays, ("y_true", "y_pred")):
        if y.dtype.kind == "f" and np.isnan(y).any():
            raise ValueError(f"{name} contains NaN; every case needs a label.")
    labels = _unique_labels(np.concatenate(arrays) if y_pred is not None else y_true,
                            "y_true and y_pred" if y_pred is not None else "y_true")
    if len(labels) > 2:
        raise ValueError(
            f"Expected binary labels; got {len(labels)}: {labels[:10].tolist()}."
        )
    present = labels.tolist()
    if any(_same_label(label, pos_label) for label in present):
        return (y_true, y_pred) if y_pred is not None else y_true
    if len(present) == 2:
        raise ValueError(
            f"pos_label={pos_label!r} is not one of the labels {present}; pass the "
            "diseased class (e.g. pos_label='PNEUMONIA' for string labels)."
        )
    textual = labels.dtype.kind in "US" or all(isinstance(v, str) for v in present)
    if textual != isinstance(pos_label, str):
        kind = "strings" if textual else "numbers"
        raise ValueError(
            f"pos_label={pos_label!r} cannot be a label here: the labels are {kind} "
            f"({present}). Pass the diseased class as it is written in the labels "
            "(e.g. pos_label='PNEUMONIA')."
        )
    return (y_true, y_pred) if y_pred is not None else y_true


def _same_label(label, pos_label):
    # A number never equals a string here (numpy would compare "1" and 1 loosely).
    if isinstance(label, str) != isinstance(pos_label, str):
        return False
    return label == pos_label


def check_scores(y_score, y_true, *, name="y_score"):
    """Return ``y_score`` as a finite 1-D float array as long as ``y_true``.

    Parameters
    ----------
    y_score : array-like of shape (n_samples,)
        Scores of the positive class.
    y_true : array-like of shape (n_samples,)
        The labels the scores go with.
    name : str, default="y_score"
        How error messages name ``y_score``.

    Returns
    -------
    y_score : ndarray of shape (n_samples,)
        As floats.

    Raises
    ------
    ValueError
        When ``y_score`` is not 1-D, not numeric, of another length than
        ``y_true``, or holds NaN or infinite values.
    """
    y_score = np.asarray(y_score)
    if y_score.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D scores of the positive class; got shape {y_score.shape}. "
            "Pass predict_proba(X)[:, 1] (the column of the positive class)."
        )
    if y_score.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must hold numeric scores; got dtype {y_score.dtype} "
            f"(first values {y_score[:3].tolist()}). Labels go in y_true."
        )
    if y_score.shape != np.shape(y_true):
        raise ValueError(
            f"y_true and {name} must be 1-D of equal length; got shapes "
            f"{np.shape(y_true)} and {y_score.shape}."
        )
    y_score = y_score.astype(float)
    bad = ~np.isfinite(y_score)
    if bad.any():
        raise ValueError(
            f"{name} contains {bad.sum()} NaN or infinite value(s) (first at index "
            f"{np.flatnonzero(bad)[0]}); a model that outputs them has failed."
        )
    return y_score


def check_both_classes(y_true, pos_label, what):
    """A ``ValueError`` unless ``y_true`` holds the positive class and another one.

    ``what`` names what needs both (a sentence part, e.g. "a screening
    report"): on one class sensitivity or specificity has no denominator,
    and a NaN or a silent default in their place is easily misread.
    """
    present = _unique_labels(y_true, "y_true").tolist()
    if len(present) == 2:
        return
    missing = ("the positive class " + repr(pos_label)) if present != [pos_label] else \
        "a case of another class than " + repr(pos_label)
    undefined = "sensitivity" if present != [pos_label] else "specificity"
    raise ValueError(
        f"y_true holds only {present[0]!r}: {what} needs both classes, and without "
        f"{missing} {undefined} is undefined. For films of one class alone, use "
        "sensitivity_score or specificity_score, which say so."
    )


def check_probabilities(y_score, *, name="y_score", why=""):
    """A ``ValueError`` unless every score lies in [0, 1]: logits and decision values do not."""
    low, high = float(np.min(y_score)), float(np.max(y_score))
    if low < 0 or high > 1:
        raise ValueError(
            f"{name} must be probabilities in [0, 1]{why}; got values from {low:.4g} to "
            f"{high:.4g}. Pass predict_proba(X)[:, 1] (not logits or decision_function), or "
            "say scores='decision' and give the threshold on that scale."
        )
