"""The documentation as a reader sees it: every gallery page shows figures.

The HTML checks read the built documentation in docs/_build/html, so build
it first (the README's ci:test block runs the Sphinx build before pytest):

    python -m sphinx -W -q -b html docs docs/_build/html

Without a build they skip and say so. The checks on the committed figures
need no build.
"""

import importlib.util
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import REPO_ROOT

HTML = REPO_ROOT / "docs" / "_build" / "html"
GALLERY = HTML / "auto_examples"
FIGURES = REPO_ROOT / "docs" / "_static" / "figures"
EXAMPLES = sorted(p.stem for p in (REPO_ROOT / "examples").glob("*.py"))
MAX_FIGURE_BYTES = 100_000

pytestmark = pytest.mark.docs


def gallery_config():
    spec = importlib.util.spec_from_file_location(
        "skcxr_gallery", REPO_ROOT / "docs" / "sphinxext" / "skcxr_gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs).get("src", ""))


def figures_on(page):
    """The PNG files an HTML page shows, resolved on disk; fails on a broken link."""
    parser = _Images()
    parser.feed(page.read_text(encoding="utf-8"))
    files = []
    for src in parser.sources:
        if not src.endswith(".png") or src.startswith(("http:", "https:", "data:")):
            continue
        path = (page.parent / src).resolve()
        assert path.is_file(), f"{page.name} shows {src}, which is not in the build"
        files.append(path)
    return files


@pytest.fixture(scope="module")
def gallery():
    if not (GALLERY / "index.html").is_file():
        pytest.skip(f"documentation not built in {HTML}: run "
                    "'python -m sphinx -W -q -b html docs docs/_build/html' first")
    return GALLERY


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_page_shows_figures(gallery, example):
    page = gallery / f"{example}.html"
    assert page.is_file(), f"no gallery page for examples/{example}.py: rebuild the docs"
    figures = [f for f in figures_on(page) if f.name != "no_image.png"]
    # A real matplotlib figure is tens of KB; a few KB would be a blank canvas.
    assert figures and all(f.stat().st_size > 5_000 for f in figures), (
        f"{page.name} shows no figure: {[f.name for f in figures]}")


def placeholder_thumbnail(tmp_path, size):
    """sphinx-gallery's thumbnail for an example without figures, as it writes it."""
    import sphinx_gallery
    from sphinx_gallery.utils import scale_image

    path = tmp_path / "placeholder.png"
    scale_image(str(Path(sphinx_gallery.__file__).parent / "_static" / "no_image.png"),
                str(path), *size)
    return path.read_bytes()


def test_gallery_index_has_a_figure_thumbnail_per_example(gallery, tmp_path):
    thumbnails = {f.name: f.read_bytes() for f in figures_on(gallery / "index.html")}
    for example in EXAMPLES:
        assert f"sphx_glr_{example}_thumb.png" in thumbnails, example
    # Placeholder thumbnails are all the same image; figures are not.
    assert len(set(thumbnails.values())) == len(thumbnails), "examples share a thumbnail"
    placeholder = placeholder_thumbnail(tmp_path, (400, 280))  # sphinx-gallery's default size
    for name, data in thumbnails.items():
        assert data != placeholder, f"{name} is sphinx-gallery's placeholder: the example has no figure"


@pytest.mark.parametrize("example", sorted(gallery_config().EXECUTED))
def test_executed_example_shows_its_run(gallery, example):
    page = gallery / f"{example.removesuffix('.py')}.html"
    html = page.read_text(encoding="utf-8")
    assert "sphx-glr-script-out" in html, f"{page.name} shows no printed output"
    scraped = [f for f in figures_on(page) if f.name.startswith(f"sphx_glr_{page.stem}_0")]
    assert scraped, f"{page.name} shows no figure made by running it"


def test_committed_figures_are_small_documented_and_used():
    readme = (FIGURES / "README.md").read_text(encoding="utf-8")
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "examples").glob("*.py"))
    files = sorted(FIGURES.rglob("*.png")) + sorted(FIGURES.rglob("*.txt"))
    assert any(f.suffix == ".png" for f in files), f"no committed figures under {FIGURES}"
    for path in files:
        name = path.relative_to(FIGURES).as_posix()
        assert path.stat().st_size <= MAX_FIGURE_BYTES, f"{name} is {path.stat().st_size} bytes"
        assert name in readme, f"{name} is not listed, with its command, in {FIGURES}/README.md"
        assert f"_static/figures/{name}" in sources, f"{name} is shown by no example"
        # Overlays on the dataset's films are never committed.
        assert "gradcam" not in path.name, name


def test_model_card_page_shows_its_figures(gallery):
    figures = figures_on(HTML / "model_card.html")
    # ROC, confusion matrix, reliability and the heatmaps, drawn at build time.
    names = {f.name for f in figures if f.name.startswith("sphx_glr_model_card_")}
    assert len(names) >= 4 and all(f.stat().st_size > 5_000 for f in figures), names


def test_the_docs_hold_at_least_eight_distinct_figures(gallery):
    pages = [HTML / "model_card.html", *sorted(GALLERY.glob("*.html"))]
    contents = {f.read_bytes() for page in pages for f in figures_on(page)
                if "thumb" not in f.name and f.name != "no_image.png"}
    assert len(contents) >= 8, len(contents)


def test_no_page_shows_an_empty_section_navigation(gallery):
    """pydata-sphinx-theme's left sidebar lists a page's sub-pages; without any it is an empty box."""
    for page in sorted(HTML.glob("*.html")):
        html = page.read_text(encoding="utf-8")
        start = html.find('aria-label="Section Navigation"')
        if start < 0:
            continue
        nav = html[start:html.index("</nav>", start)]
        assert "<a " in nav, f"{page.name} shows an empty Section Navigation sidebar"
