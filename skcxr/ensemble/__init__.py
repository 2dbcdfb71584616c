"""Averaging estimators: seed ensembles and test-time augmentation.

Both are scikit-learn meta-estimators with one ``predict_proba``: they
clone, pickle, sit in a Pipeline and are searched with GridSearchCV.
"""

from ._seeds import SeedEnsembleClassifier
from ._tta import TestTimeAugmentation

__all__ = ["SeedEnsembleClassifier", "TestTimeAugmentation"]
