import warnings

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate

from skcxr.metrics import (
    binary_counts,
    format_screening_report,
    get_screening_scorer,
    make_screening_scorer,
    npv_score,
    ppv_score,
    screening_objective,
    screening_report,
    screening_scorers,
    select_threshold,
    sensitivity_score,
    specificity_at_sensitivity,
    specificity_score,
)

# Hand-computed: y_true 1 1 1 0 0 0 0 1, y_pred 1 0 1 0 1 0 0 1
#                 TP FN TP TN FP TN TN TP  ->  TP 3, FN 1, TN 3, FP 1
Y_TRUE = [1, 1, 1, 0, 0, 0, 0, 1]
Y_PRED = [1, 0, 1, 0, 1, 0, 0, 1]


def test_counts_and_rates_by_hand():
    assert binary_counts(Y_TRUE, Y_PRED) == (3, 1, 3, 1)
    assert sensitivity_score(Y_TRUE, Y_PRED) == 3 / 4
    assert specificity_score(Y_TRUE, Y_PRED) == 3 / 4
    assert ppv_score(Y_TRUE, Y_PRED) == 3 / 4
    assert npv_score(Y_TRUE, Y_PRED) == 3 / 4
    # An asymmetric case: TP 2, FN 0, TN 1, FP 2 (y 1 1 0 0 0, pred 1 1 1 1 0).
    y, p = [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]
    assert sensitivity_score(y, p) == 1.0
    assert specificity_score(y, p) == 1 / 3
    assert ppv_score(y, p) == 0.5
    assert npv_score(y, p) == 1.0


def test_string_labels():
    names = np.array(["NORMAL", "PNEUMONIA"])
    y, p = names[Y_TRUE], names[Y_PRED]
    assert specificity_score(y, p, pos_label="PNEUMONIA") == 0.75
    with pytest.raises(ValueError, match="pos_label is required: the labels"):
        sensitivity_score(y, p)


@pytest.mark.parametrize(
    "metric, y_true, y_pred",
    [
        (sensitivity_score, [0, 0, 0, 0], [0, 1, 0, 0]),  # no diseased case
        (specificity_score, [1, 1, 1, 1], [1, 0, 1, 1]),  # no healthy case
        (ppv_score, [1, 0, 1, 0], [0, 0, 0, 0]),  # nothing called positive
        (npv_score, [1, 0, 1, 0], [1, 1, 1, 1]),  # nothing called negative
    ],
)
def test_missing_class_warns_and_returns_defined_value(metric, y_true, y_pred):
    with pytest.warns(UndefinedMetricWarning, match="undefined"):
        assert metric(y_true, y_pred) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(metric(y_true, y_pred, zero_division=np.nan))
        assert metric(y_true, y_pred, zero_division=1.0) == 1.0


def test_bad_metric_input():
    with pytest.raises(ValueError, match="equal length"):
        sensitivity_score([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="binary"):
        sensitivity_score([0, 1, 2], [0, 1, 2])


def test_select_threshold_meets_sensitivity_on_validation_scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    score = np.clip(0.3 * y + rng.normal(0.35, 0.2, 400), 0, 1)
    for target in (0.8, 0.9, 0.95, 0.99):
        t = select_threshold(y, score, min_sensitivity=target)
        assert sensitivity_score(y, (score >= t).astype(int)) >= target
        # Any higher threshold would miss the target: t is the most specific choice.
        higher = np.unique(score[score > t])
        if len(higher):
            assert sensitivity_score(y, (score >= higher[0]).astype(int)) < target
        assert specificity_at_sensitivity(y, score, min_sensitivity=target) == pytest.approx(
            specificity_score(y, (score >= t).astype(int)))


def test_screening_objective_prefers_meeting_the_target():
    y = [1, 1, 1, 1, 0, 0, 0, 0]
    meets = [1, 1, 1, 1, 1, 1, 0, 0]  # sens 1.0, spec 0.5
    misses = [1, 1, 1, 0, 0, 0, 0, 0]  # sens 0.75, spec 1.0
    assert screening_objective(y, meets, min_sensitivity=0.9) == 0.5
    assert screening_objective(y, misses, min_sensitivity=0.9) == -0.25


def test_report_by_hand_and_intervals_contain_point():
    score = np.array([0.9, 0.3, 0.8, 0.2, 0.6, 0.1, 0.4, 0.7])
    report = screening_report(Y_TRUE, score, threshold=0.5, n_bootstraps=200,
                              random_state=0, output_dict=True)
    assert report["counts"] == {"tp": 3, "fp": 1, "tn": 3, "fn": 1}
    assert report["sensitivity"]["value"] == 0.75 and report["f1"]["value"] == 0.75
    for name in ("auc", "accuracy", "sensitivity", "specificity", "ppv", "npv", "f1"):
        entry = report[name]
        assert entry["ci_low"] <= entry["value"] <= entry["ci_high"], name
    text = screening_report(Y_TRUE, score, threshold=0.5, n_bootstraps=50, random_state=0)
    assert "Sensitivity" in text and "TP 3" in text and "95% CI" in text


def _noisy(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, np.clip(0.25 * y + rng.normal(0.4, 0.2, n), 0, 1)


def test_intervals_shrink_with_more_samples():
    widths = []
    for n in (100, 1600):
        y, score = _noisy(n, 1)
        r = screening_report(y, score, n_bootstraps=300, random_state=0, output_dict=True)
        widths.append(r["auc"]["ci_high"] - r["auc"]["ci_low"])
    assert widths[1] < widths[0] / 2  # about 1/sqrt(16) = 1/4 expected


def test_patient_level_bootstrap_is_wider_for_correlated_images():
    # Each patient has 8 near-identical images: image-level resampling
    # pretends there are 8x as many independent cases.
    y_patient, s_patient = _noisy(60, 2)
    y, score = np.repeat(y_patient, 8), np.repeat(s_patient, 8)
    groups = np.repeat(np.arange(60), 8)
    by_image = screening_report(y, score, n_bootstraps=300, random_state=0, output_dict=True)
    by_patient = screening_report(y, score, groups=groups, n_bootstraps=300, random_state=0,
                                  output_dict=True)
    width = lambda r: r["auc"]["ci_high"] - r["auc"]["ci_low"]  # noqa: E731
    assert width(by_patient) > 2 * width(by_image)
    assert by_patient["n_groups"] == 60


def test_scorers_by_name_and_object_in_search():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=120) > 0, "PNEUMONIA", "NORMAL")
    scorers = screening_scorers(pos_label="PNEUMONIA")
    result = cross_validate(LogisticRegression(), X, y, scoring=scorers, cv=3)
    assert all(0 <= result[f"test_{name}"].mean() <= 1 for name in scorers)
    search = GridSearchCV(LogisticRegression(), {"C": [0.01, 1.0]},
                          scoring=get_screening_scorer("specificity_at_sensitivity_90",
                                                       pos_label="PNEUMONIA"),
                          cv=3).fit(X, y)
    assert search.best_score_ > 0.5
    with pytest.raises(ValueError, match="Unknown scorer 'youden'.*get_scorer_names"):
        get_screening_scorer("youden")


def test_screening_scorer_in_threshold_tuning():
    from sklearn.model_selection import TunedThresholdClassifierCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    tuned = TunedThresholdClassifierCV(LogisticRegression(), scoring=make_screening_scorer(0.95),
                                       cv=5, random_state=0).fit(X, y)
    assert tuned.best_threshold_ < 0.5  # high sensitivity means a low threshold
    assert sensitivity_score(y, tuned.predict(X)) >= 0.9


# ---------------------------------------------------------------- misuse (issue 13)
NAMES = np.array(["NORMAL", "PNEUMONIA"])
Y_TEXT = NAMES[Y_TRUE]
SCORE = np.array([0.9, 0.3, 0.8, 0.2, 0.6, 0.1, 0.4, 0.7])


@pytest.mark.parametrize("pos_label", [1, "Pneumonia", "pneumonia", 0])
@pytest.mark.parametrize(
    "call",
    [
        lambda pl: sensitivity_score(Y_TEXT, NAMES[Y_PRED], pos_label=pl),
        lambda pl: specificity_score(Y_TEXT, NAMES[Y_PRED], pos_label=pl),
        lambda pl: ppv_score(Y_TEXT, NAMES[Y_PRED], pos_label=pl),
        lambda pl: npv_score(Y_TEXT, NAMES[Y_PRED], pos_label=pl),
        lambda pl: binary_counts(Y_TEXT, NAMES[Y_PRED], pos_label=pl),
        lambda pl: screening_objective(Y_TEXT, NAMES[Y_PRED], pos_label=pl),
        lambda pl: screening_report(Y_TEXT, SCORE, pos_label=pl, n_bootstraps=0),
        lambda pl: select_threshold(Y_TEXT, SCORE, pos_label=pl),
        lambda pl: specificity_at_sensitivity(Y_TEXT, SCORE, pos_label=pl),
    ],
    ids=["sensitivity", "specificity", "ppv", "npv", "counts", "objective", "report",
         "select_threshold", "spec_at_sens"],
)
def test_pos_label_not_among_the_labels_is_an_error(call, pos_label):
    # Before: screening_report reported sensitivity NaN, PPV 0 and NPV 1.
    with pytest.raises(ValueError, match=f"pos_label={pos_label!r} is not one of the labels"):
        call(pos_label)


def test_pos_label_of_the_wrong_kind_with_one_label_present():
    # A test set of NORMAL films only: PNEUMONIA may be absent, but 1 is no label at all.
    normal = np.array(["NORMAL"] * 4)
    with pytest.raises(ValueError, match="pos_label is required: the labels \\['NORMAL'\\]"):
        screening_report(normal, [0.1, 0.2, 0.3, 0.9], n_bootstraps=0)
    with pytest.raises(ValueError, match="pos_label=1 cannot be a label here: the labels are str"):
        screening_report(normal, [0.1, 0.2, 0.3, 0.9], pos_label=1, n_bootstraps=0)
    # The right pos_label on one class: no report of NaNs, a clear error (below).
    with pytest.raises(ValueError, match="y_true holds only 'NORMAL'"):
        screening_report(normal, [0.1, 0.2, 0.3, 0.9], pos_label="PNEUMONIA", n_bootstraps=0)
    assert specificity_score(normal, np.where([0, 0, 0, 1], "PNEUMONIA", "NORMAL"),
                             pos_label="PNEUMONIA") == 0.75
    with pytest.raises(ValueError, match="labels are numbers"):
        specificity_score([0, 0], [0, 0], pos_label="PNEUMONIA")


def test_scorers_check_pos_label_when_scoring():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = NAMES[(X[:, 0] > 0).astype(int)]
    model = LogisticRegression().fit(X, y)
    for scorer in [get_screening_scorer("sensitivity"), make_screening_scorer(0.9),
                   get_screening_scorer("specificity_at_sensitivity_95")]:
        # scikit-learn's scorer or our metric refuses it, whichever looks first.
        with pytest.raises(ValueError, match="pos_label is required|pos_label=1 is not"):
            scorer(model, X, y)


@pytest.mark.parametrize(
    "call",
    [
        lambda ms: select_threshold(Y_TRUE, SCORE, min_sensitivity=ms),
        lambda ms: specificity_at_sensitivity(Y_TRUE, SCORE, min_sensitivity=ms),
        lambda ms: screening_objective(Y_TRUE, Y_PRED, min_sensitivity=ms),
        lambda ms: make_screening_scorer(ms),
        lambda ms: screening_scorers(min_sensitivity=ms),
    ],
    ids=["select_threshold", "spec_at_sens", "objective", "make_scorer", "scorers"],
)
def test_min_sensitivity_outside_zero_one(call):
    # Before: select_threshold(min_sensitivity=95) raised IndexError and
    # make_screening_scorer(95) was accepted (and flagged 99.5% of cases).
    with pytest.raises(ValueError, match=r"in \(0, 1\]; got 95\. .*pass 0\.95"):
        call(95)
    for bad in (0, -0.1, 1.01, float("nan"), True, "0.95"):
        with pytest.raises(ValueError, match="min_sensitivity must be a number in"):
            call(bad)
    call(1.0)  # a target of 100% is valid


def test_scorer_names_with_impossible_percentages():
    with pytest.raises(ValueError, match="percentage must be in 1-100"):
        get_screening_scorer("specificity_at_sensitivity_0")
    with pytest.raises(ValueError, match="percentage must be in 1-100"):
        get_screening_scorer("specificity_at_sensitivity_950")


def test_report_parameters_are_checked_before_any_work(monkeypatch):
    from skcxr.metrics import _report

    def no_work(*args, **kwargs):
        raise AssertionError("a bootstrap ran before the parameters were checked")

    monkeypatch.setattr(_report, "_bootstrap_weights", no_work)
    with pytest.raises(ValueError, match="confidence must be a number in \\(0, 1\\); got 95.*0.95"):
        screening_report(Y_TRUE, SCORE, confidence=95)
    with pytest.raises(ValueError, match="confidence must be"):
        screening_report(Y_TRUE, SCORE, confidence=1.0)
    for bad in (-1, 2.5, "100", None):
        with pytest.raises(ValueError, match="'n_bootstraps' parameter of screening_report"):
            screening_report(Y_TRUE, SCORE, n_bootstraps=bad)
    for bad in (float("nan"), float("inf"), "0.5"):
        with pytest.raises(ValueError, match="'threshold' parameter of screening_report"):
            screening_report(Y_TRUE, SCORE, threshold=bad)
    with pytest.raises(ValueError, match="groups has shape"):
        screening_report(Y_TRUE, SCORE, groups=[1, 2, 3])
    with pytest.raises(ValueError, match="groups contains NaN"):
        screening_report(Y_TRUE, SCORE, groups=[1, 2, 3, 4, np.nan, 6, 7, 8])
    # n_bootstraps=0 stays valid: point estimates only.
    report = screening_report(Y_TRUE, SCORE, n_bootstraps=0, output_dict=True)
    assert report["sensitivity"]["value"] == 0.75 and np.isnan(report["auc"]["ci_low"])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "call",
    [
        lambda s: screening_report(Y_TRUE, s, n_bootstraps=0),
        lambda s: select_threshold(Y_TRUE, s),
        lambda s: specificity_at_sensitivity(Y_TRUE, s),
    ],
    ids=["report", "select_threshold", "spec_at_sens"],
)
def test_non_finite_scores_name_y_score(call, bad):
    score = SCORE.copy()
    score[3] = bad
    with pytest.raises(ValueError, match="y_score contains 1 NaN or infinite value.*index 3"):
        call(score)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: screening_report(Y_TRUE, NAMES[Y_TRUE]), "y_score must hold numeric scores"),
        (lambda: screening_report(Y_TRUE, SCORE[:5]), "equal length"),
        (lambda: screening_report(Y_TRUE, np.c_[1 - SCORE, SCORE]), r"predict_proba\(X\)\[:, 1\]"),
        (lambda: screening_report([], [], n_bootstraps=0), "y_true is empty"),
        (lambda: sensitivity_score([], []), "y_true is empty"),
        (lambda: sensitivity_score([0, 1, np.nan], [0, 1, 1]), "y_true contains NaN"),
        (lambda: sensitivity_score([0, 1, None], [0, 1, 1]), "cannot be compared"),
        (lambda: sensitivity_score([0, 1], [0, 1], zero_division=5),
         "'zero_division' parameter of sensitivity_score"),
        (lambda: select_threshold([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4]),
         "no case of the positive class"),
        (lambda: select_threshold([1, 1, 1, 1], [0.1, 0.2, 0.3, 0.4]), "only the positive class"),
        (lambda: sensitivity_score([[0, 1]], [[0, 1]]), "y_true must be 1-D"),
    ],
)
def test_unclear_inputs_get_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_get_screening_scorer_is_a_superset_of_scikit_learns():
    from sklearn.metrics import get_scorer as sklearn_get_scorer

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    for name in ("roc_auc", "accuracy", "neg_log_loss", "recall"):
        assert get_screening_scorer(name)(model, X, y) == sklearn_get_scorer(name)(model, X, y)
    assert get_screening_scorer(None) is None
    assert get_screening_scorer("sensitivity")(model, X, y) == sensitivity_score(y, model.predict(X))
    # pos_label is only ours to apply: never silently dropped for scikit-learn's scorers.
    with pytest.raises(ValueError, match="pos_label='PNEUMONIA' applies only to skcxr"):
        get_screening_scorer("recall", pos_label="PNEUMONIA")


def test_screening_scorers_keep_an_exact_target():
    scorers = screening_scorers(min_sensitivity=0.955)
    assert "specificity_at_sensitivity_95.5" in scorers
    assert screening_scorers()["specificity_at_sensitivity_95"]._kwargs["min_sensitivity"] == 0.95


def test_format_screening_report_needs_a_report():
    report = screening_report(Y_TRUE, SCORE, n_bootstraps=0, output_dict=True)
    assert "Sensitivity" in format_screening_report(report)
    with pytest.raises(ValueError, match="lacks \\['n_groups'\\]"):
        format_screening_report({k: v for k, v in report.items() if k != "n_groups"})
    with pytest.raises(ValueError, match="got str"):
        format_screening_report("Screening report: ...")


# ------------------------------------------- honest metrics (issue: trustworthy by default)
@pytest.mark.parametrize("y_true, undefined", [([0, 0, 0, 0], "sensitivity"),
                                               ([1, 1, 1, 1], "specificity")])
def test_screening_report_on_one_class_is_an_error_not_nan(y_true, undefined):
    # Before: AUC and sensitivity (or specificity) NaN, with no warning.
    with pytest.raises(ValueError, match=f"y_true holds only {y_true[0]}: a screening report "
                                         f"needs both classes.*{undefined} is undefined"):
        screening_report(y_true, [0.1, 0.4, 0.6, 0.9], n_bootstraps=10)


@pytest.mark.parametrize("scores, low, high", [(np.log(SCORE / (1 - SCORE)), "-2.197", "2.197"),
                                               (SCORE + 0.5, "0.6", "1.4")])
def test_screening_report_refuses_logits_thresholded_as_probabilities(scores, low, high):
    # Before: logits were thresholded at 0.5 and reported as if they were probabilities.
    with pytest.raises(ValueError, match=rf"y_score must be probabilities in \[0, 1\] \(they are "
                                         rf"called positive from 0.5\); got values from {low} "
                                         rf"to {high}\. Pass predict_proba"):
        screening_report(Y_TRUE, scores, n_bootstraps=0)


def test_decision_scores_are_reported_when_said_so():
    logits = np.log(SCORE / (1 - SCORE))
    as_logits = screening_report(Y_TRUE, logits, threshold=0.0, scores="decision",
                                 n_bootstraps=0, output_dict=True)
    as_proba = screening_report(Y_TRUE, SCORE, threshold=0.5, n_bootstraps=0, output_dict=True)
    assert as_logits["counts"] == as_proba["counts"]
    assert as_logits["auc"]["value"] == as_proba["auc"]["value"]
    with pytest.raises(ValueError, match=r"threshold=1.5 is no probability"):
        screening_report(Y_TRUE, SCORE, threshold=1.5, n_bootstraps=0)
    with pytest.raises(ValueError, match="'scores' parameter of screening_report"):
        screening_report(Y_TRUE, SCORE, scores="logits")


@pytest.mark.parametrize("y_true", [[0, 0, 0, 0], [1, 1, 1, 1]])
def test_screening_objective_on_one_class_is_an_error_not_a_perfect_score(y_true):
    # Before: 1.0, the best possible score, for a fold without a diseased (or healthy) case.
    with pytest.raises(ValueError, match=f"y_true holds only {y_true[0]}: the screening "
                                         "objective needs both classes"):
        screening_objective(y_true, [1, 0, 1, 0], min_sensitivity=0.9)


def test_screening_scorers_say_when_a_fold_leaves_them_undefined():
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    scorer = get_screening_scorer("sensitivity")
    # A fold without a diseased case: sensitivity is undefined. Before: 0.0, silently.
    with pytest.warns(UndefinedMetricWarning, match="Sensitivity is undefined"):
        assert scorer(model, [[0.0], [1.0]], [0, 0]) == 0.0


def test_a_degenerate_bootstrap_gets_an_exact_interval_not_a_point():
    """Audit: 3 pneumonia films, all flagged, printed 'Sensitivity 1.000 [1.000, 1.000]'."""
    report = screening_report([0, 0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.8, 0.9, 0.95],
                              threshold=0.5, n_bootstraps=200, random_state=0, output_dict=True)
    sensitivity = report["sensitivity"]
    assert sensitivity["value"] == 1.0 and sensitivity["ci_high"] == 1.0
    assert sensitivity["ci_low"] == pytest.approx(0.025 ** (1 / 3))  # Clopper-Pearson, 3 of 3
    assert sensitivity["ci_method"] == "exact (Clopper-Pearson)"
    assert np.isnan(report["auc"]["ci_low"])  # a perfect AUC on 7 cases: no interval
    text = screening_report([0, 0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.8, 0.9, 0.95],
                            threshold=0.5, n_bootstraps=200, random_state=0)
    assert "no interval: every resample gave the same value" in text
    assert "[1.000, 1.000]" not in text


@pytest.mark.parametrize("call", [
    lambda y, s: screening_report(y, s, n_bootstraps=0),
    lambda y, s: sensitivity_score(y, np.where(s >= 0.5, 2, 1)),
    lambda y, s: select_threshold(y, s),
])
def test_labels_other_than_0_1_need_pos_label(call):
    """Audit: labels 1/2 without pos_label were scored with 1 as the diseased class, so a
    site coding 1 = normal, 2 = pneumonia read the healthy class's numbers."""
    y, score = np.array([1, 2] * 4), np.linspace(0.1, 0.9, 8)
    with pytest.raises(ValueError, match=r"pos_label is required: the labels \[1, 2\]"):
        call(y, score)
    # 0/1 and -1/1 imply 1, as scikit-learn's roc_curve has it.
    for labels in ([0, 1], [-1, 1], [False, True]):
        y01 = np.array(labels * 4)
        assert screening_report(y01, score, n_bootstraps=0, output_dict=True)["pos_label"] == 1
