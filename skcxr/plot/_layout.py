"""Is a figure readable as drawn? Text cut by its edges, legends over plotted lines.

A figure saved without ``bbox_inches="tight"`` (as sphinx-gallery saves the
docs' figures, and as the report's are saved) loses whatever lies outside
its canvas: a y-label reading "EUMONIA", an x-label gone. A legend drawn
over a curve hides the data it explains. :func:`layout_problems` finds both
from the artists' positions after a draw, so a test fails on them instead
of a reader finding them.
"""

import numpy as np

TOLERANCE_PX = 1.0  # anti-aliasing may spill one pixel; more is a cut


def layout_problems(fig):
    """Texts outside ``fig`` and legends lying over lines, as sentences.

    Checks, after ``fig.canvas.draw()``: every visible, non-empty title,
    axis label, tick label, text and legend (of the axes and of the figure)
    lies inside the figure; no legend's box holds a point or crosses a
    segment of a visible line (``Line2D``: curves, markers, reference lines)
    of the axes it sits on.

    Parameters
    ----------
    fig : matplotlib.figure.Figure

    Returns
    -------
    problems : list of str
        Empty when the figure is readable.
    """
    if not hasattr(fig.canvas, "get_renderer"):
        # A Figure made without pyplot has no drawing canvas yet; give it Agg's.
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    problems = []
    for name, artist in _texts(fig):
        if not artist.get_visible() or (hasattr(artist, "get_text") and not artist.get_text()):
            continue  # only what is drawn must fit
        extent = artist.get_window_extent(renderer)
        if (extent.x0 < box.x0 - TOLERANCE_PX or extent.y0 < box.y0 - TOLERANCE_PX
                or extent.x1 > box.x1 + TOLERANCE_PX or extent.y1 > box.y1 + TOLERANCE_PX):
            problems.append(f"{name} lies outside the figure (extent {_fmt(extent)}, figure "
                            f"{_fmt(box)})")
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        frame = legend.get_window_extent(renderer)
        for line in ax.get_lines():
            if line.get_visible() and _crosses(line, frame):
                problems.append(f"the legend of axes {_axes_name(ax)} covers the line "
                                f"{line.get_label()!r}")
    return problems


def _texts(fig):
    """``(name, artist)`` for each text-like artist a reader must see whole."""
    for text in fig.texts:  # suptitle, supxlabel, fig.text(...)
        yield f"the figure text {text.get_text()!r}", text
    for legend in fig.legends:
        yield "a figure legend", legend
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        where = _axes_name(ax)
        yield f"the title of axes {where}", ax.title
        if ax.axison:  # ax.axis("off") draws no axis labels or ticks (images, heatmaps)
            yield f"the x-label of axes {where}", ax.xaxis.label
            yield f"the y-label of axes {where}", ax.yaxis.label
            for axis, letter in ((ax.xaxis, "x"), (ax.yaxis, "y")):
                for label in _drawn_tick_labels(axis):
                    yield f"the {letter} tick label {label.get_text()!r} of axes {where}", label
        for text in ax.texts:
            yield f"the text {text.get_text()!r} of axes {where}", text
        if ax.get_legend() is not None:
            yield f"the legend of axes {where}", ax.get_legend()


def _drawn_tick_labels(axis):
    """Labels of the ticks inside the view limits: matplotlib draws no others."""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * (high - low)
    for tick in axis.get_major_ticks() + axis.get_minor_ticks():
        loc = tick.get_loc()
        if loc is not None and low - slack <= loc <= high + slack:
            yield tick.label1
            yield tick.label2


def _crosses(line, frame):
    """Whether a line's points or segments enter the legend's box (display coordinates)."""
    points = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
    points = points[np.isfinite(points).all(axis=1)]
    if not len(points):
        return False
    inside = ((points[:, 0] > frame.x0) & (points[:, 0] < frame.x1)
              & (points[:, 1] > frame.y0) & (points[:, 1] < frame.y1))
    if inside.any():
        return True
    if line.get_linestyle() in ("None", "none", "", " "):
        return False  # markers only: no segment between them is drawn
    # Segments: sample each at the legend's scale, enough to find a crossing of its box.
    step = max(1.0, min(frame.width, frame.height) / 4)
    for start, end in zip(points[:-1], points[1:]):
        n = int(np.hypot(*(end - start)) // step) + 2
        t = np.linspace(0, 1, n)[:, np.newaxis]
        samples = start + t * (end - start)
        if ((samples[:, 0] > frame.x0) & (samples[:, 0] < frame.x1)
                & (samples[:, 1] > frame.y0) & (samples[:, 1] < frame.y1)).any():
            return True
    return False


def _axes_name(ax):
    label = ax.get_title() or ax.get_xlabel() or ax.get_ylabel()
    return repr(label) if label else f"#{ax.figure.axes.index(ax)}"


def _fmt(bbox):
    return f"x {bbox.x0:.0f}..{bbox.x1:.0f}, y {bbox.y0:.0f}..{bbox.y1:.0f}"
