"""Sphinx configuration for skcxr's documentation."""

import skcxr

project = "skcxr"
author = "skcxr developers"
copyright = "2026, skcxr developers"
release = version = skcxr.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autosummary_generate = True
templates_path = ["_templates"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# intersphinx needs the network; keep the build offline and reproducible.
intersphinx_mapping = {}
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
autodoc_inherit_docstrings = False  # inherited sklearn/skorch docs use labels of their own sites
