"""CXRClassifier: a skorch NeuralNetClassifier that behaves like a scikit-learn classifier."""

import inspect
import warnings
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real
from types import MappingProxyType

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.utils import to_numpy, to_tensor
from torch.utils.data import Subset

from .._compat import Interval, Options, StrOptions, validate_estimator_params
from .._versioning import VersionedPickleMixin
from ..models import get_module_factory
from ..utils import check_binary_target, check_image_batch
from ._augment import resolve_augmentation
from ._callbacks import default_callbacks, is_positive_number
from ._intensity import NORMALIZATIONS, dataset_statistics
from ._interrupt import recording_sigint
from ._network import InputHead, NetworkWithInputHead
from ._presets import preset_params
from ._split import holdout_indices
from ._state import STATE_FORMAT, decode_params, encode_params, fitted_config, restore_fitted


def resolve_device(device):
    """The torch device that ``device`` names; ``"auto"`` is CUDA when a GPU is visible.

    ``None`` stays ``None``: skorch then leaves placement to the caller
    (e.g. Hugging Face accelerate).
    """
    if device is None:
        return None
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class CXRClassifier(VersionedPickleMixin, NeuralNetClassifier):
    """A CNN chest X-ray classifier (NORMAL vs PNEUMONIA) for scikit-learn.

    A skorch :class:`~skorch.classifier.NeuralNetClassifier` specialised for
    image batches from :class:`~skcxr.preprocessing.ImageLoader`: it trains
    on uint8 arrays ``(n, channels, H, W)``, converting, augmenting and
    normalising each batch on the training device, and it follows the
    scikit-learn contract (``classes_`` for any binary labels,
    ``get_params``/``set_params``/``clone``, ``random_state``).

    Every skorch parameter works as usual (``module__*``, ``optimizer__*``,
    ``iterator_train__*``, ``callbacks``); the defaults are a small CNN+FC
    network (:class:`~skcxr.models.CXRNet`) with SGD.

    Parameters
    ----------
    module : str, torch.nn.Module class or instance, default="cxrnet"
        The network; a name from :func:`skcxr.models.available_modules`
        (``"cxrnet"``, ``"resnet18"``, ``"densenet121"``,
        ``"efficientnet_b0"``, ...) or a module returning logits. Its
        arguments are ``module__*`` parameters; ``in_channels`` is set from
        ``X`` unless given.
    criterion : torch loss class, default=torch.nn.CrossEntropyLoss
        Applied to logits. ``class_weight`` fills its ``weight``.
    optimizer : torch optimizer class, default=torch.optim.SGD
        SGD gets ``momentum=0.9`` unless ``optimizer__momentum`` is given.
    lr : float, default=0.015
        Learning rate.
    max_epochs : int, default=30
        Epochs at most (early stopping may end sooner).
    batch_size : int, default=54
        Images per batch.
    class_weight : "balanced", dict or None, default="balanced"
        Loss weight per class, as in scikit-learn: ``"balanced"`` weighs
        classes inversely to their frequency (the Kermany training split is
        26% NORMAL); a dict maps labels to weights.
    augmentation : float, callable or None, default=1.0
        Training-time augmentation, never applied when predicting. A number
        scales the default :class:`~skcxr.classifier.RandomAugment` ranges
        (0 or ``None``: off); a callable takes and returns a float batch in
        [0, 1], e.g. ``RandomAugment(rotation=5, hflip=0.0)``.
    normalization : {"per_image", "equalize", "dataset", "none"}, default="per_image"
        Intensity standardisation of every batch, in fit and predict alike:
        each image to zero mean and unit variance (robust to exposure and
        contrast shifts between sites); the same after histogram
        equalisation of each image (which removes any monotonic exposure,
        contrast or gamma difference); the training set's mean and std
        (stored in ``intensity_mean_``/``intensity_std_``); or none.
    validation_fraction : float or None, default=0.1
        Share of the training data held out to monitor validation loss and
        AUC and to stop early. When ``fit`` receives ``groups`` (patient
        ids) the split keeps each patient on one side; without them it is
        stratified by image, which lets a patient's films straddle it.
        ``None`` trains on everything for ``max_epochs``.
    patience : int or None, default=5
        Epochs without a lower validation loss before stopping; the best
        epoch's weights are restored. ``None`` disables early stopping.
    lr_schedule : {"cosine", "plateau"} or None, default="cosine"
        Cosine annealing over ``max_epochs``, or division by ~3 when the
        monitored loss stalls for 2 epochs.
    weight_averaging : float or None, default=None
        Keep an exponential moving average of the weights with this decay
        per step (e.g. 0.998: about the last 500 steps) and validate and
        return the average instead of the last step's weights (early
        stopping's best epoch is the average's too). It takes out much of
        the seed-to-seed spread of the final weights.
    device : str, default="auto"
        ``"auto"`` uses CUDA when present, else the CPU; or any torch device.
    amp : bool, default=True
        Use bfloat16 mixed precision on CUDA (ignored on the CPU).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, augmentation, dropout and
        the validation split; an int makes CPU runs exactly repeatable. The
        global torch RNG is restored after ``fit``.
    verbose : int, default=0
        1 prints a line per epoch, 2 adds a progress bar per epoch.
    callbacks : list or None, default=None
        Extra skorch callbacks, as in skorch.
    train_split : callable or None, default=None
        A skorch split (e.g. ``skorch.dataset.ValidSplit``) that replaces
        ``validation_fraction`` when given.
    **kwargs
        Other skorch parameters (``module__*``, ``optimizer__*``,
        ``iterator_train__*``, ``warm_start``, ...).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels, sorted; ``predict_proba`` columns follow this order.
    module_ : torch.nn.Module
        The trained network behind its input head: it maps a raw image
        batch (uint8, or float in [0, 1]) to logits by itself, scaling,
        normalising (and, in training mode, augmenting) as ``fit`` and
        ``predict_proba`` do. ``module_.network`` is the bare network.
    device_ : torch.device or None
        Where the network lives: ``device`` with ``"auto"`` resolved when
        the net was initialised.
    class_weight_ : ndarray of shape (2,) or None
        Loss weights used, in ``classes_`` order.
    input_shape_ : tuple
        ``(channels, height, width)`` seen in ``fit``.
    history_ : skorch History
        Per-epoch losses, validation AUC and timings.
    fit_interrupted_ : bool
        True when the last fit ended on the user's Ctrl-C (skorch then
        returns quietly with the weights of that moment; a warning says so).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from skcxr import CXRClassifier, ImageLoader
    >>> model = make_pipeline(ImageLoader(size=224), CXRClassifier(random_state=0))
    >>> # model.fit(train.data, train.target).predict_proba(test.data)
    """

    # skorch's __init__ sets these three; scikit-learn's contract is that
    # __init__ sets parameters only, so they live on the class until
    # initialize() gives the instance its own.
    initialized_ = False
    history_ = None
    virtual_params_ = MappingProxyType({})
    # skorch's `classes` parameter: classes_ always come from y here, so it
    # is no parameter of this classifier (skorch's code still reads it).
    classes = None

    _parameter_constraints = {
        "module": [str, callable, torch.nn.Module],
        "criterion": [callable],
        "optimizer": [callable],
        # The optimiser keeps lr in float32: a larger one fails inside torch with a traceback.
        "lr": [Interval(Real, 0, float(np.finfo(np.float32).max), closed="right")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "augmentation": [Interval(Real, 0, None, closed="left"), callable, None],
        "normalization": [StrOptions(set(NORMALIZATIONS))],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "lr_schedule": [StrOptions({"cosine", "plateau"}), None],
        "weight_averaging": [Interval(Real, 0, 1, closed="neither"), None],
        "device": [str, torch.device, None],
        "amp": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, StrOptions({"disable"}), None],
        "train_split": [callable, None],
    }

    def __init__(
        self,
        module="cxrnet",
        *,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        lr=0.015,
        max_epochs=30,
        batch_size=54,
        class_weight="balanced",
        augmentation=1.0,
        normalization="per_image",
        validation_fraction=0.1,
        patience=5,
        lr_schedule="cosine",
        weight_averaging=None,
        device="auto",
        amp=True,
        random_state=None,
        verbose=0,
        callbacks=None,
        train_split=None,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            callbacks=callbacks,
            verbose=verbose,
            device=device,
            **kwargs,
        )
        self.class_weight = class_weight
        self.augmentation = augmentation
        self.normalization = normalization
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.weight_averaging = weight_averaging
        self.amp = amp
        self.random_state = random_state
        for name in ("initialized_", "history_", "virtual_params_", "classes"):
            vars(self).pop(name, None)

    def _get_param_names(self):
        # skorch lists every public attribute; its private bookkeeping
        # (_params_to_validate) and `classes` are no parameters here.
        return [name for name in super()._get_param_names()
                if not name.startswith("_") and name != "classes"]

    @classmethod
    def from_preset(cls, name, **params):
        """A classifier with a named preset's parameters, overridden by ``params``.

        ``"original"``: a small CNN+FC network (CXRNet) and SGD (the defaults).
        ``"recommended"``: skcxr's recipe, ResNet-18 from scratch with AdamW
        and strong contrast/gamma augmentation; see the user guide for how
        it was chosen and what it scores.
        ``"compact"``: a wider CXRNet with batch norm and the same optimiser
        and augmentation idea, at a fraction of ResNet-18's compute.

        Parameters
        ----------
        name : {"original", "recommended", "compact"}
            The preset.
        **params
            Parameters to set instead of the preset's.

        Returns
        -------
        classifier : CXRClassifier
            Unfitted.

        Examples
        --------
        >>> clf = CXRClassifier.from_preset("recommended", max_epochs=10, random_state=0)
        >>> clf.module, clf.max_epochs
        ('resnet18', 10)
        """
        return cls(**{**preset_params(name), **params})

    # ---------------------------------------------------------- fitted state
    def get_state(self):
        """The fitted classifier as JSON values and tensors, with no pickled object.

        ``torch.save`` writes it and ``torch.load(..., weights_only=True)``
        reads it back without running code; :meth:`from_state` rebuilds an
        identical classifier from it. ``state["network"]`` is the network's
        ``state_dict``; everything else is JSON: ``params`` (the parameters
        that rebuild the estimator: the network by name, its arguments,
        optimiser and loss by their ``torch`` names, augmentation),
        ``fitted`` (what ``fit`` learnt from the data: ``classes_``,
        ``input_shape_``, ``class_weight_``, intensity statistics) and
        ``not_saved`` (parameters set to something that cannot be written so,
        such as a callable of your own; they take their defaults on restore
        unless passed again). ``device`` and ``verbose`` are not part of the
        model and are not kept. The training history is not kept either.

        Returns
        -------
        state : dict
            Safe for ``torch.save`` and ``torch.load(..., weights_only=True)``.

        Examples
        --------
        >>> import torch
        >>> from skcxr import CXRClassifier
        >>> # torch.save(classifier.get_state(), "classifier.pt")
        >>> # CXRClassifier.from_state(torch.load("classifier.pt", weights_only=True))
        """
        check_is_fitted(self)
        if not isinstance(self.module, str):
            raise ValueError(
                f"Only a network built by name can be saved as a state (module={self.module!r}); "
                "use a name from skcxr.models.available_modules(), or pickle the classifier.")
        defaults = CXRClassifier().get_params(deep=False)
        params, not_saved = encode_params(self.get_params(deep=False))
        # Unwritable values left at their defaults (skorch's Dataset and DataLoader
        # classes, say) come back by themselves: only the others are worth naming.
        not_saved = [name for name in not_saved if defaults.get(name, object()) is not getattr(self, name)]
        return {
            "format": STATE_FORMAT,
            "params": params,
            "not_saved": not_saved,
            "fitted": fitted_config(self),
            "network": {key: value.detach().cpu().clone()
                        for key, value in self._network_for_state().state_dict().items()},
        }

    def _network_for_state(self):
        return self.module_

    @classmethod
    def from_state(cls, state, **params):
        """A fitted classifier from :meth:`get_state`'s dict.

        Parameters
        ----------
        state : dict
            As :meth:`get_state` returns it (or as ``torch.load(...,
            weights_only=True)`` reads it back). Half-precision network
            tensors are restored in single precision.
        **params
            Parameters to set instead of the saved ones, e.g. ``device="cpu"``
            or, to continue training, ``lr=3e-4``.

        Returns
        -------
        classifier : CXRClassifier
            Fitted, its network in evaluation mode.
        """
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            found = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"Not a CXRClassifier state: format {found!r}, expected "
                             f"{STATE_FORMAT!r}.")
        classifier = cls(**{**decode_params(state["params"]), **params})
        restore_fitted(classifier, state["fitted"])
        classifier.initialize()
        network = classifier.module_
        mismatch = _state_mismatch(network.state_dict(), state["network"])
        if mismatch:
            raise ValueError(f"The saved network does not fit {classifier.module!r} with these "
                             f"parameters: {mismatch}. It was saved from another architecture "
                             "or the file was edited.")
        network.load_state_dict({key: value.float() if value.is_floating_point() else value
                                 for key, value in state["network"].items()})
        network.eval()
        return classifier

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, groups=None, **fit_params):
        """Train the network on an image batch.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as uint8, or floats in [0, 1] (what ImageLoader returns).
        y : array-like of shape (n_samples,)
            Binary labels of any type (0/1, bool, "NORMAL"/"PNEUMONIA").
        groups : array-like of shape (n_samples,), default=None
            Patient ids; the validation split keeps each patient on one
            side. Routed by scikit-learn metadata routing when requested
            with ``set_fit_request(groups=True)``.
        **fit_params
            Passed to skorch (and on to the module's ``forward``).

        Returns
        -------
        self : CXRClassifier
            The fitted classifier.

        Raises
        ------
        ValueError
            When training diverges (a non-finite loss, output or weight, or
            a training batch's loss over 100 times the first batch's: see
            ``callbacks__divergence_check__factor``), or when the fitted
            network gives every validation image the same answer while the
            validation split holds both classes. The classifier is then not
            fitted.

        Warns
        -----
        UserWarning
            When fit ends on a Ctrl-C (the weights kept are named), and when
            every validation image is predicted one class although the
            scores still differ (undertrained or diverging).
        """
        X, y_encoded, groups = self._prepare_fit(X, y, groups)
        self._split_seed_, torch_seed = self._draw_seeds()
        self._split_groups_ = groups
        self._fitting = True
        try:
            with self._seeded(torch_seed):
                super().fit(X, y_encoded, **fit_params)
            self._check_finite_weights()
            self._check_finite_outputs(X)
        except BaseException:
            # A fit that failed leaves no model that looks fitted.
            self.__dict__.pop("classes_", None)
            raise
        finally:
            del self._split_groups_, self._fitting
            self._leave_training_mode()
        return self

    def _leave_training_mode(self):
        """Put ``module_`` (and the criterion) in eval mode: outside a fit it is never training.

        skorch leaves the network in training mode after a training step
        (e.g. when the last epoch has no validation split); whoever then
        uses ``module_`` directly (export, explanation, a forward pass)
        would get dropout and batch statistics of the batch at hand.
        """
        if getattr(self, "initialized_", False):
            self._set_training(False)

    def _draw_seeds(self):
        """This fit's seeds: the validation split's, and torch's (None leaves torch unseeded)."""
        rng = check_random_state(self.random_state)
        split_seed = rng.randint(np.iinfo(np.int32).max)
        torch_seed = None if self.random_state is None else rng.randint(np.iinfo(np.int32).max)
        return split_seed, torch_seed

    def _check_finite_weights(self):
        if not all(torch.isfinite(value).all() for value in self.module_.state_dict().values()
                   if value.is_floating_point()):
            raise ValueError(
                f"Training left non-finite weights (lr={self.lr!r} is likely too high for this "
                "optimiser); the model is not fitted."
            )

    def _check_finite_outputs(self, X, n_images=16):
        # Finite weights can still be so large that activations overflow: a loss that looked
        # finite (one batch at lr=1e4) and a network that scores every film NaN.
        features, proba = self.embed(X[:n_images], return_proba=True)
        if not (np.isfinite(features).all() and np.isfinite(proba).all()):
            raise ValueError(
                f"Training left a network whose outputs are not finite on its own training "
                f"images (lr={self.lr!r} is likely too high for this optimiser: its weights grew "
                "until the activations overflowed); the model is not fitted.")

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs, continuing from the current weights.

        The first call checks the data and sets ``classes_`` as ``fit`` does
        (``classes`` names both labels when ``y`` may hold only one of them);
        later calls check that ``X`` matches and that ``y`` holds only known
        labels. No validation split is made by the first call's ``groups``
        here: pass ``groups`` to ``fit`` for a patient split.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as for ``fit``.
        y : array-like of shape (n_samples,)
            Their labels.
        classes : array-like of shape (2,), default=None
            Both labels, for a first call whose ``y`` may hold only one.
        **fit_params
            Passed to skorch (and on to the module's ``forward``).

        Returns
        -------
        self : CXRClassifier
            The classifier, trained further.
        """
        if getattr(self, "_fitting", False):  # called by skorch's fit, data already checked
            return super().partial_fit(X, y, **fit_params)
        if not self.__sklearn_is_fitted__():
            X, y_encoded, _ = self._prepare_fit(X, y, None, classes=classes)
        else:
            X = self._check_fitted_input(X)
            y = check_binary_target(y, len(X), allow_single_class=True)
            unknown = np.setdiff1d(y, self.classes_)
            if len(unknown):
                raise ValueError(f"y holds labels {list(unknown)} not among classes_ {list(self.classes_)}.")
            y_encoded = np.searchsorted(self.classes_, y).astype(np.int64)
        try:
            super().partial_fit(X, y_encoded, **fit_params)
            self._check_finite_weights()
        except BaseException:
            # Training failed part way (diverged, collapsed): the weights are not a model.
            self.__dict__.pop("classes_", None)
            raise
        finally:
            self._leave_training_mode()
        return self

    def _prepare_fit(self, X, y, groups, classes=None):
        """Validate parameters and data; set the fitted attributes that come from the data."""
        self._check_params()
        X = check_image_batch(X)
        y = check_binary_target(y, len(X), allow_single_class=classes is not None)
        if groups is not None and len(groups) != len(X):
            raise ValueError(f"groups has {len(groups)} entries but X has {len(X)} images.")
        classes = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        if len(classes) != 2 or len(np.setdiff1d(y, classes)):
            raise ValueError(f"classes must name the two labels of y; got {list(classes)}.")
        if isinstance(self.class_weight, str) and len(np.unique(y)) < 2:
            raise ValueError(
                f"class_weight={self.class_weight!r} needs both classes in y to weigh them; "
                f"y holds only {np.unique(y)[0]!r}. Pass class_weight as a dict (or None) "
                "for a first partial_fit on one class."
            )
        continuing = self.warm_start and self.__sklearn_is_fitted__()
        if continuing:
            self._check_continuation(X, classes)
        self.classes_ = classes
        self.input_shape_ = X.shape[1:]
        self.class_weight_ = (
            None if self.class_weight is None
            else compute_class_weight(self.class_weight, classes=classes, y=y)
        )
        if continuing:
            # The weights continue; the loss weighs the classes of *these* films.
            self.initialize_criterion()
        elif self.normalization == "dataset":
            self.intensity_mean_, self.intensity_std_ = dataset_statistics(X)
        y_encoded = np.searchsorted(classes, y).astype(np.int64)
        return X, y_encoded, groups

    def _check_continuation(self, X, classes):
        """``warm_start`` continues training the fitted network: the data must fit it."""
        if list(classes) != list(self.classes_):
            raise ValueError(
                f"warm_start=True continues training a network fitted on classes "
                f"{list(self.classes_)}, but y holds {list(classes)}: its outputs would be "
                "read as other classes. Map the labels to the fitted classes first.")
        if tuple(X.shape[1:]) != tuple(self.input_shape_):
            raise ValueError(
                f"warm_start=True continues training a network fitted on images of shape "
                f"{tuple(self.input_shape_)}; X has {tuple(X.shape[1:])}. Load the images at the "
                f"fitted size, ImageLoader(size={tuple(self.input_shape_[1:])}).")

    def _check_params(self):
        validate_estimator_params(self)
        if isinstance(self.module, str):
            get_module_factory(self.module)

    # ------------------------------------------------- skorch customisation
    def initialize(self):
        """Build the network, loss, optimiser and callbacks, as skorch does, on ``device_``.

        ``device="auto"`` is resolved once, here, into ``device_``.

        Returns
        -------
        self : CXRClassifier
            Initialised, its network in evaluation mode.
        """
        self.device_ = resolve_device(self.device)
        with self._skorch_placement():
            super().initialize()
        self._leave_training_mode()
        return self

    def set_params(self, **params):
        """Set parameters, as in skorch; ``callbacks`` are checked when the net is initialised.

        ``augmentation__<name>`` sets a parameter of the ``augmentation``
        estimator (e.g. ``augmentation__gamma`` of a :class:`RandomAugment`).

        Parameters
        ----------
        **params
            Parameter names and values, skorch's ``prefix__name`` included.

        Returns
        -------
        self : CXRClassifier
            The classifier.
        """
        if "callbacks" in params and not self.initialized_:
            self.callbacks = params.pop("callbacks")
        # augmentation__gamma etc. belong to the augmentation estimator, as
        # scikit-learn routes nested parameters; skorch would store them
        # as stray attributes.
        nested = {key.split("__", 1)[1]: params.pop(key)
                  for key in list(params) if key.startswith("augmentation__")}
        # On an initialised net skorch rebuilds and places the module here.
        with self._skorch_placement():
            super().set_params(**params)
        if nested:
            if not hasattr(self.augmentation, "set_params"):
                raise ValueError(
                    f"augmentation__{next(iter(nested))} needs augmentation to be an estimator "
                    f"such as RandomAugment(); it is {self.augmentation!r}."
                )
            self.augmentation.set_params(**nested)
        return self

    def load_params(self, *args, **kwargs):
        """Load saved weights, as in skorch, onto the device the net was initialised on.

        Parameters
        ----------
        *args, **kwargs
            As skorch's ``NeuralNet.load_params`` (``f_params=...``, ...).
        """
        with self._skorch_placement():
            super().load_params(*args, **kwargs)

    def initialize_module(self):
        """Build ``module_``: the network behind an :class:`InputHead`.

        The head carries the intensity scaling, the training-time
        augmentation and the normalisation statistics, so ``module_`` maps a
        raw image batch to logits by itself.

        Returns
        -------
        self : CXRClassifier
            With ``module_`` built, in evaluation mode.
        """
        kwargs = self.get_params_for("module")
        network = self.module
        if isinstance(network, str):
            network = get_module_factory(network)
            if hasattr(self, "input_shape_"):
                kwargs.setdefault("in_channels", self.input_shape_[0])
        input_head = InputHead(
            self.normalization,
            mean=getattr(self, "intensity_mean_", 0.0),
            std=getattr(self, "intensity_std_", 1.0),
            augment=resolve_augmentation(self.augmentation),
        )
        self.module_ = NetworkWithInputHead(self.initialized_instance(network, kwargs), input_head)
        # Built in eval mode like a fitted one: fit switches it to training for each step.
        self.module_.eval()
        return self

    def initialize_criterion(self):
        """Build the loss, as skorch does, with ``class_weight_`` as its ``weight``.

        Returns
        -------
        self : CXRClassifier
            With ``criterion_`` built, in evaluation mode.
        """
        kwargs = self.get_params_for("criterion")
        weight = getattr(self, "class_weight_", None)
        if weight is not None and "weight" not in kwargs:
            kwargs["weight"] = torch.as_tensor(weight, dtype=torch.float32)
        self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        if isinstance(self.criterion_, torch.nn.Module):
            self.criterion_.eval()  # as the module: in training mode only while fit runs
        return self

    def get_params_for_optimizer(self, prefix, named_parameters):
        """The optimiser's arguments, as skorch's; SGD gets ``momentum=0.9`` unless given.

        Parameters
        ----------
        prefix : str
            The optimiser's name, ``"optimizer"``.
        named_parameters : iterator of (str, torch.nn.Parameter)
            The parameters to optimise.

        Returns
        -------
        args : tuple
            Positional arguments of the optimiser (the parameters).
        kwargs : dict
            Keyword arguments of the optimiser.
        """
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if prefix == "optimizer" and self.optimizer is torch.optim.SGD:
            kwargs.setdefault("momentum", 0.9)  # the original CNN+FC recipe's setting
        return args, kwargs

    def get_params_for(self, prefix):
        """The ``prefix__*`` parameters, as skorch's, with this classifier's defaults.

        Training batches are shuffled; prediction batches draw from a private
        generator (never the global RNG); on CUDA both use pinned memory.

        Parameters
        ----------
        prefix : str
            E.g. ``"module"``, ``"iterator_train"``, ``"iterator_valid"``.

        Returns
        -------
        params : dict
            Keyword arguments for what ``prefix`` names.
        """
        params = super().get_params_for(prefix)
        if prefix == "iterator_train":
            params.setdefault("shuffle", True)
        if prefix == "iterator_valid":
            # A DataLoader draws a seed from its generator even when it does
            # not shuffle; a private one keeps predict off the global RNG.
            params.setdefault("generator", torch.Generator())
        if prefix in ("iterator_train", "iterator_valid") and self._uses_cuda():
            # Page-locked host memory lets uint8 batches copy to the GPU asynchronously.
            params.setdefault("pin_memory", True)
        return params

    @property
    def _default_callbacks(self):
        return default_callbacks(
            validates=self.train_split is not None or is_positive_number(self.validation_fraction),
            lr_schedule=self.lr_schedule,
            max_epochs=self.max_epochs,
            patience=self.patience,
            weight_averaging=self.weight_averaging,
            verbose=self.verbose,
        )

    def get_split_datasets(self, X, y=None, **fit_params):
        """The training and validation datasets, the patients of ``fit``'s ``groups`` kept apart.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            The training images.
        y : ndarray of shape (n_samples,), default=None
            Their encoded labels.
        **fit_params
            Passed to ``train_split`` when one is given.

        Returns
        -------
        dataset_train : torch Dataset
            The images trained on.
        dataset_valid : torch Dataset or None
            The held-out images (None with ``validation_fraction=None``).
        """
        groups = getattr(self, "_split_groups_", None)
        if self.train_split is not None and groups is not None:
            # The patient ids go to the user's split too: skorch's ValidSplit takes them.
            if "groups" not in inspect.signature(self.train_split).parameters:
                raise ValueError(
                    f"fit got groups (patient ids) but train_split {self.train_split!r} takes no "
                    "groups argument, so its validation split could not keep patients together. "
                    "Use skorch.dataset.ValidSplit, or validation_fraction instead of train_split."
                )
            return self.train_split(self.get_dataset(X, y), y, groups=groups, **fit_params)
        if self.train_split is not None or self.validation_fraction is None:
            return super().get_split_datasets(X, y, **fit_params)
        dataset = self.get_dataset(X, y)
        train_idx, valid_idx = holdout_indices(
            y, groups, self.validation_fraction, getattr(self, "_split_seed_", None))
        return Subset(dataset, train_idx), Subset(dataset, valid_idx)

    def get_iterator(self, dataset, training=False):
        """Return skorch's DataLoader, but a training epoch never ends in a batch of one image.

        Batch normalisation cannot train on a single image (torch raises
        "Expected more than 1 value per channel"); when the training set
        leaves one image over, that image sits out the epoch (another one
        each epoch, as batches are shuffled).

        Parameters
        ----------
        dataset : torch Dataset
            The images (and labels) to iterate over.
        training : bool, default=False
            Whether the batches are for training (``iterator_train__*``
            parameters) or prediction (``iterator_valid__*``).

        Returns
        -------
        iterator : torch DataLoader
            Batches of ``batch_size`` images.
        """
        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        if training and "drop_last" not in kwargs and len(dataset) % kwargs["batch_size"] == 1 \
                and len(dataset) > 1:
            kwargs["drop_last"] = True
        iterator = self.iterator_train if training else self.iterator_valid
        return iterator(dataset, **kwargs)

    def train_step(self, batch, **fit_params):
        """One optimiser step, as skorch's; a non-finite loss stops ``fit`` with a ValueError.

        Parameters
        ----------
        batch : tuple
            Images and labels of one batch.
        **fit_params
            Passed on to the module's ``forward``.

        Returns
        -------
        step : dict
            ``"loss"`` and ``"y_pred"`` of the batch.
        """
        step = super().train_step(batch, **fit_params)
        if not torch.isfinite(step["loss"]):
            raise ValueError(
                f"The training loss became {step['loss'].item()} in epoch {len(self.history)}: "
                f"training diverged and the weights are no longer finite. The usual cause is a "
                f"learning rate too high for this optimiser (lr={self.lr!r}); non-finite input "
                "values are refused earlier. fit stopped; the model is not fitted."
            )
        return step

    def notify(self, method_name, **cb_kwargs):
        """Call ``method_name`` of every callback, as skorch does, noting a KeyboardInterrupt.

        Parameters
        ----------
        method_name : str
            The callback hook, e.g. ``"on_epoch_end"``.
        **cb_kwargs
            Passed to each callback.
        """
        try:
            super().notify(method_name, **cb_kwargs)
        except KeyboardInterrupt:
            # Early stopping and time budgets end training this way on purpose; so may a
            # Ctrl-C that lands while a callback runs. fit_loop tells them apart.
            self._interrupted_in_callback = True
            raise

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Run skorch's training loop; an interruption by the user is warned of and recorded.

        A Ctrl-C ends training quietly in skorch; here it also warns which
        weights were kept and sets ``fit_interrupted_``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            The training images.
        y : ndarray of shape (n_samples,), default=None
            Their encoded labels.
        epochs : int, default=None
            Epochs to train; ``max_epochs`` when None.
        **fit_params
            Passed on to the module's ``forward``.

        Returns
        -------
        self : CXRClassifier
            The trained classifier.
        """
        self._interrupted_in_callback = False
        self.fit_interrupted_ = False
        with recording_sigint() as sigint:
            try:
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
            except KeyboardInterrupt:
                # Only callbacks raise KeyboardInterrupt on purpose; a SIGINT is the user's.
                if sigint.received or not self._interrupted_in_callback:
                    # skorch ends fit quietly on KeyboardInterrupt: say so, and record it
                    # for callers that must not keep a half-trained model.
                    self.fit_interrupted_ = True
                    self._warn_interrupted()
                raise
            finally:
                del self._interrupted_in_callback

    def _warn_interrupted(self):
        epoch = len(self.history)
        callbacks = dict(self.callbacks_)
        stopper = callbacks.get("early_stopping")
        if stopper is not None and getattr(stopper, "load_best", False):
            best = [row["epoch"] for row in self.history if row.get("valid_loss_best")]
            kept = (f"those of epoch {best[-1]}, the best validation loss so far" if best
                    else "those it had when interrupted")
        elif "weight_averaging" in callbacks:
            kept = "the moving average of the weights up to the interruption"
        else:
            kept = f"those it had when interrupted, part way through epoch {epoch}"
        warnings.warn(
            f"fit was interrupted (KeyboardInterrupt) in epoch {epoch} of {self.max_epochs}. "
            f"The weights kept are {kept}.", UserWarning, stacklevel=4)

    def infer(self, x, **fit_params):
        """The module's logits for one batch, under bfloat16 autocast on CUDA when ``amp``.

        Parameters
        ----------
        x : torch.Tensor or ndarray
            A batch of images.
        **fit_params
            Passed on to the module's ``forward``.

        Returns
        -------
        logits : torch.Tensor of shape (batch_size, 2)
            In float32.
        """
        x = self._to_device(x)
        amp = self.amp and x.device.type == "cuda"
        with torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext():
            logits = self.module_(x, **fit_params)
        return logits.float()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion applied to the module's logits.

        Parameters
        ----------
        y_pred : torch.Tensor
            Logits of a batch.
        y_true : torch.Tensor or ndarray
            Their encoded labels.
        X : object, default=None
            The batch's input; unused.
        training : bool, default=False
            Whether the loss is for a training step; unused.

        Returns
        -------
        loss : torch.Tensor
            A scalar.
        """
        # skorch's own version would move y_true to self.device, which may say "auto".
        return self.criterion_(y_pred, self._to_device(y_true))

    def _to_device(self, batch):
        """Move a batch to the device; from pinned memory without blocking the host.

        skorch's ``to_tensor`` copies synchronously; on a GPU the host then
        waits for every batch (with it, fit ran at 0.86 of a plain PyTorch
        loop's speed on an H100; see benchmarks/results/).
        """
        if self.device_ is None:  # placement left to the caller
            return batch if isinstance(batch, torch.Tensor) else to_tensor(batch, device=None)
        if isinstance(batch, torch.Tensor):
            return batch.to(self.device_, non_blocking=batch.is_pinned())
        return to_tensor(batch, device=self.device_)

    # ----------------------------------------------------------- prediction
    def predict_proba(self, X):
        """Probability of each class, columns in ``classes_`` order.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images of the channels and size the network was fitted on.

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            Probabilities, columns in ``classes_`` order.
        """
        check_is_fitted(self)  # via __sklearn_is_fitted__ below
        # skorch's callbacks pass its own Dataset of validated training data.
        if not isinstance(X, torch.utils.data.Dataset):
            X = self._check_fitted_input(X)
        nonlinearity = self._get_predict_nonlinearity()
        # The output device is named: skorch's cached validation predictions
        # would otherwise go to self.device, which may read "auto".
        batches = self.forward_iter(X, training=False, device="cpu")
        return np.concatenate([to_numpy(nonlinearity(logits)) for logits in batches])

    def embed(self, X, *, return_proba=False):
        """The network's penultimate features of each image (the input of its last Linear layer).

        What the network has made of each image just before deciding: the
        input guard measures how far a film lies from the training films in
        this space.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as given to ``predict_proba``.
        return_proba : bool, default=False
            Also return ``predict_proba(X)``, from the same pass through the
            network (one forward pass gives both).

        Returns
        -------
        features : ndarray of shape (n_samples, n_features), float32
            The penultimate features.
        proba : ndarray of shape (n_samples, 2)
            Only with ``return_proba=True``.
        """
        check_is_fitted(self)
        X = self._check_fitted_input(X)
        self.module_.eval()
        features, probas = [], []
        nonlinearity = self._get_predict_nonlinearity()
        with torch.no_grad():
            for batch in self.get_iterator(self.get_dataset(X), training=False):
                x = self._to_device(batch[0] if isinstance(batch, (tuple, list)) else batch)
                logits, batch_features = self._forward_with_features(x)
                features.append(to_numpy(batch_features.float()))
                if return_proba:
                    probas.append(to_numpy(nonlinearity(logits.float())))
        features = np.concatenate(features)
        return (features, np.concatenate(probas)) if return_proba else features

    def _forward_with_features(self, x):
        amp = self.amp and x.device.type == "cuda"
        with torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext():
            return self.module_.forward_with_features(x)

    def _check_fitted_input(self, X):
        """X as an image batch of the channels and size the network was fitted on."""
        channels, *size = self.input_shape_
        return check_image_batch(X, channels=channels, size=tuple(size))

    def predict(self, X):
        """Most probable class label of each image (threshold 0.5).

        For a screening operating point, wrap the classifier in
        :class:`~sklearn.model_selection.TunedThresholdClassifierCV` or
        :class:`~sklearn.model_selection.FixedThresholdClassifier`.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as for ``predict_proba``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            One of ``classes_`` per image.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    # classes_ is a read-only property on skorch's classifier; store it in
    # the instance dict so that it pickles and counts as fitted state.
    @property
    def classes_(self):
        try:
            return self.__dict__["classes_"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no attribute 'classes_' before fit."
            ) from None

    @classes_.setter
    def classes_(self, value):
        self.__dict__["classes_"] = value

    def __sklearn_is_fitted__(self):
        return "classes_" in vars(self) and bool(getattr(self, "initialized_", False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Image batches (n, channels, H, W), or (n, H, W) for one channel; never a 2-D
        # feature matrix. Two classes only.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_class = False
        return tags

    # --------------------------------------------------------------- device
    def _uses_cuda(self):
        device = self.device_ if self.initialized_ else resolve_device(self.device)
        return device is not None and device.type == "cuda"

    @contextmanager
    def _skorch_placement(self):
        """Let skorch place tensors on ``device_`` while ``device`` stays "auto".

        skorch moves the module and criterion to ``self.device`` when it
        builds them and maps loaded weights there; it cannot read "auto".
        Only those synchronous calls see the resolved device.
        """
        if not (isinstance(self.device, str) and self.device == "auto" and hasattr(self, "device_")):
            yield
            return
        self.device = self.device_
        try:
            yield
        finally:
            self.device = "auto"

    @contextmanager
    def _seeded(self, seed):
        """Seed torch for this fit only; the caller's global RNG state is restored."""
        if seed is None:
            yield
            return
        devices = [torch.cuda.current_device()] if self._uses_cuda() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    def __setstate__(self, state):
        # A model fitted with device="auto" on a GPU loads on a CPU-only
        # machine: its tensors are mapped to what "auto" means here.
        auto = isinstance(state.get("device"), str) and state["device"] == "auto"
        if auto:
            state["device"] = resolve_device("auto")
        super().__setstate__(state)
        if auto:
            self.device = "auto"
        if "device_" in state:
            self.device_ = resolve_device(self.device)
        # Older pickles may hold a network left in training mode.
        if isinstance(getattr(self, "module_", None), torch.nn.Module):
            self.module_.eval()


def _state_mismatch(expected, saved):
    """How a saved ``state_dict`` differs from the network's, in one line ("" when it fits).

    torch's own message lists every key on lines of its own; this counts
    them and names the first few.
    """
    def some(keys):
        keys = sorted(keys)
        return ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")

    missing, unexpected = set(expected) - set(saved), set(saved) - set(expected)
    reshaped = {key for key in set(expected) & set(saved)
                if tuple(expected[key].shape) != tuple(getattr(saved[key], "shape", ()))}
    parts = []
    if missing:
        parts.append(f"{len(missing)} tensor(s) missing ({some(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected ({some(unexpected)})")
    if reshaped:
        key = sorted(reshaped)[0]
        parts.append(f"{len(reshaped)} of another shape ({key}: saved "
                     f"{tuple(saved[key].shape)}, the network has {tuple(expected[key].shape)})")
    return "; ".join(parts)
