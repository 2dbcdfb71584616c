"""The screener a site starts from: a pretrained name, a saved folder, or a Screener."""

import os
from pathlib import Path


def resolve_base(init):
    """A fitted Screener for ``init`` (a pretrained name, a screener folder, or a Screener).

    Raises a ``ValueError`` naming what ``init`` is not.
    """
    from ..pretrained import list_pretrained, load_pretrained
    from ..screener import Screener, load_screener

    if isinstance(init, Screener):
        if init.card is None:
            raise ValueError("init is a Screener without a card: fine-tuning records the base "
                             "model's name and checksum, so save and reload it first.")
        return init
    if not isinstance(init, (str, os.PathLike)):
        raise ValueError(f"init must be a pretrained name, a screener folder or a Screener; "
                         f"got {type(init).__name__}.")
    names = list_pretrained()
    if isinstance(init, str) and init in names:
        return load_pretrained(init, device="cpu")
    path = Path(init)
    if path.is_dir():
        return load_screener(path, device="cpu")
    raise ValueError(
        f"init={os.fspath(init)!r} is neither a pretrained screener ({', '.join(names) or 'none'}) "
        "nor a folder written by Screener.save / skcxr train.")
