"""Sphinx configuration for skcxr's documentation."""

import os
import subprocess
import sys
from pathlib import Path

from sphinx.errors import ConfigError

import skcxr
from skcxr.datasets import get_skcxr_data_home

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "sphinxext"))

import skcxr_gallery  # noqa: E402 (found through the sys.path entry above)

project = "skcxr"
author = "skcxr developers"
copyright = "2026, skcxr developers"
release = version = skcxr.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "skcxr_codes",
]
autosummary_generate = True
templates_path = ["_templates"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# intersphinx needs the network; keep the build offline and reproducible.
intersphinx_mapping = {}
exclude_patterns = ["_build", "_generated"]

# The accuracy and model-card tables are rendered from benchmarks/results/*.json
# and the shipped card (no number typed by hand), into _generated/ (included).
subprocess.run([sys.executable, str(DOCS.parent / "benchmarks" / "tables.py"), "--docs-only"],
               check=True)
nitpicky = False
autodoc_inherit_docstrings = False  # inherited sklearn/skorch docs use labels of their own sites

# -- Theme: scikit-learn's -----------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skcxr {version}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sg_download_links", "sg_launcher_links"],
    # No external icons or version switcher: nothing fetched when a page opens.
    "icon_links": [],
    "navigation_with_keys": False,
}
html_show_sourcelink = False
# Example pages use the full width for their code and figures, as scikit-learn's do;
# so do the top-level pages without sub-pages, whose section navigation would be empty.
html_sidebars = {"auto_examples/*": [], "model_card": [], "cli": [], "input_guard": [],
                 "benchmarks": [], "user_guide": [], "scaling": [], "multi_gpu": []}

# -- Gallery: examples/ -> auto_examples/ -------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Only the examples that run in seconds execute here; see sphinxext/skcxr_gallery.py.
    "filename_pattern": skcxr_gallery.filename_pattern(),
    "reset_argv": "skcxr_gallery.reset_argv",
    "within_subsection_order": "skcxr_gallery.ExampleOrder",
    # "Examples using X" thumbnails on the API pages (templates in _templates/autosummary).
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skcxr",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_signature": False,
    "min_reported_time": 1,
    # Each figure's layout is checked before it is saved (sphinxext/skcxr_figures.py):
    # a label cut off or a legend over a line is a warning, so -W fails the build.
    "image_scrapers": ("skcxr_figures.checked_matplotlib_scraper",),
}


def _find_data(app, config):
    """Fail early, and say how to go on, when executed examples would lack their data.

    Like the tests, fall back to ../shared/data beside the repository when
    $SKCXR_DATA is unset.
    """
    if str(config.plot_gallery).strip().lower() in {"0", "false", "none", ""}:
        return  # -D plot_gallery=0: nothing executes
    home = get_skcxr_data_home()
    beside = DOCS.parent.parent / "shared" / "data"
    if not os.environ.get("SKCXR_DATA") and not (home / "chest_xray").is_dir() \
            and (beside / "chest_xray").is_dir():
        os.environ["SKCXR_DATA"] = str(beside)
        home = beside
    if not (home / "chest_xray" / "train").is_dir():
        raise ConfigError(
            f"The gallery runs {', '.join(sorted(skcxr_gallery.EXECUTED))} on the Kermany "
            f"chest X-ray set, which is not under {home}/chest_xray. Point SKCXR_DATA at the "
            "folder holding chest_xray/ (skcxr.datasets.fetch_chest_xray downloads it), or "
            "build without running any example: python -m sphinx -D plot_gallery=0 ..."
        )


def setup(app):
    app.connect("config-inited", _find_data)
