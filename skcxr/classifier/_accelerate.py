"""CXRClassifier trained data-parallel on several GPUs with Hugging Face accelerate.

skorch's :class:`~skorch.hf.AccelerateMixin` does the distributed work: it
lets the Accelerator wrap the network in DistributedDataParallel, shard the
data loaders, own mixed precision and gather predictions. What is here fits
CXRClassifier to it: placement, mixed precision and caching switched over to
accelerate, one validation split and one initial network for all processes,
a merged history, and a plain CXRClassifier to save at the end.
"""

import hashlib
import os

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from skorch.hf import AccelerateMixin
from skorch.history import DistributedHistory, History

from .._compat import HasMethods
from ._classifier import CXRClassifier, resolve_device

INSTALL_HINT = "pip install 'skcxr[accelerate]'"

# Parameters of the accelerated classifier only; to_classifier() drops them.
_ACCELERATE_PARAMS = ("accelerator", "unwrap_after_train", "callbacks__print_log__sink")

def accelerate_utils():
    """``accelerate.utils``, or an ImportError with the install hint."""
    try:
        from accelerate import utils
    except ImportError as exc:
        raise ImportError(f"AcceleratedCXRClassifier needs Hugging Face accelerate: {INSTALL_HINT}.") from exc
    return utils


class AcceleratedCXRClassifier(AccelerateMixin, CXRClassifier):
    """CXRClassifier trained data-parallel with Hugging Face accelerate (several GPUs, one model).

    Run the training script on every process with ``accelerate launch``;
    each process builds the same classifier around its own
    :class:`accelerate.Accelerator` and calls ``fit`` on the same data. Each
    process trains on its share of every epoch's batches and the gradients
    are averaged across processes (DistributedDataParallel), so all of them
    hold the same weights. This is skorch's
    :class:`~skorch.hf.AccelerateMixin` fitted to CXRClassifier:

    - The Accelerator places the network and the batches (``device=None``)
      and owns mixed precision: ``Accelerator(mixed_precision="bf16")``
      replaces CXRClassifier's ``amp``, which must stay False here.
    - The validation split and the initial weights come from seeds the main
      process draws (from ``random_state``) and sends to all processes, and
      fit checks that every process was given the same images, labels and
      patient ids, so the patient-grouped split is the same everywhere. From
      the first training step on, each process draws its own augmentation
      and dropout (the main process's are a CXRClassifier's: with one
      process, fit computes exactly what CXRClassifier's does).
    - With several processes the history is skorch's
      :class:`~skorch.history.DistributedHistory`, which merges the batch
      losses of all processes: training and validation loss, early stopping
      and the learning-rate schedule see the whole epoch, alike everywhere.
    - Scoring callbacks do not cache (``use_caching=False``): each process
      would cache its own share of the validation batches. Validation AUC
      and accuracy are computed from predictions gathered from all
      processes (one validation pass each, on every process).
    - ``predict_proba``, ``predict`` and ``embed`` are collective: call them
      on every process; each gets all the predictions.
    - It does not pickle. :meth:`to_classifier` returns the fitted model as a
      plain :class:`CXRClassifier`, to save on the main process and to load
      and use anywhere, without accelerate.

    Parameters
    ----------
    module : str, torch.nn.Module class or instance, default="cxrnet"
        As in :class:`CXRClassifier`.
    accelerator : accelerate.Accelerator
        This process's Accelerator; its settings (``mixed_precision``,
        ``gradient_accumulation_steps``, ...) apply to training.
    device : str, torch.device or None, default=None
        Must be None while the Accelerator places tensors
        (``device_placement=True``, its default).
    amp : bool, default=False
        Must be False: mixed precision is the Accelerator's.
    use_caching : bool, default=False
        Must be False (see above).
    unwrap_after_train : bool, default=True
        Take the network out of its distributed wrapper after training
        (after the callbacks have restored the best or averaged weights).
        ``partial_fit`` and ``warm_start`` wrap it again before training.
    callbacks__print_log__sink : "auto" or callable, default="auto"
        ``"auto"`` prints the epoch log (``verbose``) on the main process
        only.
    **kwargs
        Every other :class:`CXRClassifier` parameter. ``batch_size`` is per
        process: an optimiser step sees ``batch_size * num_processes``
        images.

    Attributes
    ----------
    classes_, module_, class_weight_, input_shape_, history_
        As in :class:`CXRClassifier`; ``module_`` is the bare network after
        training unless ``unwrap_after_train=False``.
    device_ : torch.device or None
        None: the Accelerator places tensors (on ``accelerator.device``).

    See Also
    --------
    CXRClassifier : The single-device classifier, which to_classifier returns.

    Examples
    --------
    A script run with ``accelerate launch --multi_gpu --num_processes 4 train.py``:

    >>> import joblib
    >>> from accelerate import Accelerator  # doctest: +SKIP
    >>> from skcxr import AcceleratedCXRClassifier
    >>> accelerator = Accelerator(mixed_precision="bf16")  # doctest: +SKIP
    >>> net = AcceleratedCXRClassifier("resnet18", accelerator=accelerator,
    ...                                random_state=0)  # doctest: +SKIP
    >>> net.fit(X, y, groups=patients)  # doctest: +SKIP
    >>> if accelerator.is_main_process:  # doctest: +SKIP
    ...     joblib.dump(net.to_classifier(), "cxr.joblib")
    """

    _parameter_constraints = {
        **CXRClassifier._parameter_constraints,
        "accelerator": [HasMethods(["prepare", "gather_for_metrics", "unwrap_model"])],
        "unwrap_after_train": ["boolean"],
    }

    def __init__(
        self,
        module="cxrnet",
        *,
        accelerator,
        device=None,
        amp=False,
        use_caching=False,
        unwrap_after_train=True,
        callbacks__print_log__sink="auto",
        **kwargs,
    ):
        super().__init__(
            module,
            accelerator=accelerator,
            device=device,
            amp=amp,
            use_caching=use_caching,
            unwrap_after_train=unwrap_after_train,
            callbacks__print_log__sink=callbacks__print_log__sink,
            **kwargs,
        )

    # ------------------------------------------------------------ checks
    def _check_params(self):
        super()._check_params()
        accelerate_utils()  # the install hint before any work
        if self.amp:
            raise ValueError(
                "amp=True is CXRClassifier's own bfloat16 autocast; under accelerate mixed "
                "precision is the Accelerator's. Pass amp=False and "
                "Accelerator(mixed_precision='bf16') (or 'fp16')."
            )
        if self.use_caching is not False:
            raise ValueError(
                f"use_caching must be False under accelerate; got {self.use_caching!r}. Cached "
                "validation predictions would be each process's share of the batches only."
            )
        if self.device is not None and self.accelerator.device_placement:
            raise ValueError(
                f"device must be None: the Accelerator places the network and the batches "
                f"(device_placement=True, on {self.accelerator.device}); got device={self.device!r}."
            )

    def _prepare_fit(self, X, y, groups, classes=None):
        X, y_encoded, groups = super()._prepare_fit(X, y, groups, classes=classes)
        self._check_same_data(X, y_encoded, groups)
        return X, y_encoded, groups

    def _check_same_data(self, X, y, groups):
        """Every process must train on the same images, labels and patients, in the same order.

        The shards and the validation split are positions in this data; on
        different data they would overlap or miss images without an error.
        The digest reads the labels, the patient ids and every 8th pixel
        row and column.
        """
        digest = hashlib.sha256()
        digest.update(repr((X.shape, X.dtype.str)).encode())
        digest.update(np.ascontiguousarray(X[:, :, ::8, ::8]).tobytes())
        digest.update(np.ascontiguousarray(y).tobytes())
        if groups is not None:
            digest.update(repr(np.asarray(groups).tolist()).encode())
        digests = accelerate_utils().gather_object([digest.hexdigest()])
        if len(set(digests)) > 1:
            raise ValueError(
                f"The {len(digests)} processes were given different training data (images, labels "
                "or patient ids, or their order); every process must fit on the same X, y and groups."
            )

    # ----------------------------------------------------- initialisation
    def initialize(self):
        """Build the network, loss, optimiser and callbacks, then prepare them with the Accelerator.

        Returns
        -------
        self : AcceleratedCXRClassifier
            Initialised.
        """
        self.device_ = resolve_device(self.device)  # None: accelerate places tensors
        # Everything is built anew here and needs preparing; skorch's flag
        # would leave a refit's new network unwrapped.
        self._wrapped_with_accelerator = False
        with self._skorch_placement():
            return super().initialize()  # AccelerateMixin's: build, then accelerator.prepare

    def _initialize_accelerator(self):
        # skorch's version prepares the loss too, but DistributedDataParallel
        # refuses a module without trainable parameters (the loss keeps its
        # class weights in a buffer): here the loss is only placed.
        if self._wrapped_with_accelerator:
            return self
        from accelerate.optimizer import AcceleratedOptimizer

        if self.accelerator.device_placement:
            self.criterion_ = self.criterion_.to(self.accelerator.device)
        self.module_ = self.accelerator.prepare(self.module_)
        optimizer = self.optimizer_
        if isinstance(optimizer, AcceleratedOptimizer):  # wrapping again for partial_fit
            optimizer = optimizer.optimizer
        self.optimizer_ = self.accelerator.prepare(optimizer)
        self._wrapped_with_accelerator = True
        return self

    def _initialize_callbacks(self):
        sink = self.callbacks__print_log__sink
        if isinstance(sink, str) and sink == "auto":
            # The main process prints the epoch log. skorch's PrintLog
            # honours verbose only with the builtin print as its sink, which
            # AccelerateMixin's accelerator.print is not.
            self.callbacks__print_log__sink = print if self.accelerator.is_main_process else _discard
        try:
            return super()._initialize_callbacks()
        finally:
            self.callbacks__print_log__sink = sink  # fit leaves parameters as given

    def initialize_history(self):
        """Start skorch's history; with several processes, a DistributedHistory merging their batches.

        Returns
        -------
        self : AcceleratedCXRClassifier
            With ``history_`` set.
        """
        if self.accelerator.num_processes == 1:
            return super().initialize_history()
        # Each process records the losses of its own batches; the merged
        # history gives every process the epoch's losses over all batches,
        # so early stopping and the schedule decide alike everywhere.
        self.history_ = DistributedHistory(
            store=_shared_store(self.accelerator),
            rank=self.accelerator.process_index,  # global: unique across hosts
            world_size=self.accelerator.num_processes,
        )
        return self

    def _draw_seeds(self):
        split_seed, torch_seed = super()._draw_seeds()
        if torch_seed is None:  # unseeded, yet every process must build the same network
            torch_seed = int(np.random.default_rng().integers(np.iinfo(np.int32).max))
        # The main process's seeds hold for all: one split, one initial network.
        split_seed, torch_seed = accelerate_utils().broadcast_object_list([split_seed, torch_seed])
        rank = self.accelerator.process_index
        if rank > 0:  # the main process goes on as a CXRClassifier would; the others reseed
            self._process_seed = int(np.random.SeedSequence([torch_seed, rank]).generate_state(1)[0])
        return split_seed, torch_seed

    def _uses_cuda(self):
        if self.device is None:
            return self.accelerator.device.type == "cuda"
        return super()._uses_cuda()

    # ------------------------------------------------------------ training
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Prepare the network with the Accelerator (again, after an unwrapped fit) and seed this process.

        Parameters
        ----------
        net : AcceleratedCXRClassifier
            This classifier (skorch passes it to every hook).
        X, y : ndarray, default=None
            The training data.
        **kwargs
            As skorch's hook.
        """
        # After an unwrapped fit, partial_fit and warm_start train again:
        # unwrapped, each process would follow its own batches and drift apart.
        self._initialize_accelerator()
        super().on_train_begin(net, X=X, y=y, **kwargs)
        seed = vars(self).pop("_process_seed", None)
        if seed is not None:
            # The network is built (alike everywhere); from here on the
            # processes draw different augmentations and dropout masks.
            torch.manual_seed(seed)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Wait for every process; the network is unwrapped after the callbacks' own hooks.

        Parameters
        ----------
        net : AcceleratedCXRClassifier
            This classifier (skorch passes it to every hook).
        X, y : ndarray, default=None
            The training data.
        **kwargs
            As skorch's hook.
        """
        # AccelerateMixin unwraps here, before the callbacks' on_train_end;
        # early stopping and weight averaging then load state dicts whose
        # keys carry DistributedDataParallel's "module." prefix. notify()
        # unwraps after them instead.
        self.accelerator.wait_for_everyone()
        super(AccelerateMixin, self).on_train_end(net, X=X, y=y, **kwargs)

    def notify(self, method_name, **cb_kwargs):
        """Call the callbacks' hook; after ``on_train_end``, unwrap the network if asked to.

        Parameters
        ----------
        method_name : str
            The callback hook, e.g. ``"on_epoch_end"``.
        **cb_kwargs
            Passed to each callback.
        """
        super().notify(method_name, **cb_kwargs)
        if method_name == "on_train_end" and self.unwrap_after_train:
            self._unwrap_accelerator()

    def _network_for_state(self):
        # The network without the accelerate wrapper (DistributedDataParallel, ...).
        return self.accelerator.unwrap_model(self.module_)

    # ---------------------------------------------------------- prediction
    def _forward_with_features(self, x):
        # Each process embeds its share of the batches; gathering restores
        # the order and drops the padding of the last round.
        logits, features = self.accelerator.unwrap_model(self.module_).forward_with_features(x)
        return (self.accelerator.gather_for_metrics(logits.float()),
                self.accelerator.gather_for_metrics(features.float()))

    def to_classifier(self, **params):
        """The fitted model as a plain :class:`CXRClassifier`: one process, no accelerate.

        It holds a copy of the trained weights, everything ``fit`` learnt
        from the data (``classes_``, ``input_shape_``, ``class_weight_``,
        intensity statistics) and the history, and predicts on one device
        like any CXRClassifier; it pickles and loads where accelerate is
        not installed. It involves no other process: call it and save its
        result on the main process only. The optimiser's state and the
        callbacks' are not carried over.

        Parameters
        ----------
        **params
            CXRClassifier parameters to set on it. By default ``device`` is
            ``"auto"`` and ``amp`` is True when the Accelerator trained in
            bfloat16 (``mixed_precision="bf16"``).

        Returns
        -------
        classifier : CXRClassifier
            Fitted.
        """
        check_is_fitted(self)
        state = self.get_state()
        # The accelerated classifier's own parameters mean nothing to a plain one.
        state["params"] = {name: value for name, value in state["params"].items()
                           if name not in _ACCELERATE_PARAMS}
        settings = {"device": "auto", "amp": self.accelerator.mixed_precision == "bf16",
                    "use_caching": "auto", **params}
        classifier = CXRClassifier.from_state(state, **settings)
        classifier.history_ = History(self.history.to_list())
        return classifier

    def __getstate__(self):
        raise TypeError(
            f"{type(self).__name__} does not pickle: it holds its Accelerator and, while "
            "training, the distributed network. Save to_classifier(), a plain CXRClassifier, "
            "on the main process: `if accelerator.is_main_process: "
            "joblib.dump(net.to_classifier(), path)`."
        )


def _discard(*args, **kwargs):
    """Print nothing: the epoch log's sink on processes other than the main one."""


def _shared_store(accelerator):
    """A key-value store all processes share: the main process serves it on a free port.

    Its address is the launcher's ``MASTER_ADDR`` (the main process's host);
    the port the main process got is sent to the others.
    """
    from torch.distributed import TCPStore

    host = os.environ.get("MASTER_ADDR", "127.0.0.1")
    world_size = accelerator.num_processes
    store = port = None
    if accelerator.is_main_process:
        store = TCPStore(host, 0, world_size, is_master=True, wait_for_workers=False)
        port = store.port
    [port] = accelerate_utils().broadcast_object_list([port])
    if store is None:
        store = TCPStore(host, port, world_size, is_master=False)
    return store
