"""Screening metrics, operating points, reports and scorers."""

from ._checks import check_labels, check_scores, resolve_pos_label
from ._clinical import (
    binary_counts,
    npv_score,
    ppv_score,
    screening_objective,
    sensitivity_score,
    specificity_score,
)
from ._guarantee import InsufficientPositivesError, positives_needed, sensitivity_lower_bound
from ._report import format_screening_report, screening_report
from ._scorers import get_screening_scorer, make_screening_scorer, screening_scorers
from ._threshold import guaranteed_threshold, select_threshold, specificity_at_sensitivity

__all__ = [
    "InsufficientPositivesError",
    "binary_counts",
    "check_labels",
    "check_scores",
    "format_screening_report",
    "guaranteed_threshold",
    "get_screening_scorer",
    "make_screening_scorer",
    "npv_score",
    "positives_needed",
    "ppv_score",
    "resolve_pos_label",
    "screening_objective",
    "screening_report",
    "screening_scorers",
    "select_threshold",
    "sensitivity_lower_bound",
    "sensitivity_score",
    "specificity_at_sensitivity",
    "specificity_score",
]
