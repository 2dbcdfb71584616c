"""Splitting by patient: every patient's films on one side of a split."""

from ._split import patient_split

__all__ = ["patient_split"]
