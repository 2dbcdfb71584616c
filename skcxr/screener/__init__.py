"""A fitted screening model as one estimator, saved without pickles, and screening folders with it.

:class:`Screener` holds the classifier, its operating threshold, its input
guard and its :class:`ModelCard`; :meth:`Screener.save` and
:func:`load_screener` write and read it as a folder of tensors and JSON.
:func:`screen_files` streams files through it into worklist rows (what
``skcxr screen`` writes as CSV), :func:`write_report` renders them as a
self-contained HTML page. :func:`population_notice` says when a screen
refused so many films as unlike the training films that the folder as a
whole looks out of the model's population.
"""

from .._lazy import attach

# Reading a card needs neither torch nor scikit-learn (`skcxr info` reads cards).
__getattr__, __dir__, __all__ = attach(__name__, attributes={
    "._card": ["CardError", "ModelCard"],
    "._cells": ["decode_worklist_cell"],
    "._evaluation": ["evaluate_rows", "format_evaluation"],
    "._files": ["discover_files"],
    "._folder": ["ScreenerFolderError", "load_screener", "read_card", "read_weights",
                 "verify_folder"],
    "._labels": ["folder_labels", "labelled_folder"],
    "._population": ["UNLIKE_TRAINING_NOTICE_SHARE", "population_notice"],
    "._report": ["write_report"],
    "._saved_classifier": ["SavedClassifier"],
    "._screener": ["Screener"],
    "._worklist": ["WorklistRow", "count_statuses", "screen_files", "worklist_order",
                   "write_worklist"],
})
