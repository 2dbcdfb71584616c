"""Class activation heatmaps: where in the film the network's evidence lies.

Two gradient-based variants over the last convolutional feature maps A_k:

- ``"gradcam"`` (Selvaraju et al., ICCV 2017): ReLU(sum_k mean(dS/dA_k) A_k),
  each channel weighted by its spatially averaged gradient.
- ``"hirescam"`` (Draelos & Carin, arXiv:2011.08891, 2020):
  ReLU(sum_k dS/dA_k * A_k), element-wise, so the map shows the locations
  that actually raised the score S.

HiResCAM is the default: on a network trained to find a bright blob,
Grad-CAM's averaged weights came out negative for every channel and gave
empty maps, while HiResCAM put the peak on the blob in every image
(tests/test_explain_and_plot.py).
"""

from numbers import Integral

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils.validation import check_is_fitted
from torchvision.models import DenseNet, EfficientNet, MobileNetV3, ResNet

from .._compat import StrictInterval, StrOptions, validate_params
from ..models import CXRNet

# The last block of feature maps before global pooling, per family.
_DEFAULT_LAYERS = {
    CXRNet: "features",
    ResNet: "layer4",
    DenseNet: "features",
    EfficientNet: "features",
    MobileNetV3: "features",
}


def default_target_layer(module):
    """Name of the layer Grad-CAM reads for ``module``: the last feature block."""
    for family, name in _DEFAULT_LAYERS.items():
        if isinstance(module, family):
            return name
    convs = [name for name, m in module.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise ValueError(
            f"{type(module).__name__} has no Conv2d layer: Grad-CAM needs convolutional feature maps."
        )
    return convs[-1]


def _log_odds(logits, class_index):
    """The class's logit against the log-sum-exp of the others.

    With softmax outputs only differences of logits matter: a network may
    signal PNEUMONIA by lowering the NORMAL logit as well as by raising its
    own. The log-odds captures both and, unlike the log-probability, does
    not vanish when the model is confident.
    """
    others = torch.cat([logits[:, :class_index], logits[:, class_index + 1:]], dim=1)
    return logits[:, class_index] - torch.logsumexp(others, dim=1)


CAM_METHODS = ("hirescam", "gradcam")


@validate_params(
    {"classifier": "no_validation", "X": ["array-like"], "target_class": "no_validation",
     "layer": [str, None], "method": [StrOptions(set(CAM_METHODS))],
     "batch_size": [StrictInterval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def gradcam(classifier, X, *, target_class=None, layer=None, method="hirescam", batch_size=32):
    """Class activation heatmap of each image, at input resolution, in [0, 1].

    The gradients are those of the class's log-odds (its logit against
    the others'). The network is run in evaluation mode exactly as ``predict_proba`` runs
    it (same intensity normalisation, no augmentation). Only gradients with
    respect to the feature maps are computed: the parameters, their
    ``.grad`` and the module's training mode are left as they were.

    Parameters
    ----------
    classifier : fitted CXRClassifier
        Any whose module has convolutional layers.
    X : ndarray of shape (n_samples, channels, height, width)
        Images as given to ``predict_proba``.
    target_class : label, default=None
        The class whose evidence to show; by default the second of
        ``classes_`` (the positive class, e.g. PNEUMONIA).
    layer : str, default=None
        Name of the module (``module_.named_modules()``) whose output
        feature maps are used; by default the last feature block.
    method : {"hirescam", "gradcam"}, default="hirescam"
        How gradients weight the feature maps (see the module docstring).
    batch_size : int, default=32
        Images per forward/backward pass.

    Returns
    -------
    heatmaps : ndarray of shape (n_samples, height, width), float32
        0 where there is no evidence for ``target_class``, 1 at each
        image's strongest evidence.
    """
    check_is_fitted(classifier)
    if not hasattr(classifier, "module_") or not hasattr(classifier.module_, "network"):
        raise TypeError(
            f"gradcam needs a fitted CXRClassifier; got {type(classifier).__name__}. For a "
            "Pipeline or Screener pass its classifier, e.g. pipeline[-1]."
        )
    X = classifier._check_fitted_input(X)
    classes = list(classifier.classes_)
    target_class = classes[-1] if target_class is None else target_class
    if target_class not in classes:
        raise ValueError(f"target_class {target_class!r} is not one of classes_ {classes}.")
    class_index = classes.index(target_class)
    # module_ takes raw batches itself (its input head scales and normalises
    # them exactly as predict_proba does); layer names are the network's.
    module = classifier.module_
    network = module.network
    layer = default_target_layer(network) if layer is None else layer
    try:
        target = network.get_submodule(layer)
    except (AttributeError, TypeError):
        convolutional = [name for name, m in network.named_modules()
                         if name and any(isinstance(c, torch.nn.Conv2d) for c in m.modules())]
        raise ValueError(
            f"{type(network).__name__} has no layer {layer!r}; layers with feature maps: "
            f"{convolutional[:12]}{' ...' if len(convolutional) > 12 else ''}."
        ) from None

    captured = {}
    handle = target.register_forward_hook(lambda _m, _i, output: captured.update(maps=output))
    was_training = module.training
    module.eval()
    heatmaps = []
    try:
        for start in range(0, len(X), batch_size):
            x = classifier._to_device(torch.as_tensor(X[start:start + batch_size]))
            with torch.enable_grad():
                logits = module(x)
                maps = captured["maps"]
                (grads,) = torch.autograd.grad(_log_odds(logits, class_index).sum(), maps)
            weights = grads if method == "hirescam" else grads.mean(dim=(2, 3), keepdim=True)
            cam = F.relu((weights * maps).sum(dim=1, keepdim=True)).detach()
            cam = F.interpolate(cam.float(), size=x.shape[-2:], mode="bilinear",
                                align_corners=False)
            cam = cam / cam.amax(dim=(2, 3), keepdim=True).clamp_min(1e-12)
            heatmaps.append(cam[:, 0].cpu().numpy().astype(np.float32))
    finally:
        handle.remove()
        module.train(was_training)
    return np.concatenate(heatmaps)
