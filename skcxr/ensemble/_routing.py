"""Fit parameters of a meta-estimator that wraps one estimator, routed as scikit-learn routes them."""

from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)


def fit_router(owner, estimator):
    """A router sending what ``owner.fit`` receives to ``estimator.fit``."""
    return MetadataRouter(owner=owner).add(
        estimator=estimator, method_mapping=MethodMapping().add(caller="fit", callee="fit"))


def route_fit_params(owner, fit_params):
    """The parameters ``owner`` passes to its inner estimator's ``fit``.

    With metadata routing enabled, only what the inner estimator requested
    (e.g. ``CXRClassifier().set_fit_request(groups=True)``); scikit-learn
    raises for metadata nobody requested. Without it, every parameter as
    given, as ``CXRClassifier.fit(X, y, groups=...)`` itself takes them.
    """
    if _routing_enabled():
        return dict(process_routing(owner, "fit", **fit_params).estimator.fit)
    return dict(fit_params)
