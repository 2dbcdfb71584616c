"""Pretrained screeners shipped with skcxr: named, checksummed, documented, offline.

Each comes with a model card (:func:`get_card`): intended use, training data
and recipe, the screening threshold and how it was chosen, validation and
test metrics with confidence intervals, known limitations.
"""

from ._registry import (
    get_card,
    get_weights,
    list_pretrained,
    load_pretrained,
    pretrained_folder,
    unreadable_entries,
    verify_files,
)

__all__ = ["get_card", "get_weights", "list_pretrained", "load_pretrained", "pretrained_folder",
           "unreadable_entries", "verify_files"]
