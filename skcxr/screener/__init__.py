"""A fitted screening model as one estimator, and screening folders of files with it.

:class:`Screener` holds the classifier, its operating threshold, its input
guard and its model card. :func:`screen_files` streams files through it into
worklist rows (what ``skcxr screen`` writes as CSV), :func:`write_report`
renders them as a self-contained HTML page. :func:`population_notice` says
when a screen refused so many films as unlike the training films that the
folder as a whole looks out of the model's population.
"""

from ._files import discover_files, is_hidden_or_system, sniff_format
from ._labels import folder_labels, patient_groups
from ._population import UNLIKE_TRAINING_NOTICE_SHARE, population_notice
from ._report import write_report
from ._screener import Screener, split_loader
from ._worklist import (
    CSV_COLUMNS,
    STATUSES,
    WorklistRow,
    count_statuses,
    positive_class,
    screen_files,
    worklist_order,
    write_worklist,
)

__all__ = [
    "CSV_COLUMNS",
    "STATUSES",
    "Screener",
    "UNLIKE_TRAINING_NOTICE_SHARE",
    "WorklistRow",
    "count_statuses",
    "discover_files",
    "folder_labels",
    "is_hidden_or_system",
    "patient_groups",
    "population_notice",
    "positive_class",
    "screen_files",
    "sniff_format",
    "split_loader",
    "worklist_order",
    "write_report",
    "write_worklist",
]
