"""The training defaults of fit_screener, and how they were chosen.

Chosen on validation numbers only (benchmarks/site_defaults.py: the Kermany
test split taken as a new site, its first cross-fitting fold's adaptation
films split again by patient; the evaluated fold had no say). The study and
its table are in ``benchmarks/results/README.md`` ("Site adaptation
defaults").
"""

FINE_TUNE = {
    "lr": 3e-4,
    "epochs": 4,
    "freeze": [],
    "batch_size": 32,
}
FROM_SCRATCH = {
    "epochs": 8,
}

# Layers frozen by name for the networks that have them (ResNet's stem and first stage).
_RESNET_EARLY = ["network.conv1.*", "network.bn1.*", "network.layer1.*"]


def freeze_patterns(freeze, classifier):
    """The parameter-name patterns ``freeze`` names, checked against the network's parameters."""
    from fnmatch import fnmatch

    patterns = list(freeze)
    if patterns == ["early"]:
        patterns = _RESNET_EARLY
    names = [name for name, _ in classifier.module_.named_parameters()]
    unmatched = [p for p in patterns if not any(fnmatch(name, p) for name in names)]
    if unmatched:
        raise ValueError(f"freeze patterns {unmatched} match no parameter of the network "
                         f"({names[0]}, {names[1]}, ...).")
    return patterns
