"""Does a backend score like the PyTorch network it came from? Measured on reference films.

An fp32 graph computes what PyTorch computes, up to float rounding, so its
probabilities must agree to 1e-4. An int8 graph does not: its promise is to
rank and flag films as the fp32 network does, so it is checked on that
(the rank correlation of the networks' scores over the reference films)
and on a bound for the probability difference that no int8 model built by
``benchmarks/build_int8.py`` came near on the validation patients.
"""

from dataclasses import asdict, dataclass

import numpy as np

from ._session import softmax

# Limits per precision. fp32: rounding only (the shipped ResNet-18 differs
# from PyTorch by at most 1e-5 in probability on 513 validation films, and by
# 7e-5 relative in features). int8: the shipped ResNet-18 built by
# benchmarks/build_int8.py, on the 513 validation films of its 285 held-out
# training patients, differs by at most 0.027 in probability, 0.036 relative
# in features, and ranks them with a Spearman correlation of 0.9999 (every
# calibration variant tried: at most 0.055, 0.065, at least 0.9998). A
# build calibrated on too few films (4) reached correlations of 0.96 and
# feature errors of 0.15 to 0.27; these limits fail it, and a graph
# calibrated on flat frames (probabilities off by up to 1).
TOLERANCES = {
    "fp32": dict(atol=1e-4, min_rank_correlation=None, max_feature_error=1e-3),
    "int8": dict(atol=0.1, min_rank_correlation=0.99, max_feature_error=0.15),
}



class BackendMismatchError(RuntimeError):
    """A backend's outputs differ from the PyTorch network's by more than allowed."""


@dataclass(frozen=True)
class BackendCheck:
    """How a backend's outputs compare with the PyTorch network's on reference films.

    Returned by :func:`verify_backend`; the parameters are its attributes.

    Parameters
    ----------
    precision : str
        The backend's precision, whose limits were applied.
    n_images : int
        Reference films compared.
    max_abs_proba_difference : float
        Largest difference of any class probability, over the films.
    max_abs_logit_difference : float
        Largest difference of any logit (saturated films can differ by more
        in logits than their probabilities show).
    flag_agreement : float
        Share of films on the same side of ``threshold`` in both.
    threshold : float
        Positive-class probability used for ``flag_agreement``.
    rank_correlation : float or None
        Spearman correlation of the logit margins (positive minus negative
        class); None for fewer than 3 films or a constant score.
    max_feature_error : float or None
        Largest relative L2 difference of a film's penultimate features;
        None when the backend gives no features.
    limits : dict
        The limits checked: ``atol``, ``min_rank_correlation``,
        ``max_feature_error`` (None: not checked).
    """

    precision: str
    n_images: int
    max_abs_proba_difference: float
    max_abs_logit_difference: float
    flag_agreement: float
    threshold: float
    rank_correlation: float | None
    max_feature_error: float | None
    limits: dict

    def to_dict(self):
        """The check as a JSON-ready dict.

        Returns
        -------
        check : dict
            The fields of the check, plain values only.
        """
        return asdict(self)


def verify_backend(network, reference_images, torch_classifier, *, atol=None,
                   min_rank_correlation=None, max_feature_error=None, threshold=0.5):
    """Compare a backend with the PyTorch classifier it was exported from.

    Both score ``reference_images``; the check fails with
    :class:`BackendMismatchError` when a limit is exceeded. Limits left at
    None are those of the backend's precision (``network.precision``; see
    ``TOLERANCES``): fp32 probabilities within 1e-4 and features within
    1e-3 (relative); int8 probabilities within 0.1, Spearman correlation of
    the logit margins at least 0.99 and features within 0.15 (relative).
    Give an int8 check a hundred films or more of varied scores (e.g. the
    validation films): on a few films, one swapped near-tie weighs heavily
    on a rank correlation.

    Parameters
    ----------
    network : OnnxNetwork
        Anything with ``run(X) -> (logits, features or None)`` and a
        ``precision`` attribute.
    reference_images : ndarray of shape (n, channels, height, width), uint8
        Films the network is meant for (never flat frames: per-image
        normalisation magnifies rounding on them). At least 3 when the
        rank correlation is checked.
    torch_classifier : fitted CXRClassifier
        The network the backend was exported from, run in fp32 on the CPU.
    atol : float, default=None
        Largest allowed probability difference.
    min_rank_correlation : float, default=None
        Smallest allowed Spearman correlation of the margins.
    max_feature_error : float, default=None
        Largest allowed relative feature difference of a film.
    threshold : float, default=0.5
        Positive-class probability at which ``flag_agreement`` is counted
        (reported, not checked: a film at the threshold may flip).

    Returns
    -------
    check : BackendCheck
        The measured differences and the limits they passed.

    Raises
    ------
    BackendMismatchError
        When a checked limit is exceeded.
    """
    from ._reference import check_reference, torch_outputs

    precision = getattr(network, "precision", "unknown")
    defaults = TOLERANCES.get(precision, TOLERANCES["fp32"])
    given = dict(atol=atol, min_rank_correlation=min_rank_correlation,
                 max_feature_error=max_feature_error)
    limits = {key: defaults[key] if value is None else value for key, value in given.items()}
    reference = check_reference(torch_classifier, reference_images)
    if limits["min_rank_correlation"] is not None and len(reference) < 3:
        raise ValueError(f"A rank check needs at least 3 reference films; got {len(reference)}.")

    logits, features = network.run(reference)
    expected_logits, expected_features = torch_outputs(torch_classifier, reference)
    proba, expected_proba = softmax(logits), softmax(expected_logits)
    positive = expected_proba[:, -1] >= threshold
    check = BackendCheck(
        precision=precision, n_images=len(reference),
        max_abs_proba_difference=float(np.abs(proba - expected_proba).max()),
        max_abs_logit_difference=float(np.abs(logits - expected_logits).max()),
        flag_agreement=float(np.mean((proba[:, -1] >= threshold) == positive)),
        threshold=float(threshold),
        rank_correlation=_rank_correlation(logits, expected_logits),
        max_feature_error=None if features is None else _feature_error(features, expected_features),
        limits=limits,
    )
    _raise_on_failure(check)
    return check


def _rank_correlation(logits, expected_logits):
    if len(logits) < 3:
        return None
    from scipy.stats import spearmanr

    margin, expected_margin = (x[:, -1] - x[:, 0] for x in (logits, expected_logits))
    if np.ptp(margin) == 0 or np.ptp(expected_margin) == 0:
        return None  # a constant score ranks nothing (scipy would warn and give nan)
    return float(spearmanr(margin, expected_margin).statistic)


def _feature_error(features, expected):
    norm = np.linalg.norm(expected, axis=1)
    error = np.linalg.norm(features - expected, axis=1) / np.maximum(norm, 1e-12)
    return float(error.max())


def _raise_on_failure(check):
    limits = check.limits
    failures = []
    if not check.max_abs_proba_difference <= limits["atol"]:
        failures.append(f"probabilities differ by up to {check.max_abs_proba_difference:.3g} "
                        f"(allowed: {limits['atol']:g})")
    if limits["min_rank_correlation"] is not None and not (
            check.rank_correlation is not None
            and check.rank_correlation >= limits["min_rank_correlation"]):
        failures.append(f"the scores' rank correlation is {check.rank_correlation} "
                        f"(required: at least {limits['min_rank_correlation']:g})")
    if (limits["max_feature_error"] is not None and check.max_feature_error is not None
            and not check.max_feature_error <= limits["max_feature_error"]):
        failures.append(f"features differ by up to {check.max_feature_error:.3g} relative "
                        f"(allowed: {limits['max_feature_error']:g})")
    if failures:
        raise BackendMismatchError(
            f"The {check.precision} backend does not score like the PyTorch network on "
            f"{check.n_images} reference films: {'; '.join(failures)}.")
