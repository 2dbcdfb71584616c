"""Warnings and errors of skcxr."""

__all__ = ["InconsistentSkcxrVersionWarning", "RefusedFilmError", "RefusedFilmWarning",
           "SmallSiteWarning"]

_LISTED = 20  # refused films named in a message; the rest are counted


def _refusal_lines(refusals, names):
    lines = [f"  {names[i]}: {refusal.message} [{refusal.code}]"
             for i, refusal in list(refusals.items())[:_LISTED]]
    if len(refusals) > _LISTED:
        lines.append(f"  ... and {len(refusals) - _LISTED} more (Screener.refusals(X) lists them all)")
    return "\n".join(lines)


class RefusedFilmError(ValueError):
    """A screener was asked to score films its input guard refuses, or files it cannot read.

    Parameters
    ----------
    refusals : dict
        ``{index in X: Refusal}`` for every film not scored.
    names : dict
        ``{index: path or description}`` of those films.
    unreadable : bool, default=False
        Whether the films are files that could not be read (rather than
        films the guard refuses); the message says which.

    Attributes
    ----------
    refusals : dict
        ``{index in X: Refusal}`` for every film not scored.
    names : dict
        ``{index: path or description}`` of those films.
    """

    def __init__(self, refusals, names, *, unreadable=False):
        self.refusals = dict(refusals)
        self.names = dict(names)
        self.unreadable = unreadable
        if unreadable:
            head = (f"{len(self.refusals)} file(s) could not be read, so nothing was scored:")
        else:
            head = (f"The input guard refuses {len(self.refusals)} film(s), so nothing was scored "
                    "(a refused film gets no silent score):")
        tail = ("" if unreadable else
                "\nScreen the others (Screener.refusals(X) says which), look at these yourself, "
                "or pass on_refusal='warn' (score all, with a warning) or 'score'.")
        super().__init__(f"{head}\n{_refusal_lines(self.refusals, self.names)}{tail}")


class RefusedFilmWarning(UserWarning):
    """A screener with ``on_refusal="warn"`` scored films its input guard refuses.

    Parameters
    ----------
    refusals : dict
        ``{index in X: Refusal}`` for every refused film.
    names : dict
        ``{index: path or description}``.

    Attributes
    ----------
    refusals : dict
        ``{index in X: Refusal}`` for every refused film.
    names : dict
        ``{index: path or description}``.
    """

    def __init__(self, refusals, names):
        self.refusals = dict(refusals)
        self.names = dict(names)
        super().__init__(
            f"Scored {len(self.refusals)} film(s) the input guard refuses; their scores are not "
            f"to be trusted:\n{_refusal_lines(self.refusals, self.names)}")


class InconsistentSkcxrVersionWarning(UserWarning):
    """An estimator pickled under one skcxr version is loaded under another.

    As scikit-learn's ``InconsistentVersionWarning`` for its own pickles
    (named apart so that filtering one never silences the other): the
    object may still work, or may be subtly wrong (a changed input head, a renamed attribute).
    Refit it, or load it with the version that saved it.

    Parameters
    ----------
    estimator_name : str
        The class of the estimator loaded.
    current_version : str
        The skcxr version loading it.
    original_version : str
        The skcxr version that pickled it.

    Attributes
    ----------
    estimator_name : str
        As given.
    current_version : str
        As given.
    original_version : str
        As given.
    """

    def __init__(self, *, estimator_name, current_version, original_version):
        self.estimator_name = estimator_name
        self.current_version = current_version
        self.original_version = original_version

    def __str__(self):
        return (
            f"Loading {self.estimator_name} pickled with skcxr {self.original_version} under "
            f"skcxr {self.current_version}: it may not work as it did. Refit it, or load it "
            f"with skcxr {self.original_version}."
        )


class SmallSiteWarning(UserWarning):
    """:func:`skcxr.fit_screener` on fewer films than training was measured to help with.

    On the site-adaptation benchmark (``benchmarks/site_adaptation.py``),
    training on 200 films or fewer ranked a site's held-out films worse than
    the shipped weights, and about 500 films ranked them better. Compare the
    result with threshold-only calibration (``skcxr calibrate``).
    """
