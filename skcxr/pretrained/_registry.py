"""The shipped weight sets: one ``<name>.pt`` and its card ``<name>.json`` each, in ``weights/``.

The card holds everything that goes with the weights, as torchvision's
``Weights.meta`` does: architecture, input size and normalisation, the
recipe and command that trained them, the data, validation and test
metrics, the screening threshold and how it was chosen, and the sha256 the
weight file is checked against before it is loaded.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class PretrainedWeights:
    """A named weight set: its file, checksum and card."""

    name: str
    path: Path
    sha256: str
    meta: MappingProxyType

    def verify(self):
        """Raise ``ValueError`` unless the weight file's sha256 matches the card."""
        if not self.path.is_file():
            raise ValueError(f"Weights {self.name!r}: file {str(self.path)!r} is missing; "
                             "reinstall skcxr.")
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        if digest != self.sha256:
            raise ValueError(
                f"Weights {self.name!r}: {str(self.path)!r} has sha256 {digest}, but its card "
                f"says {self.sha256}. The file is corrupt or was replaced; reinstall skcxr."
            )


def _read_cards():
    cards = {}
    folder = WEIGHTS_DIR
    for card_path in sorted(folder.glob("*.json")):
        meta = json.loads(card_path.read_text())
        name = meta["name"]
        cards[name] = PretrainedWeights(
            name=name, path=folder / meta["weights_file"], sha256=meta["sha256"],
            meta=MappingProxyType(meta))
    return cards


def list_pretrained():
    """Names of the pretrained screeners shipped with skcxr, best first.

    Examples
    --------
    >>> import skcxr
    >>> names = skcxr.list_pretrained()  # e.g. ['resnet18-kermany-128']
    """
    cards = _read_cards()
    return sorted(cards, key=lambda name: cards[name].meta.get("rank", 0))


def get_weights(name):
    """The :class:`PretrainedWeights` called ``name``."""
    cards = _read_cards()
    try:
        return cards[name]
    except KeyError:
        raise ValueError(
            f"No pretrained screener named {name!r}; shipped: {sorted(cards) or 'none'}."
        ) from None


def get_card(name):
    """The model card of pretrained screener ``name``, as a dict (a copy)."""
    return json.loads(json.dumps(dict(get_weights(name).meta)))
