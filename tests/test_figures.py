"""Every figure the docs and the report show is readable: no text cut off, no legend over a line.

The docs build runs four examples and saves their figures as drawn; the
other examples' figures are committed PNGs made by a command. Either way a
label outside the canvas is lost ("EUMONIA" for PNEUMONIA) and a legend
over a line hides it. Each example draws its figures in top-level
functions; these tests call them on made-up data of the same shape as the
real data (no training, no data set), together with skcxr.plot's functions
and the report's figures, and check them with
:func:`skcxr.plot._layout.layout_problems`. The docs build checks the
executed examples' figures on the real data as well
(docs/sphinxext/skcxr_figures.py).
"""

import ast

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from conftest import REPO_ROOT  # noqa: E402
from skorch.history import History  # noqa: E402

from skcxr.metrics import screening_report  # noqa: E402
from skcxr.plot import (  # noqa: E402
    plot_confusion_matrix,
    plot_gradcam,
    plot_precision_recall,
    plot_reliability,
    plot_roc,
)
from skcxr.plot._layout import layout_problems  # noqa: E402
from skcxr.screener._figures import draw_curve_figures  # noqa: E402

EXAMPLES = REPO_ROOT / "examples"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def example_functions(name):
    """The imports, constants and top-level functions of examples/NAME.py, without running it.

    The scripts parse arguments, load data and train at import; only their
    definitions are executed here.
    """
    path = EXAMPLES / f"{name}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    kept = [node for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef))
            or (isinstance(node, ast.Assign) and all(
                isinstance(t, ast.Name) and t.id.isupper() for t in node.targets))]
    namespace = {"__name__": f"example_{name}"}
    exec(compile(ast.Module(body=kept, type_ignores=[]), str(path), "exec"), namespace)
    return namespace


def kermany_like(n_normal=234, n_pneumonia=390, seed=0):
    """Labels and scores shaped like a screener's on the Kermany test split."""
    rng = np.random.default_rng(seed)
    y = np.array(["NORMAL"] * n_normal + ["PNEUMONIA"] * n_pneumonia)
    score = np.where(y == "PNEUMONIA", rng.beta(8, 1, len(y)), rng.beta(2, 3, len(y)))
    return y, score


def training_history(n_epochs=6):
    """A skorch History like a CXRClassifier's after ``n_epochs`` epochs."""
    history = History()
    for epoch in range(1, n_epochs + 1):
        history.new_epoch()
        history.record("epoch", epoch)
        history.record("train_loss", 0.5 / epoch)
        history.record("valid_loss", 0.4 / epoch + 0.05 * (epoch % 2))
        history.record("valid_auc", 0.9 + 0.015 * epoch)
    return history


def assert_readable(fig):
    problems = layout_problems(fig)
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the checker itself
def test_checker_finds_a_cut_label_and_a_legend_over_a_line():
    """The two faults of issue 22's figures, drawn as they were drawn."""
    y, score = kermany_like()
    fig, ax = plt.subplots(figsize=(4.5, 4))  # no layout: the model card's confusion matrix
    plot_confusion_matrix(y, score, threshold=0.59, pos_label="PNEUMONIA", ax=ax)
    problems = layout_problems(fig)
    assert any("y-label" in p and "outside the figure" in p for p in problems), problems
    assert any("'PNEUMONIA'" in p for p in problems), problems

    fig, ax = plt.subplots(figsize=(6, 3.5))  # the folder screen's histogram
    ax.hist(score, bins=20, label="films")
    ax.axvline(0.59, color="black", linestyle="--", label="threshold 0.59")
    ax.set_xlabel("P(PNEUMONIA)")
    ax.legend(loc="upper center")
    problems = layout_problems(fig)
    assert any("x-label" in p for p in problems), problems
    assert any("covers the line 'threshold 0.59'" in p for p in problems), problems


def test_checker_passes_a_laid_out_figure_and_ignores_undrawn_ticks():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.plot([0, 1], [0, 1], label="diagonal")
    ax.set(xlabel="x", ylabel="y", title="title")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    assert layout_problems(fig) == []


def test_checker_sees_markers_under_a_legend():
    fig, ax = plt.subplots(figsize=(4, 3), layout="constrained")
    ax.plot([0.1, 0.9], [0.95, 0.05], "s", label="points")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    assert any("covers the line 'points'" in p for p in layout_problems(fig))


# ---------------------------------------------------------------- skcxr.plot and the report
@pytest.mark.parametrize("plot", [plot_roc, plot_precision_recall, plot_confusion_matrix,
                                  plot_reliability])
def test_library_plots_are_readable_on_their_own_figure(plot):
    y, score = kermany_like()
    kwargs = {"pos_label": "PNEUMONIA"}
    if plot is not plot_reliability:
        kwargs["threshold"] = 0.59
    assert_readable(plot(y, score, **kwargs).figure_)


def test_reliability_legend_hides_no_point_of_an_overconfident_model():
    # Overconfident scores put the points in the lower right, where the
    # default legend of CalibrationDisplay sits.
    y, score = kermany_like(seed=1)
    score = np.where(y == "NORMAL", np.clip(score + 0.5, 0, 1), score)
    fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
    for name, s in (("raw", score), ("sigmoid", score ** 2), ("isotonic", np.sqrt(score))):
        plot_reliability(y, s, name=name, pos_label="PNEUMONIA", ax=ax)
    assert_readable(fig)


def test_plot_gradcam_is_readable():
    rng = np.random.default_rng(0)
    titles = [f"{kind}\nP(PNEUMONIA) = 0.97" for kind in
              ("true positive", "false positive", "false negative")]
    assert_readable(plot_gradcam(rng.integers(0, 255, (3, 1, 128, 128)), rng.random((3, 128, 128)),
                                 titles=titles, ncols=3))


@pytest.mark.parametrize("name", [None, "resnet18-kermany-128",
                                  "/models/site_a/finetuned_resnet18_kermany_2026_12.joblib"])
def test_report_figures_are_readable(name):
    y, score = kermany_like()
    figures = draw_curve_figures(y, score, threshold=0.5909, pos_label="PNEUMONIA", name=name)
    for title, figure in figures:
        problems = layout_problems(figure)
        assert not problems, f"{title}: {problems}"
    legend = [t.get_text() for t in figures[0][1].axes[0].get_legend().get_texts()]
    if name and name.startswith("/"):
        assert legend[0].startswith("finetuned_resnet18_…")  # the file name, shortened


# ---------------------------------------------------------------- the examples' figures
def test_model_card_figures():
    f = example_functions("model_card")
    y, score = kermany_like()
    ci = screening_report(y, score, threshold=0.59, pos_label="PNEUMONIA", n_bootstraps=20,
                          random_state=0, output_dict=True)
    assert_readable(f["plot_card_roc"](y, score, 0.5909, "resnet18-kermany-128", ci))
    assert_readable(f["plot_card_confusion_matrix"](y, score, 0.5909))
    assert_readable(f["plot_card_reliability"](y, score, "resnet18-kermany-128"))


def test_screen_a_folder_figure():
    f = example_functions("screen_a_folder")
    y, score = kermany_like(30, 30)
    for threshold in (0.5909, 0.1, 0.9):  # wherever the line falls, nothing covers it
        assert_readable(f["plot_score_histogram"](
            {label: score[y == label] for label in ("NORMAL", "PNEUMONIA")}, threshold))


def test_site_threshold_figure():
    f = example_functions("site_threshold")
    y_val, val_score = kermany_like(130, 392, seed=1)
    y_test, test_score = kermany_like()
    thresholds = {t: np.quantile(val_score[y_val == "PNEUMONIA"], 1 - t)
                  for t in (0.90, 0.95, 0.97, 0.99)}
    assert_readable(f["plot_tradeoff"]({"validation (chooses)": (y_val, val_score),
                                        "test (reports)": (y_test, test_score)}, thresholds))


def test_adapt_to_site_figure():
    f = example_functions("adapt_to_site")
    y, base = kermany_like(60, 90, seed=2)
    _, tuned = kermany_like(60, 90, seed=3)
    curves = {"shipped, card threshold": base, "threshold only": base, "fine-tuned": tuned}
    points = {"shipped, card threshold": (0.55, 0.99), "threshold only": (0.8, 0.95),
              "fine-tuned": (0.9, 0.96)}
    assert_readable(f["plot_before_after"](y, curves, points))


def test_svm_baseline_figure():
    from sklearn.svm import LinearSVC

    f = example_functions("svm_baseline")
    rng = np.random.default_rng(0)
    target = rng.integers(0, 2, 300)
    # Principal components of 1,024 standardised pixels spread over tens of units.
    points = 20 * rng.normal(size=(300, 2)) + 30 * target[:, np.newaxis]
    svm_2d = LinearSVC().fit(points, target)
    fig = f["plot_boundary"](svm_2d, points, target, np.array(["NORMAL", "PNEUMONIA"]),
                             "Test images on 2 PCs of 32 px pixels;\nlinear SVM boundary in 2-D")
    assert_readable(fig)


def test_a_title_wider_than_its_figure_is_found():
    fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    ax.plot([-60, 60], [-40, 40])
    ax.set(xlabel="PC 1", ylabel="PC 2",
           title="Test images on 2 PCs of 32 px pixels; linear SVM boundary in 2-D, one line")
    assert any("title" in p for p in layout_problems(fig))


@pytest.mark.parametrize("name", ["quickstart", "original_cnn"])
def test_training_curves(name):
    f = example_functions(name)
    assert_readable(f["plot_training_curves"](training_history(), "ResNet-18 from scratch, 96 px"))


def test_quickstart_roc():
    f = example_functions("quickstart")
    y, score = kermany_like()
    assert_readable(f["plot_test_roc"](y, score, 0.355))


def test_grid_search_figure():
    f = example_functions("grid_search")
    grid = {"clf__lr": [0.015], "clf__module__channels": [(16, 32, 56), (32, 64, 112)],
            "clf__augmentation": [0.5, 1.5]}
    params = [{"clf__lr": 0.015, "clf__module__channels": c, "clf__augmentation": a}
              for c in grid["clf__module__channels"] for a in grid["clf__augmentation"]]
    results = {"params": params, "mean_test_score": np.array([0.849, 0.836, 0.903, 0.892]),
               "std_test_score": np.array([0.024, 0.027, 0.016, 0.016])}
    assert_readable(f["plot_cv_scores"](results, grid, "GridSearchCV, 600 films at 64 px, 2 epochs"))


def test_screening_workflow_figures():
    f = example_functions("screening_workflow")
    y, score = kermany_like()
    for key, fig in f["plot_operating_curves"](y, score, 0.144).items():
        problems = layout_problems(fig)
        assert not problems, f"{key}: {problems}"
    scores = {"raw": score, "sigmoid": score ** 3, "isotonic": np.round(score, 1)}
    assert_readable(f["plot_calibration"](y, scores))


def test_every_example_figure_function_is_tested():
    """A new figure function in an example must get a test here."""
    tested = {"plot_card_roc", "plot_card_confusion_matrix", "plot_card_reliability",
              "plot_score_histogram", "plot_tradeoff", "plot_boundary", "plot_training_curves",
              "plot_test_roc", "plot_cv_scores", "plot_operating_curves", "plot_calibration",
              "plot_before_after"}
    defined = set()
    for path in EXAMPLES.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined |= {node.name for node in tree.body
                    if isinstance(node, ast.FunctionDef) and node.name.startswith("plot_")}
    assert defined == tested, defined ^ tested


def test_docs_scraper_warns_about_an_unreadable_figure(monkeypatch):
    """The docs build checks the executed examples' figures on the real data (-W fails it)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "skcxr_figures", REPO_ROOT / "docs" / "sphinxext" / "skcxr_figures.py")
    scraper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scraper)
    warnings = []
    monkeypatch.setattr(scraper, "matplotlib_scraper", lambda *args, **kwargs: "scraped")
    monkeypatch.setattr(scraper.logger, "warning", lambda msg, *args: warnings.append(msg % args))
    y, score = kermany_like()
    fig, ax = plt.subplots(figsize=(4.5, 4))
    plot_confusion_matrix(y, score, threshold=0.59, pos_label="PNEUMONIA", ax=ax)
    block_vars = {"src_file": "examples/model_card.py"}
    assert scraper.checked_matplotlib_scraper(None, block_vars, {}) == "scraped"
    assert warnings and all(w.startswith("examples/model_card.py, figure 1: ") for w in warnings)
    assert any("y-label" in w for w in warnings)
    fig.set_layout_engine("constrained")
    warnings.clear()
    scraper.checked_matplotlib_scraper(None, block_vars, {})
    assert warnings == []
