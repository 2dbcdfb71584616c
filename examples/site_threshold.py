"""
=====================================================
Choose a site's own threshold on its validation films
=====================================================

The shipped screener's threshold was chosen on held-out *training* patients
for 97% sensitivity. A site whose films differ (another scanner, another
population) should not trust it: it should score its own labelled validation
films, never its test films, and choose the threshold there, for the
sensitivity its radiologists ask for.

Here the "site's validation films" are the 10% of Kermany training patients
that the shipped network never trained on. The Kermany test split then only
*reports* what each choice costs, in films flagged per 100 normal films.

.. code-block:: bash

    python examples/site_threshold.py     # no training: it scores 522 + 624 films

The documentation build's own timing of it is at the end of this page.

The documentation build runs this example on the data in ``$SKCXR_DATA``.
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_curve

import skcxr
from skcxr.datasets import load_chest_xray
from skcxr.metrics import screening_report, select_threshold
from skcxr.model_selection import patient_split

parser = argparse.ArgumentParser(description="Choose a site's own screening threshold.")
parser.add_argument("--out", default=None, help="also save the figure as a PNG file here")
args = parser.parse_args()

# %%
# The site's validation films
# ---------------------------
# The same held-out patients as the shipped model's card (a patient-level
# split of the training split, seed 0): the network never saw them.

name = skcxr.list_pretrained()[0]
# Every film scored, the few its input guard refuses too: this page compares thresholds.
screener = skcxr.load_pretrained(name, on_refusal="score", backend="torch")
train = load_chest_xray(subset="train")
_, val = patient_split(train.target, train.groups, test_size=0.1, stratify=False,
                       random_state=0)
y_val = train.target_names[train.target[val]]
val_score = screener.predict_proba(train.data[val])[:, 1]
print(f"{len(val)} validation films of {len(set(train.groups[val]))} patients")

# %%
# One threshold per sensitivity target
# ------------------------------------
# ``select_threshold`` gives the highest threshold that reaches the target
# sensitivity on these films; ``set_params(threshold=...)`` moves the
# screener's operating point. (With ``confidence=0.95`` it would instead
# guarantee the target with a lower confidence bound; the next example,
# adapting the screener to a site, uses that rule.)

targets = [0.90, 0.95, 0.97, 0.99]
thresholds = {t: select_threshold(y_val, val_score, min_sensitivity=t, pos_label="PNEUMONIA")
              for t in targets}
for target, threshold in thresholds.items():
    print(f"sensitivity >= {target:.0%} on validation: threshold {threshold:.4f}")
print(f"the card's threshold: {screener.decision_threshold:.4f}")

# %%
# What each choice costs on the test split
# ----------------------------------------
# Reported once per threshold, with patient-level 95% CIs; the test labels
# chose nothing above.

test = load_chest_xray(subset="test")
y_test = test.target_names[test.target]
test_score = screener.predict_proba(test.data)[:, 1]
for target, threshold in thresholds.items():
    report = screening_report(y_test, test_score, threshold=threshold, pos_label="PNEUMONIA",
                              groups=test.groups, n_bootstraps=200, random_state=0,
                              output_dict=True)
    sens, spec = report["sensitivity"], report["specificity"]
    print(f"target {target:.0%}: test sensitivity {sens['value']:.3f} "
          f"({sens['ci_low']:.3f}-{sens['ci_high']:.3f}), specificity {spec['value']:.3f} "
          f"({spec['ci_low']:.3f}-{spec['ci_high']:.3f}); "
          f"{100 * (1 - spec['value']):.0f} of 100 normal films flagged")
site_screener = screener.set_params(threshold=thresholds[0.95])
print("flagged of the first 10 test films at the 95% threshold:",
      int(np.sum(site_screener.predict(test.data[:10]) == "PNEUMONIA")))

# %%
# The trade-off, on validation and on test
# ----------------------------------------
# Sensitivity against the share of normal films flagged, with each chosen
# threshold marked on both curves. The test curve lies to the right of the
# validation curve: the test films are shifted (see the model card), so a
# threshold from training patients flags more normal films on them.



def plot_tradeoff(curves, thresholds):
    """Sensitivity against normal films flagged, each chosen threshold marked on each curve.

    ``curves`` maps a label to ``(y_true, score)``; the first curve's points
    are annotated with their sensitivity targets.
    """
    fig, ax = plt.subplots(figsize=(6, 4.5), layout="constrained")
    for k, (label, (y, score)) in enumerate(curves.items()):
        fpr, tpr, cut = roc_curve(y == "PNEUMONIA", score)
        line, = ax.plot(fpr, tpr, "-" if k == 0 else "--", label=label)
        points = {}  # several targets can land on one point of a step curve
        for target, threshold in thresholds.items():
            i = np.searchsorted(-cut, -threshold, side="right") - 1  # last cut >= threshold
            points.setdefault((fpr[i], tpr[i]), []).append(f"{100 * target:.0f}")
        for (x, y_point), names in points.items():
            ax.plot(x, y_point, "o", color=line.get_color())
            if k == 0:
                ax.annotate("/".join(names) + "%", (x, y_point), textcoords="offset points",
                            xytext=(6, -10), fontsize=8)
    ax.set_xlim(0, 0.6)
    ax.set_ylim(0.8, 1.005)
    ax.set_xlabel("normal films flagged (1 - specificity)")
    ax.set_ylabel("sensitivity")
    ax.set_title("Thresholds for 90, 95, 97 and 99% sensitivity on validation")
    ax.legend(loc="lower right")
    return fig


fig = plot_tradeoff({"validation (chooses)": (y_val, val_score),
                     "test (reports)": (y_test, test_score)}, thresholds)
plt.show()

if args.out:
    fig.savefig(args.out, dpi=100, bbox_inches="tight")
