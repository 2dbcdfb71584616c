"""sphinx-gallery's matplotlib scraper, checking each figure's layout before saving it.

The docs build saves the executed examples' figures as drawn, at the end of
each section: a label outside the canvas is cut off in the page ("EUMONIA"),
a legend over a line hides it. Each problem that
:func:`skcxr.plot._layout.layout_problems` finds is a Sphinx warning, which
``-W`` turns into a failed build. ``conf.py`` names this scraper by its
dotted name (``skcxr_figures.checked_matplotlib_scraper``).
"""

from sphinx.util import logging
from sphinx_gallery.scrapers import matplotlib_scraper

logger = logging.getLogger(__name__)


def checked_matplotlib_scraper(block, block_vars, gallery_conf, **kwargs):
    """Warn about every unreadable open figure, then scrape them as sphinx-gallery does."""
    import matplotlib.pyplot as plt

    from skcxr.plot._layout import layout_problems

    for number in plt.get_fignums():
        for problem in layout_problems(plt.figure(number)):
            logger.warning("%s, figure %d: %s", block_vars["src_file"], number, problem)
    return matplotlib_scraper(block, block_vars, gallery_conf, **kwargs)
