"""A fitted screening model as one estimator, and screening folders of files with it.

:class:`Screener` holds the classifier, its operating threshold, its input
guard and its model card. :func:`screen_files` streams files through it into
worklist rows (what ``skcxr screen`` writes as CSV), :func:`write_report`
renders them as a self-contained HTML page.
"""

from ._cells import decode_worklist_cell
from ._files import discover_files, is_hidden_or_system, sniff_format
from ._labels import folder_labels, patient_groups
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
    "WorklistRow",
    "count_statuses",
    "decode_worklist_cell",
    "discover_files",
    "folder_labels",
    "is_hidden_or_system",
    "patient_groups",
    "positive_class",
    "screen_files",
    "sniff_format",
    "split_loader",
    "worklist_order",
    "write_report",
    "write_worklist",
]
