"""Fit a guard for a whole model in one call."""

from sklearn.pipeline import Pipeline

from ._guard import InputGuard


def fit_input_guard(model, X, *, groups=None, **params):
    """Fit an :class:`InputGuard` for a fitted model that takes files.

    Parameters
    ----------
    model : Pipeline
        A fitted ``ImageLoader -> CXRClassifier`` pipeline, or a fitted
        threshold wrapper around one (``FixedThresholdClassifier``,
        ``TunedThresholdClassifierCV``).
    X : sequence of str or path-like
        Training files (what the model's ``fit`` took), decoded here by the
        pipeline's loader.
    groups : array-like of shape (n_samples,), default=None
        Patient ids; the threshold is set on held-out patients.
    **params
        :class:`InputGuard` parameters (``max_false_rejection``, ...).

    Returns
    -------
    guard : InputGuard
        Fitted; it takes what ``model[:-1].transform`` returns.

    Examples
    --------
    >>> from skcxr.guard import fit_input_guard
    >>> # guard = fit_input_guard(model, train.data, groups=train.groups)
    >>> # guard.reasons(model[:-1].transform(new_files))
    """
    pipeline = _pipeline_of(model)
    images = pipeline[:-1].transform(X)
    return InputGuard(pipeline[-1], **params).fit(images, groups=groups)


def _pipeline_of(model):
    # Threshold wrappers keep the fitted pipeline in estimator_; a Screener
    # (fitted, or loaded prefit by load_pretrained) names it fitted_estimator.
    pipeline = getattr(model, "fitted_estimator", None) or getattr(model, "estimator_", model)
    if not isinstance(pipeline, Pipeline) or len(pipeline) < 2:
        raise ValueError(
            f"fit_input_guard needs a fitted pipeline ImageLoader -> CXRClassifier (or a "
            f"threshold classifier around one); got {type(model).__name__}. For arrays, "
            "use InputGuard(classifier).fit(images, groups=groups)."
        )
    return pipeline
