"""Which model a command uses: a pretrained name or a file, and its operating threshold."""

import argparse
import os
import pkgutil
from dataclasses import dataclass

import joblib
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from ..preprocessing import ImageLoader
from ..screener import Screener, split_loader


class UsageError(Exception):
    """A command line that cannot be run as given (exit status 2)."""


def pretrained_registry():
    """The ``skcxr.pretrained`` module, or None in an installation without one."""
    import skcxr

    # Only the package's own folders count (an editable install's finder may
    # otherwise answer for another checkout).
    if not any(m.name == "pretrained" for m in pkgutil.iter_modules(skcxr.__path__)):
        return None
    from .. import pretrained

    return pretrained


def list_pretrained():
    """Names of the pretrained screeners shipped with this installation (maybe none)."""
    registry = pretrained_registry()
    return [] if registry is None else list(registry.list_pretrained())


def pretrained_card(name):
    """The model card of pretrained screener ``name``."""
    return pretrained_registry().get_card(name)


@dataclass
class Model:
    """A screener ready to screen, with how it was named and where its threshold came from."""

    screener: Screener
    name: str
    threshold_note: str
    threshold_is_default: bool = False


def load_model(spec, threshold="screening"):
    """Load the model ``--model`` names and apply ``--threshold``.

    Parameters
    ----------
    spec : str or None
        A pretrained name, a file (``joblib.dump`` of a Screener or of a
        fitted pipeline starting with an ImageLoader), or None for the first
        pretrained screener.
    threshold : "screening" or float
        "screening" keeps the model's own threshold (0.5, said plainly,
        for a pipeline that carries none).

    Returns
    -------
    model : Model
    """
    names = list_pretrained()
    if spec is None:
        if not names:
            raise UsageError(
                "no pretrained screener ships with this installation; pass --model FILE "
                "(a model written by 'skcxr train' or joblib.dump)."
            )
        spec = names[0]
    if os.path.isfile(spec):
        try:
            loaded = joblib.load(spec)
        except Exception as exc:  # noqa: BLE001 - unpickling fails in many ways
            raise UsageError(f"cannot load the model file {spec!r}: {exc}") from exc
    elif spec in names:
        loaded = pretrained_registry().load_pretrained(spec)
    else:
        known = ", ".join(names) if names else "none in this installation"
        raise UsageError(
            f"--model {spec!r} is neither a file nor a pretrained screener (pretrained: {known})."
        )
    screener, has_threshold = _as_screener(loaded, spec)
    if threshold == "screening":
        if has_threshold:
            note = "the model's screening threshold"
            return Model(screener, spec, note)
        note = "the default: this model carries no screening threshold; set one with --threshold"
        return Model(screener, spec, note, threshold_is_default=True)
    screener.set_params(threshold=float(threshold))
    return Model(screener, spec, "set with --threshold")


def _as_screener(loaded, spec):
    """``(Screener, whether it carries its own threshold)`` from what a file held."""
    if isinstance(loaded, Screener):
        _check_fitted(loaded, spec)
        if split_loader(loaded.fitted_estimator)[0] is None:
            raise UsageError(
                f"the screener in {spec!r} scores decoded images, not files: its estimator "
                "must start with an ImageLoader to screen files.")
        return loaded, True
    if isinstance(loaded, Pipeline) and isinstance(loaded.steps[0][1], ImageLoader):
        screener = Screener(loaded, threshold=0.5)
        _check_fitted(screener, spec)
        return screener, False
    raise UsageError(
        f"the model file {spec!r} holds a {type(loaded).__name__}; expected a Screener "
        "(from 'skcxr train' or skcxr.load_pretrained) or a fitted pipeline that starts "
        "with an ImageLoader."
    )


def _check_fitted(screener, spec):
    try:
        screener.fitted_estimator  # noqa: B018 - raises when not fitted
    except NotFittedError as exc:
        raise UsageError(f"the model in {spec!r} is not fitted.") from exc


def parse_threshold(text):
    """``--threshold``: "screening" or a probability in [0, 1]."""
    if text == "screening":
        return text
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"expected 'screening' or a probability between 0 and 1; got {text!r}"
        )
    return value
