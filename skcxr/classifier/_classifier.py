"""CXRClassifier: a skorch NeuralNetClassifier that behaves like a scikit-learn classifier."""

import numbers
from contextlib import contextmanager, nullcontext
from types import MappingProxyType

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.utils import to_numpy, to_tensor
from torch.utils.data import Subset

from .._versioning import VersionedPickleMixin
from ..models import get_module_factory
from ._augment import resolve_augmentation
from ._callbacks import LR_SCHEDULES, default_callbacks, is_positive_number
from ._presets import preset_params
from ._intensity import NORMALIZATIONS, dataset_statistics
from ._network import InputHead, NetworkWithInputHead
from ._split import holdout_indices
from ._validation import check_binary_target, check_image_batch


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
    ``iterator_train__*``, ``callbacks``); the defaults are the original
    project's network and optimiser.

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
        return the average instead of the last step's weights; see
        :class:`~skcxr.classifier.WeightAveraging`. It takes out much of
        the seed-to-seed spread of the final weights.
    device : str, default="auto"
        ``"auto"`` uses CUDA when present, else the CPU; or any torch device.
    amp : bool, default=True
        bfloat16 mixed precision on CUDA (ignored on the CPU).
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
        for name in ("initialized_", "history_", "virtual_params_"):
            vars(self).pop(name, None)

    def _get_param_names(self):
        # skorch lists every public attribute; its private bookkeeping
        # (_params_to_validate) is no parameter.
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    @classmethod
    def from_preset(cls, name, **params):
        """A classifier with a named preset's parameters, overridden by ``params``.

        ``"original"``: the student project's CNN+FC and SGD (the defaults).
        ``"recommended"``: skcxr's recipe, ResNet-18 from scratch with AdamW
        and strong contrast/gamma augmentation; see the user guide for how
        it was chosen and what it scores.
        ``"compact"``: a wider CXRNet with batch norm and the same optimiser
        and augmentation idea, at a fraction of ResNet-18's compute.

        Examples
        --------
        >>> clf = CXRClassifier.from_preset("recommended", max_epochs=10, random_state=0)
        >>> clf.module, clf.max_epochs
        ('resnet18', 10)
        """
        return cls(**{**preset_params(name), **params})

    @classmethod
    def from_pretrained(cls, name, **params):
        """The fitted network of pretrained screener ``name``, as an array-level classifier.

        For users who build their own pipeline: it takes image batches at the
        card's input size (``skcxr.pretrained.get_card(name)["loader"]``
        says how the images were loaded). :func:`skcxr.load_pretrained`
        gives the whole screener over file paths instead.

        Parameters
        ----------
        name : str
            One of :func:`skcxr.list_pretrained`.
        **params
            Classifier parameters to override, e.g. ``device="cpu"``.
        """
        from ..pretrained import pretrained_classifier

        classifier = pretrained_classifier(name, **params)
        if type(classifier) is not cls:
            raise TypeError(f"Pretrained {name!r} is a {type(classifier).__name__}, not a {cls.__name__}.")
        return classifier

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, groups=None, **fit_params):
        """Train the network on an image batch.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            uint8 images, or floats in [0, 1] (what ImageLoader returns).
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
        """
        self._check_params()
        X = check_image_batch(X)
        y = check_binary_target(y, len(X))
        classes, y_encoded = np.unique(y, return_inverse=True)
        self.classes_ = classes
        self.input_shape_ = X.shape[1:]
        self.class_weight_ = (
            None if self.class_weight is None
            else compute_class_weight(self.class_weight, classes=classes, y=y)
        )
        if self.normalization == "dataset":
            self.intensity_mean_, self.intensity_std_ = dataset_statistics(X)
        rng = check_random_state(self.random_state)
        self._split_seed_ = rng.randint(np.iinfo(np.int32).max)
        torch_seed = None if self.random_state is None else rng.randint(np.iinfo(np.int32).max)
        self._split_groups_ = groups
        try:
            with self._seeded(torch_seed):
                super().fit(X, y_encoded.astype(np.int64), **fit_params)
        finally:
            del self._split_groups_
        return self


    def _check_params(self):
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {NORMALIZATIONS}; got {self.normalization!r}."
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}; got {self.lr_schedule!r}.")
        resolve_augmentation(self.augmentation)
        fraction = self.validation_fraction
        if fraction is not None and not (is_positive_number(fraction) and fraction < 1):
            raise ValueError(f"validation_fraction must be None or in (0, 1); got {fraction!r}.")
        averaging = self.weight_averaging
        if averaging is not None and not (is_positive_number(averaging) and averaging < 1):
            raise ValueError(
                f"weight_averaging must be None or an EMA decay in (0, 1); got {averaging!r}."
            )
        if self.patience is not None and not (
            isinstance(self.patience, numbers.Integral) and self.patience > 0
        ):
            raise ValueError(f"patience must be None or a positive int; got {self.patience!r}.")
        if isinstance(self.module, str):
            get_module_factory(self.module)

    # ------------------------------------------------- skorch customisation
    def initialize(self):
        # "auto" is resolved once, here; everything after uses device_.
        self.device_ = resolve_device(self.device)
        with self._skorch_placement():
            return super().initialize()

    def set_params(self, **params):
        """Set parameters, as in skorch; ``callbacks`` are checked when the net is initialised."""
        if "callbacks" in params and not self.initialized_:
            self.callbacks = params.pop("callbacks")
        # On an initialised net skorch rebuilds and places the module here.
        with self._skorch_placement():
            return super().set_params(**params)

    def load_params(self, *args, **kwargs):
        """Load saved weights, as in skorch, onto the device the net was initialised on."""
        with self._skorch_placement():
            return super().load_params(*args, **kwargs)

    def initialize_module(self):
        """Build ``module_``: the network behind an :class:`InputHead`.

        The head carries the intensity scaling, the training-time
        augmentation and the normalisation statistics, so ``module_`` maps a
        raw image batch to logits by itself.
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
        return self

    def initialize_criterion(self):
        kwargs = self.get_params_for("criterion")
        weight = getattr(self, "class_weight_", None)
        if weight is not None and "weight" not in kwargs:
            kwargs["weight"] = torch.as_tensor(weight, dtype=torch.float32)
        self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        return self

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        if prefix == "optimizer" and self.optimizer is torch.optim.SGD:
            kwargs.setdefault("momentum", 0.9)  # the original project's setting
        return args, kwargs

    def get_params_for(self, prefix):
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
        if self.train_split is not None or self.validation_fraction is None:
            return super().get_split_datasets(X, y, **fit_params)
        dataset = self.get_dataset(X, y)
        train_idx, valid_idx = holdout_indices(
            y, getattr(self, "_split_groups_", None), self.validation_fraction,
            getattr(self, "_split_seed_", None),
        )
        return Subset(dataset, train_idx), Subset(dataset, valid_idx)

    def infer(self, x, **fit_params):
        x = self._to_device(x)
        amp = self.amp and x.device.type == "cuda"
        with torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext():
            logits = self.module_(x, **fit_params)
        return logits.float()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        # The module returns logits for the criterion (CrossEntropyLoss);
        # skorch's own version would move y_true to self.device, which may
        # say "auto".
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

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
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

    def embed(self, X):
        """The network's penultimate features of each image (the input of its last Linear layer).

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width)
            Images as given to ``predict_proba``.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features), float32
        """
        check_is_fitted(self)
        X = self._check_fitted_input(X)
        self.module_.eval()
        features = []
        with torch.no_grad():
            for batch in self.get_iterator(self.get_dataset(X), training=False):
                x = self._to_device(batch[0] if isinstance(batch, (tuple, list)) else batch)
                features.append(self.module_.embed(x).float().cpu().numpy())
        return np.concatenate(features)

    def _check_fitted_input(self, X):
        """X as an image batch of the channels and size the network was fitted on."""
        channels, *size = self.input_shape_
        return check_image_batch(X, channels=channels, size=tuple(size))

    def predict(self, X):
        """Most probable class label of each image (threshold 0.5).

        For a screening operating point, wrap the classifier in
        :class:`~sklearn.model_selection.TunedThresholdClassifierCV` or
        :class:`~sklearn.model_selection.FixedThresholdClassifier`.
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
