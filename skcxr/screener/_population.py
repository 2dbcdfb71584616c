"""Whether a screened folder looks like the population the model was trained on.

The input guard refuses single films unlike the training films
(``unlike_training``). A few such refusals are expected anywhere; many mean
the folder as a whole comes from another population, site or device, and
then the films the guard let through are suspect too: they come from the
same source. :func:`population_notice` turns that into one notice the
command line, the report and pipelines all show.
"""

UNLIKE_TRAINING_NOTICE_SHARE = 0.10
"""Above this share of a screen's readable films refused as ``unlike_training``,
the screen says the folder looks out of population.

The guard refuses about 2% of films like the training films by design (its
``false_rejection`` target); five times that is no longer chance.
"""


def population_notice(rows, *, model_name=None, share=UNLIKE_TRAINING_NOTICE_SHARE):
    """The out-of-population notice of a screen, or None when there is nothing to say.

    Parameters
    ----------
    rows : iterable of WorklistRow
        The screen's rows, in any order.
    model_name : str, default=None
        How the model is named (a pretrained name or a file): the advice
        names it.
    share : float, default=UNLIKE_TRAINING_NOTICE_SHARE
        The notice is given when more than this share of the readable
        films (rows that are not ``error``) was refused as
        ``unlike_training``.

    Returns
    -------
    notice : dict or None
        None below the share (or with no readable film). Otherwise
        ``{"code": "unlike_training", "refused", "films", "share",
        "limit", "by_class", "message", "advice"}``: the count refused as
        unlike the training films, the count of readable films, their
        ratio, ``share``, and, when true labels are known,
        ``{label: {"refused": n, "films": m}}`` (else None). ``message``
        and ``advice`` are sentences for people.

    Examples
    --------
    >>> from skcxr.screener import WorklistRow, population_notice
    >>> rows = [WorklistRow(0, "a.png", "screened", score=0.9, flagged=True),
    ...         WorklistRow(1, "b.png", "unsuitable", code="unlike_training")]
    >>> notice = population_notice(rows, model_name="resnet18-kermany-128")
    >>> notice["refused"], notice["films"], notice["share"]
    (1, 2, 0.5)
    """
    films = [row for row in rows if row.status != "error"]
    refused = [row for row in films if row.code == "unlike_training"]
    if not films or len(refused) / len(films) <= share:
        return None
    by_class = None
    labels = sorted({row.label for row in films if row.label is not None}, key=str)
    if labels:
        by_class = {label: {"refused": sum(row.label == label for row in refused),
                            "films": sum(row.label == label for row in films)}
                    for label in labels}
    ratio = len(refused) / len(films)
    return {
        "code": "unlike_training",
        "refused": len(refused),
        "films": len(films),
        "share": ratio,
        "limit": share,
        "by_class": by_class,
        "message": _message(len(refused), len(films), ratio, share, by_class),
        "advice": _advice(model_name),
    }


def _message(n_refused, n_films, ratio, share, by_class):
    counts = ""
    if by_class:
        counts = ": " + ", ".join(f"{c['refused']} of {c['films']} {label}"
                                  for label, c in by_class.items())
    return (
        f"This folder looks unlike the films the model was trained on: {ratio:.0%} of its "
        f"readable films ({n_refused} of {n_films}{counts}) were refused as unlike the training "
        f"films, more than the {share:.0%} at which skcxr warns. It probably comes from another "
        "population, site or device, and the films that were scored come from there too: "
        "their scores and flags may be less reliable than the model card says."
    )


def _advice(model_name):
    model = model_name or "MODEL"
    return (
        "Adapt the screener to this site before relying on it: fine-tune it on the site's own "
        f"labelled films (skcxr train SITE_FOLDER --init {model} --out DIR), or re-derive its "
        f"threshold and input guard on them (skcxr calibrate SITE_FOLDER --model {model} --out "
        "DIR)."
    )
