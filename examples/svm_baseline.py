"""
====================================================================
The original baseline: a linear SVM on pixels, with its PCA picture
====================================================================

The original project's baseline: a scikit-learn pipeline ImageLoader ->
flatten -> StandardScaler -> LinearSVC, with class weights, trained on the
training split and scored on the test split, plus the plot the original
project showed: the images projected on their first two principal
components, coloured by class, with the SVM's decision boundary (the SVM
refitted in that 2-D projection, for display).

.. code-block:: bash

    python examples/svm_baseline.py --quick   # 32 px
    python examples/svm_baseline.py           # 64 px

The documentation build runs this example with ``--quick``: the output and
the figure below come from that run.
"""

import argparse

import matplotlib.pyplot as plt
from sklearn.decomposition import PCA
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from skcxr import ImageLoader
from skcxr.datasets import load_chest_xray
from skcxr.metrics import screening_report

parser = argparse.ArgumentParser(
    description="The original project's baseline: a linear SVM on flattened, downsampled pixels.")
parser.add_argument("--quick", action="store_true", help="32 px images")
parser.add_argument("--out", default="svm_baseline_pca.png", help="where to save the PCA figure")
args = parser.parse_args()
size = 32 if args.quick else 64

# %%
# Pixels as features
# ------------------
# :func:`~skcxr.datasets.load_chest_xray` returns file paths, labels and
# patient ids; :class:`~skcxr.preprocessing.ImageLoader` decodes the films to
# small grey images, flattened here to one row of pixels per film.


def flatten(X):
    return X.reshape(len(X), -1)


train, test = load_chest_xray(subset="train"), load_chest_xray(subset="test")
loader = ImageLoader(size=size, n_jobs=-1)
X_train, X_test = flatten(loader.fit_transform(train.data)), flatten(loader.transform(test.data))

# %%
# The linear SVM, scored once on the test split
# ---------------------------------------------
# The SVM's decision function is the score; 0 is its own decision threshold.
# The 95% intervals resample test *patients*, not films.

svm = make_pipeline(StandardScaler(), LinearSVC(C=1e-3, class_weight="balanced"))
svm.fit(X_train, train.target)
print(screening_report(test.target, svm.decision_function(X_test), threshold=0.0,
                       scores="decision", groups=test.groups, random_state=0))

# %%
# The original project's picture
# ------------------------------
# Two principal components of the training pixels, the test films projected
# on them, and a linear SVM refitted on those two coordinates so that its
# boundary can be drawn. The 2-D SVM is for display only: the scores above
# come from the SVM on all pixels.

projection = make_pipeline(StandardScaler(), PCA(n_components=2)).fit(X_train)
P_train, P_test = projection.transform(X_train), projection.transform(X_test)
svm_2d = LinearSVC(C=1e-3, class_weight="balanced").fit(P_train, train.target)


def plot_boundary(svm_2d, points, target, target_names, title):
    """Films as points on two coordinates, coloured by class, over a 2-D SVM's regions."""
    fig, ax = plt.subplots(figsize=(6, 5), layout="constrained")
    DecisionBoundaryDisplay.from_estimator(svm_2d, points, response_method="predict",
                                           alpha=0.2, ax=ax, cmap="coolwarm")
    for label, colour in ((0, "C0"), (1, "C3")):
        mask = target == label
        ax.scatter(*points[mask].T, s=8, c=colour, label=target_names[label])
    ax.set(xlabel="PC 1", ylabel="PC 2", title=title)
    ax.legend()
    return fig


fig = plot_boundary(svm_2d, P_test, test.target, test.target_names,
                    f"Test images on 2 PCs of {size} px pixels;\nlinear SVM boundary in 2-D")
fig.savefig(args.out, dpi=120, bbox_inches="tight")
print(f"wrote {args.out}")
plt.show()
