"""Metrics of a screen whose true labels are known, computed once for every reader.

``skcxr evaluate`` prints them and its report shows them; both read the
same :func:`evaluate_rows` result, so the page and the terminal never
disagree (the bootstrap is not run twice with different draws).
"""

import numpy as np

from ..metrics import format_screening_report, screening_report
from ._labels import patient_groups
from ._worklist import positive_class

COMPARISON_THRESHOLD = 0.5


def evaluate_rows(rows, screener, *, n_bootstraps=1000, random_state=0):
    """Screening reports of the screened, labelled rows, at the screener's threshold and at 0.5.

    Parameters
    ----------
    rows : iterable of WorklistRow
        Rows of a screen; those with a ``label`` and status ``screened``
        are scored, the others are counted as left out.
    screener : fitted Screener
        Its ``decision_threshold`` is the operating threshold.
    n_bootstraps : int, default=1000
        Patient-level bootstrap resamples of each report's 95% intervals.
    random_state : int, default=0
        Seed of the bootstrap.

    Returns
    -------
    evaluation : dict
        ``n_scored`` (screened films with a label), ``n_not_screened``
        (labelled files that were not screened), ``n_unlabelled``,
        ``n_classes`` (classes among the scored films), ``n_patients`` and
        ``n_named`` (files naming a patient in the Kermany scheme; None
        without metrics), and ``reports``: a list of ``(title, report
        dict)``, the operating threshold first, then 0.5 for comparison
        when it differs; empty when the scored films hold fewer than two
        classes.
    """
    rows = list(rows)
    scored = [r for r in rows if r.status == "screened" and r.label is not None]
    y_true = np.asarray([r.label for r in scored], dtype=object)
    evaluation = {
        "n_scored": len(scored),
        "n_not_screened": sum(r.status != "screened" and r.label is not None for r in rows),
        "n_unlabelled": sum(r.label is None for r in rows),
        "n_classes": len(set(y_true)),
        "n_patients": None,
        "n_named": None,
        "reports": [],
    }
    if evaluation["n_classes"] < 2:
        return evaluation
    y_score = np.asarray([r.score for r in scored])
    groups, n_named = patient_groups([r.path for r in scored])
    evaluation.update(n_patients=len(set(groups)), n_named=n_named)
    thresholds = [("operating threshold", screener.decision_threshold)]
    if screener.decision_threshold != COMPARISON_THRESHOLD:
        thresholds.append((f"threshold {COMPARISON_THRESHOLD}, for comparison",
                           COMPARISON_THRESHOLD))
    for title, threshold in thresholds:
        evaluation["reports"].append((title, screening_report(
            y_true, y_score, threshold=threshold, pos_label=positive_class(screener),
            groups=groups, n_bootstraps=n_bootstraps, random_state=random_state,
            output_dict=True)))
    return evaluation


def evaluation_notes(evaluation):
    """The sentences that go with the numbers: what was left out, how patients were counted."""
    notes = []
    if evaluation["n_not_screened"] or evaluation["n_unlabelled"]:
        notes.append(
            f"Left out of these numbers: {evaluation['n_not_screened']} labelled files that "
            f"were not screened (unsuitable or error) and {evaluation['n_unlabelled']} files "
            "outside the class folders."
        )
    if not evaluation["reports"]:
        notes.append(f"No metrics: the screened films hold {evaluation['n_classes']} class(es); "
                     "they need both.")
    else:
        notes.append(
            f"Patients: {evaluation['n_patients']} ({evaluation['n_named']} of "
            f"{evaluation['n_scored']} files named one in the Kermany scheme; each other file "
            "counts as its own patient)."
        )
    return notes


def format_evaluation(evaluation):
    """Format :func:`evaluate_rows`'s result as the text ``skcxr evaluate`` prints.

    Parameters
    ----------
    evaluation : dict
        As :func:`evaluate_rows` returns it.

    Returns
    -------
    text : str
        Notes on the films evaluated, then one report per threshold.
    """
    lines = evaluation_notes(evaluation)
    for title, report in evaluation["reports"]:
        lines += ["", f"== {title} ==", format_screening_report(report)]
    return "\n".join(lines)
