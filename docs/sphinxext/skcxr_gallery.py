"""How the docs build runs the gallery in ``examples/``.

sphinx-gallery imports these by their dotted names from ``docs/conf.py``
(callables given by name keep the Sphinx configuration picklable).

Only the examples that train nothing (and the SVM baseline at 32 px)
execute at build time (``EXECUTED``); the others train networks, so their
pages show figures committed under ``docs/_static/figures/`` by the commands
listed in the README there, with how long each took.
"""

import os
from pathlib import Path

# Examples the docs build runs, with the command-line arguments it gives them.
# Paths in the arguments are relative to examples/, where sphinx-gallery runs
# each script; --out goes into the (git-ignored) build folder.
EXECUTED = {
    "svm_baseline.py": ["--quick", "--out", "../docs/_build/gallery-output/svm_baseline_pca.png"],
    # These three only use the shipped screener: seconds, no training.
    "model_card.py": [],
    "screen_a_folder.py": [],
    "site_threshold.py": [],
    # Fine-tunes for 2 epochs on 250 films: the one executed example that trains.
    "adapt_to_site.py": ["--films", "250", "--epochs", "2"],
}

# Reading order of the gallery: the shipped screener first (its card, a
# screen, a site's threshold), then training: the quickstart, the original
# project's models, tuning and the full screening workflow.
ORDER = [
    "model_card.py",
    "screen_a_folder.py",
    "site_threshold.py",
    "adapt_to_site.py",
    "quickstart.py",
    "svm_baseline.py",
    "original_cnn.py",
    "grid_search.py",
    "screening_workflow.py",
]


def filename_pattern():
    """The ``filename_pattern`` regular expression matching ``EXECUTED``."""
    names = "|".join(name.replace(".", r"\.") for name in EXECUTED)
    return rf"{os.sep}({names})$"


def reset_argv(gallery_conf, script_vars):
    """``sys.argv[1:]`` for an example executed by the docs build."""
    name = Path(script_vars["src_file"]).name
    if name not in EXECUTED:
        raise RuntimeError(f"{name} is executed by the docs build but has no arguments in EXECUTED.")
    for i, arg in enumerate(EXECUTED[name][:-1]):
        if arg == "--out":
            (Path(script_vars["src_file"]).parent / EXECUTED[name][i + 1]).parent.mkdir(
                parents=True, exist_ok=True)
    return list(EXECUTED[name])


class ExampleOrder:
    """``within_subsection_order`` key: the examples in ``ORDER``, others after, by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        rank = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return rank, filename
