"""The training defaults of fit_screener, and how they were chosen.

Chosen on validation numbers only (benchmarks/site_defaults.py: the Kermany
test split taken as a new site, its first cross-fitting fold's adaptation
films split again by patient; the evaluated fold had no say), by a rule
written before the runs: the highest validation AUC, ties within 0.002 broken
by specificity at 95% sensitivity, then by the cheaper candidate. The study
and its table are in ``benchmarks/results/README.md`` ("Site adaptation
defaults") and ``benchmarks/results/cpu-site-defaults.json``.
"""

FINE_TUNE = {
    "lr": 1e-3,
    "epochs": 3,
    "freeze": ["early"],  # ResNet's stem and first stage: see _RESNET_EARLY
    "batch_size": 32,
}
FROM_SCRATCH = {
    "epochs": 16,
}

# Below this many films, fit_screener warns that training may rank worse than the base
# model. Measured on the site-adaptation benchmark (benchmarks/results/cpu-site-adaptation,
# the Kermany test split as a site, pooled held-out folds, 3 seeds): with 195 films or
# fewer, fine-tuning ranked worse than the shipped weights (AUC 0.937-0.951 against 0.967)
# and from scratch no better (0.791-0.967), and results swung with the seed; with 499
# films both ranked better (0.976 and 0.985). Between 200 and 500 is unmeasured: the
# warning starts a little above the largest size that lost.
SMALL_SITE_FILMS = 250

# Layers frozen by name for the networks that have them (ResNet's stem and first stage).
_RESNET_EARLY = ["network.conv1.*", "network.bn1.*", "network.layer1.*"]


def freeze_patterns(freeze, classifier):
    """The parameter-name patterns ``freeze`` names, checked against the network's parameters.

    "early" is ResNet's stem and first stage, where the defaults were chosen;
    other networks have no such named part, and nothing is frozen for them.
    """
    from fnmatch import fnmatch

    names = [name for name, _ in classifier.module_.named_parameters()]
    is_resnet = any(fnmatch(name, _RESNET_EARLY[-1]) for name in names)
    patterns = [p for name in freeze
                for p in ((_RESNET_EARLY if is_resnet else []) if name == "early" else [name])]
    unmatched = [p for p in patterns if not any(fnmatch(name, p) for name in names)]
    if unmatched:
        raise ValueError(f"freeze patterns {unmatched} match no parameter of the network "
                         f"({names[0]}, {names[1]}, ...).")
    return patterns
