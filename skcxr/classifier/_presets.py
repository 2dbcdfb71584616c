"""Named parameter sets for CXRClassifier: the original CNN+FC network and skcxr's recipes."""

import torch

from ._augment import RandomAugment

PRESETS = {
    # A small CNN+FC network (CXRNet) with SGD and light augmentation:
    # CXRClassifier's defaults.
    "original": dict(
        module="cxrnet",
        optimizer=torch.optim.SGD,
        lr=0.015,
        batch_size=54,
        augmentation=1.0,
        normalization="per_image",
    ),
    # ResNet-18 trained from scratch (1-channel stem, no downloaded weights)
    # with AdamW and strong contrast/gamma augmentation, for the exposure and
    # contrast shifts between sites. How it was chosen:
    # benchmarks/results/README.md.
    "recommended": dict(
        module="resnet18",
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        batch_size=32,
        augmentation=RandomAugment(brightness=0.15, contrast=0.45, gamma=0.45),
        normalization="per_image",
        max_epochs=30,
        patience=8,
    ),
    # A wider CXRNet (batch norm, dropout) with the same optimiser and
    # augmentation idea: a fraction of ResNet-18's compute, for CPUs and
    # quick experiments.
    "compact": dict(
        module="cxrnet",
        module__channels=(32, 64, 96, 128),
        module__kernel_size=3,
        module__batch_norm=True,
        module__hidden_units=256,
        module__dropout=0.3,
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=1e-4,
        lr=1e-3,
        batch_size=32,
        augmentation=RandomAugment(rotation=10, scale=0.12, shift=0.08, brightness=0.15,
                                   contrast=0.45, gamma=0.45),
        normalization="per_image",
        max_epochs=30,
        patience=8,
    ),
}


def preset_params(name):
    """The parameters of preset ``name`` (a fresh copy)."""
    try:
        params = PRESETS[name]
    except KeyError:
        raise ValueError(f"Unknown preset {name!r}; known presets: {sorted(PRESETS)}.") from None
    return {k: (v.__class__(**v.get_params()) if isinstance(v, RandomAugment) else v)
            for k, v in params.items()}
