"""The classifier of a saved screener folder, read from its weights only when something needs it.

A screener that runs on its shipped int8 ONNX file needs, of its PyTorch
classifier, only the classes and the input shape, and both are on the card.
Building the classifier means importing torch and torchvision (about 2.5 s
of a one-film ``skcxr screen`` on 2 cores) and reading the weights: work a
screen on ONNX Runtime never uses. :class:`SavedClassifier` stands in its
place in the screener's pipeline and builds it on first use: a prediction,
``embed``, ``module_``, ``get_state``, a heatmap or an export. Whatever it is
asked is then answered by the real :class:`~skcxr.CXRClassifier`, identical
to the one :meth:`CXRClassifier.from_state` gives.
"""

import threading
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class SavedClassifier(ClassifierMixin, BaseEstimator):
    """A fitted :class:`~skcxr.CXRClassifier` saved in a screener folder, built on first use.

    :func:`skcxr.load_screener` puts it where the classifier goes. It is
    fitted from the start (the folder was saved fitted) and ``fit`` does
    not retrain it: refit a screener with ``fit_screener`` instead.
    Attributes it does not hold itself come from the built classifier.

    Parameters
    ----------
    folder : str
        The screener folder whose ``card.json`` and weights hold the classifier.
    device : str, default="auto"
        Where the network runs once built.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The classes, from the card.
    input_shape_ : tuple of int
        ``(channels, height, width)`` the network takes, from the card.
    classifier_ : CXRClassifier
        The built classifier (reading it builds it).
    """

    def __init__(self, folder, *, device="auto"):
        self.folder = folder
        self.device = device

    @classmethod
    def from_card(cls, folder, card, *, device="auto", weights=None):
        """The stand-in for the classifier of ``folder``, its classes and shape from ``card``.

        Parameters
        ----------
        folder : path-like
            The screener folder.
        card : ModelCard
            Its validated card.
        device : str, default="auto"
            Where the network runs once built.
        weights : bytes, default=None
            The weights file's bytes, already checked against the card: the
            network is built from them, whatever happens to the folder
            afterwards (None: read the folder when building).

        Returns
        -------
        classifier : SavedClassifier
            Its classes and input shape set; the network not read yet.
        """
        classifier = cls(str(folder), device=device)
        fitted = card.network.get("fitted", {})
        classifier.classes_ = np.asarray(fitted["classes"])
        classifier.input_shape_ = tuple(int(v) for v in fitted["input_shape"])
        classifier._card = card
        classifier._weights = weights
        return classifier

    @property
    def classifier_(self):
        """The :class:`~skcxr.CXRClassifier`, read from the folder's weights the first time."""
        built = self.__dict__.get("_built")
        if built is None:
            with _BUILDING:  # two threads asking at once build it once
                built = self.__dict__.get("_built")
                if built is None:
                    built = self.__dict__["_built"] = self._build()
                    self.__dict__.pop("_weights", None)  # parsed: the bytes are not needed again
        return built

    def _build(self):
        from ..classifier import CXRClassifier
        from ._folder import ScreenerFolderError, read_card, read_weights

        card = self.__dict__.get("_card") or read_card(self.folder)  # a clone has no card yet
        tensors = read_weights(self.folder, card, data=self.__dict__.get("_weights"))
        try:
            classifier = CXRClassifier.from_state({**card.network, "network": tensors["network"]},
                                                  device=self.device)
        except ValueError as exc:
            path = Path(self.folder) / card.weights["file"]
            raise ScreenerFolderError(f"{str(path)!r} and its card: {exc}") from None
        if "classes_" in self.__dict__ and (
                list(classifier.classes_) != list(self.classes_)
                or tuple(classifier.input_shape_) != tuple(self.input_shape_)):
            raise ScreenerFolderError(f"The weights in {self.folder!r} do not match its card's "
                                      "classes or input shape.")
        return classifier

    # What a screen asks of a classifier, answered without building it when it need not be.
    def __sklearn_is_fitted__(self):
        return True

    def fit(self, X, y=None, **fit_params):
        """Refuse: a saved classifier is used as it is.

        Parameters
        ----------
        X : object
            Not used.
        y : object, default=None
            Not used.
        **fit_params : dict
            Not used.

        Raises
        ------
        TypeError
            Always; wrap the screener's estimator in ``FrozenEstimator`` (as
            ``load_screener`` does) or train with :func:`skcxr.fit_screener`.
        """
        raise TypeError("A classifier read from a screener folder is not refitted in place: "
                        "train a new one with skcxr.fit_screener(..., init=FOLDER).")

    def predict_proba(self, X):
        """The built classifier's probabilities.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Decoded images.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Columns in ``classes_`` order.
        """
        return self.classifier_.predict_proba(X)

    def predict(self, X):
        """The built classifier's labels.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Decoded images.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            One of ``classes_`` per image.
        """
        return self.classifier_.predict(X)

    def embed(self, X, **kwargs):
        """The built classifier's penultimate features (see :meth:`CXRClassifier.embed`).

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Decoded images.
        **kwargs
            Passed on (``return_proba=True``).

        Returns
        -------
        features : ndarray of shape (n_samples, n_features)
            With ``return_proba``, ``(features, proba)``.
        """
        return self.classifier_.embed(X, **kwargs)

    def __getattr__(self, name):
        # Only for what this object does not hold: module_, get_state, history, ...
        if name.startswith("__") or name in ("_built", "_card", "_weights"):
            raise AttributeError(name)
        return getattr(self.classifier_, name)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # As CXRClassifier's: image batches, never a 2-D feature matrix; two classes.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_class = False
        return tags

    def __getstate__(self):
        # A pickle must not depend on the folder still being there: it holds the classifier.
        state = dict(self.__dict__)
        state["_built"] = self.classifier_
        state.pop("_weights", None)
        return state


_BUILDING = threading.Lock()


def built(classifier):
    """The :class:`~skcxr.CXRClassifier` behind a :class:`SavedClassifier`; others as they are."""
    return classifier.classifier_ if isinstance(classifier, SavedClassifier) else classifier
