"""The plot functions check their arguments before drawing (issue 13)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from skcxr.plot import (  # noqa: E402
    plot_confusion_matrix,
    plot_gradcam,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
)

NAMES = np.array(["NORMAL", "PNEUMONIA"])
Y = NAMES[[0, 1, 1, 0, 1, 0]]
SCORE = np.array([0.1, 0.8, 0.4, 0.3, 0.9, 0.6])
CURVES = [plot_roc, plot_precision_recall, plot_confusion_matrix, plot_reliability]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("plot", CURVES)
@pytest.mark.parametrize(
    "y_true, score, kwargs, message",
    [
        (Y, SCORE, {}, "pos_label is required"),  # string labels, pos_label left out
        (Y, SCORE, {"pos_label": "Pneumonia"}, "pos_label='Pneumonia' is not one of"),
        ([], [], {"pos_label": "PNEUMONIA"}, "y_true is empty"),
        (Y, SCORE[:4], {"pos_label": "PNEUMONIA"}, "equal length"),
        (Y, np.where(SCORE > 0.5, np.nan, SCORE), {"pos_label": "PNEUMONIA"}, "contains 3 NaN"),
        (Y, np.c_[1 - SCORE, SCORE], {"pos_label": "PNEUMONIA"}, "must be 1-D scores"),
    ],
    ids=["default-pos-label", "typo", "empty", "lengths", "nan", "2-D"],
)
def test_bad_curve_input_is_named(plot, y_true, score, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot(y_true, score, **kwargs)


@pytest.mark.parametrize("plot", [plot_roc, plot_precision_recall, plot_confusion_matrix])
@pytest.mark.parametrize("threshold", [np.nan, np.inf, "0.5", True])
def test_threshold_must_be_finite(plot, threshold):
    with pytest.raises(ValueError, match=f"'threshold' parameter of {plot.__name__} must be a "
                                         r"float in the range \(-inf, inf\)"):
        plot(Y, SCORE, threshold=threshold, pos_label="PNEUMONIA")


@pytest.mark.parametrize("plot", [plot_roc, plot_precision_recall])
def test_curves_need_both_classes(plot):
    with pytest.raises(ValueError, match="single class .*'NORMAL'.*both classes"):
        plot(["NORMAL"] * 3, [0.1, 0.2, 0.3], pos_label="PNEUMONIA")


def test_reliability_checks_bins_and_probabilities():
    for n_bins in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="'n_bins' parameter of plot_reliability must be an "
                                             r"int in the range \[1, inf\)"):
            plot_reliability(Y, SCORE, n_bins=n_bins, pos_label="PNEUMONIA")
    with pytest.raises(ValueError, match=r"y_prob must be probabilities in \[0, 1\]"):
        plot_reliability(Y, SCORE * 3, pos_label="PNEUMONIA")
    with pytest.raises(ValueError, match="y_prob contains"):
        plot_reliability(Y, np.full(6, np.nan), pos_label="PNEUMONIA")


def test_operating_point_and_confusion_matrix_by_hand():
    # At 0.5: PNEUMONIA scores 0.8, 0.4, 0.9 -> TP 2, FN 1; NORMAL 0.1, 0.3, 0.6 -> TN 2, FP 1.
    roc = plot_roc(Y, SCORE, threshold=0.5, pos_label="PNEUMONIA")
    legend = [t.get_text() for t in roc.ax_.get_legend().get_texts()]
    assert any("sens 0.67, spec 0.67" in text for text in legend), legend
    cm = plot_confusion_matrix(Y, SCORE, threshold=0.5, pos_label="PNEUMONIA")
    np.testing.assert_array_equal(cm.confusion_matrix, [[2, 1], [1, 2]])
    assert [t.get_text() for t in cm.ax_.get_xticklabels()] == ["NORMAL", "PNEUMONIA"]


def test_confusion_matrix_with_only_diseased_cases():
    # Before: the negative label became the integer 0 beside string labels.
    cm = plot_confusion_matrix(["PNEUMONIA"] * 3, [0.2, 0.6, 0.9], pos_label="PNEUMONIA")
    np.testing.assert_array_equal(cm.confusion_matrix, [[0, 0], [1, 2]])
    assert [t.get_text() for t in cm.ax_.get_yticklabels()] == ["not PNEUMONIA", "PNEUMONIA"]


@pytest.mark.parametrize(
    "images, heatmaps, kwargs, message",
    [
        (np.zeros((0, 1, 8, 8)), np.zeros((0, 8, 8)), {}, "images is empty"),
        (np.zeros((2, 1, 8, 8)), np.zeros((3, 8, 8)), {}, "same number of images"),
        (np.zeros((2, 1, 8, 8)), np.zeros((2, 8, 9)), {}, "same height and width"),
        (np.zeros((2, 2, 8, 8)), np.zeros((2, 8, 8)), {}, r"images has shape \(2, 2, 8, 8\)"),
        (np.zeros((2, 8, 8)), np.full((2, 8, 8), np.nan), {}, "heatmaps contains NaN"),
        (np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), {"titles": ["a"]}, "titles has 1 entries for 2"),
        (np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), {"ncols": 0},
         r"'ncols' parameter of plot_gradcam must be an int in the range \[1, inf\)"),
        (np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), {"alpha": 2},
         r"'alpha' parameter of plot_gradcam must be a float in the range \[0.0, 1.0\]"),
    ],
)
def test_plot_gradcam_checks_its_arguments(images, heatmaps, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_gradcam(images, heatmaps, **kwargs)


def test_plot_gradcam_shows_rgb_images_in_colour():
    images = np.zeros((2, 3, 8, 8), np.uint8)
    images[:, 0] = 255  # red
    fig = plot_gradcam(images, np.zeros((2, 8, 8)))
    shown = fig.axes[0].get_images()[0].get_array()
    assert shown.shape == (8, 8, 3) and shown[..., 0].min() == 255 and shown[..., 1].max() == 0
