"""What the command line reports without a traceback."""

import argparse


class UsageError(Exception):
    """A command line that cannot be run as given (exit status 2)."""


def parse_threshold(text):
    """``--threshold``: "screening" or a probability in [0, 1]."""
    if text == "screening":
        return text
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"expected 'screening' or a probability between 0 and 1; got {text!r}"
        )
    return value


def parse_fraction(text):
    """A number strictly between 0 and 1 (``--sensitivity``, ``--confidence``)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1; got {text!r}")
    return value


def parse_rate(text):
    """``--guard-false-rejection``: "auto" or a share between 0 and 1."""
    return text if text == "auto" else parse_fraction(text)


def parse_cv(text):
    """``--cv``: "none" or a number of folds (at least 2)."""
    if text == "none":
        return None
    try:
        folds = int(text)
    except ValueError:
        folds = 0
    if folds < 2:
        raise argparse.ArgumentTypeError(f"expected 'none' or a number of folds >= 2; "
                                         f"got {text!r}")
    return folds
