"""ModelCard: the one schema of a screener's card, with one reader and one writer.

Shipped screeners, screeners written by ``skcxr train`` and screeners adapted
to a site all carry this card (``card.json`` beside the weights). It says
what the model is for, what it was trained and validated on, how its
threshold was chosen, and what it measured, and it holds what rebuilding the
model needs besides the tensors (the network's description, the loader, the
weights' checksum).
"""

import copy
import json
import os
import re
import tempfile
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

CARD_SCHEMA = "skcxr.ModelCard/1"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class CardError(ValueError):
    """A model card that is missing, unreadable or does not follow the schema."""


@dataclass
class ModelCard:
    """What a screener is, how it was made and what it measured: one schema for every screener.

    Parameters
    ----------
    name : str
        The screener's name (a pretrained name, or the folder it was saved to).
    title : str
        One line a person reads first.
    intended_use : str
        What it is for and what it is not (it never replaces the radiologist).
    not_validated_on : list of str
        Populations, views, devices and findings it was not validated on, one
        sentence each.
    operating_point : dict
        How the threshold was chosen: ``threshold`` (float in [0, 1]),
        ``pos_label`` (the flagged class), ``rule`` (a sentence), and when the
        rule set one, ``target_sensitivity``, ``confidence``,
        ``sensitivity_lower_bound``, ``method`` and the films, patients and
        positives it was chosen on.
    loader : dict
        The :class:`~skcxr.preprocessing.ImageLoader` parameters the network
        was trained with (``size``, ``resize_mode``, ``grayscale``).
    network : dict
        :meth:`CXRClassifier.get_state` without its tensors: the parameters
        and fitted attributes that rebuild the classifier (``{}`` on the card
        of a screener not saved yet: saving fills it in).
    weights : dict
        ``file`` (beside the card) and its ``sha256``, checked before loading
        (``{}`` until the screener is saved).
    data : dict, default={}
        The films it was trained and validated on (counts, patients, source).
    recipe : dict, default={}
        How it was trained (preset, parameters, seed, epochs, initial weights).
    training : dict, default={}
        When, where and by what command it was trained (date, device,
        seconds, skcxr and torch versions, commit).
    validation : dict, default={}
        Metrics on held-out patients (never the test split).
    test : dict or None, default=None
        Metrics on a test split, with confidence intervals, when one was scored.
    guard : dict or None, default=None
        The input guard: its false-rejection target, threshold and what it
        was fitted on, and ``file``/``sha256``: its arrays (``guard.npz``)
        beside the weights; None for a screener without one.
    site : dict or None, default=None
        For a screener adapted to a site: the base model (name, sha256,
        threshold), the site's films and patients (trained on, held out),
        and metrics before and after on the held-out site patients.
    backends : dict, default={}
        Verified inference backends shipped beside the weights, by name
        (``"onnxruntime-int8"``): file, sha256, threshold and what was measured.
    rank : int, default=0
        Order among the pretrained screeners (0 first).
    schema : str, default="skcxr.ModelCard/1"
        The card's schema and version.

    Examples
    --------
    >>> import skcxr
    >>> card = skcxr.pretrained.get_card(skcxr.list_pretrained()[0])
    >>> card.operating_point["pos_label"]
    'PNEUMONIA'
    """

    name: str
    title: str
    intended_use: str
    not_validated_on: list
    operating_point: dict
    loader: dict
    network: dict
    weights: dict
    data: dict = field(default_factory=dict)
    recipe: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    validation: dict = field(default_factory=dict)
    test: dict | None = None
    guard: dict | None = None
    site: dict | None = None
    backends: dict = field(default_factory=dict)
    rank: int = 0
    schema: str = CARD_SCHEMA

    def __post_init__(self):
        self._validate()

    # ------------------------------------------------------------ accessors
    @property
    def threshold(self):
        """The threshold the card's rule chose."""
        return float(self.operating_point["threshold"])

    @property
    def pos_label(self):
        """The class the screener flags."""
        return self.operating_point["pos_label"]

    def describe_threshold(self, threshold):
        """How the threshold in use was chosen: this card's rule only while it is this card's threshold.

        Parameters
        ----------
        threshold : float
            The threshold the screener uses.

        Returns
        -------
        text : str
            The card's rule, or a sentence saying the threshold was set by hand and to what.
        """
        return describe_threshold(self, threshold)

    def describe_site(self):
        """One paragraph on a site screener's provenance and before/after numbers.

        Returns
        -------
        text : str
            "" for a card that is not a site's.
        """
        return describe_site(self)

    # ------------------------------------------------------ reading, writing
    def to_dict(self):
        """The card as a JSON-ready dict (a deep copy).

        Returns
        -------
        card : dict
            Every entry of the card, ``schema`` included.
        """
        return copy.deepcopy(asdict(self))

    @classmethod
    def from_dict(cls, data, *, source="the card"):
        """A card from a dict, validated.

        Parameters
        ----------
        data : dict
            As :meth:`to_dict` returns it (or ``json.load`` reads a ``card.json``).
        source : str, default="the card"
            Named in error messages (e.g. the file it came from).

        Returns
        -------
        card : ModelCard
            The validated card.

        Raises
        ------
        CardError
            Naming ``source`` and the entry that is missing, unknown or wrong.
        """
        if not isinstance(data, dict):
            raise CardError(f"{source}: a model card is a JSON object; got {type(data).__name__}.")
        schema = data.get("schema")
        if schema != CARD_SCHEMA:
            raise CardError(f"{source}: schema {schema!r}; this skcxr reads {CARD_SCHEMA!r}.")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise CardError(f"{source}: unknown entries {unknown} for schema {CARD_SCHEMA}.")
        missing = sorted(f.name for f in fields(cls) if f.name not in data
                         and f.default is MISSING and f.default_factory is MISSING)
        if missing:
            raise CardError(f"{source}: missing entries {missing}.")
        try:
            return cls(**copy.deepcopy(data))
        except CardError as exc:
            raise CardError(f"{source}: {exc}") from None

    @classmethod
    def read(cls, path):
        """Read and validate ``card.json``.

        Parameters
        ----------
        path : path-like
            The ``card.json`` file.

        Returns
        -------
        card : ModelCard
            The validated card.
        """
        path = Path(path)
        if path.exists() and not path.is_file():  # a FIFO would block the read forever
            raise CardError(f"The model card {str(path)!r} is not a regular file: the screener "
                            "folder is damaged.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_repeats)
        except FileNotFoundError:
            raise CardError(f"No model card at {str(path)!r}.") from None
        except UnicodeDecodeError:
            head = path.read_bytes()[:4]
            what = ("UTF-16 text; skcxr writes and reads cards in UTF-8" if head[:2] in
                    (b"\xff\xfe", b"\xfe\xff") else "compressed or binary")
            raise CardError(f"Cannot read the model card {str(path)!r}: it is not UTF-8 JSON text "
                            f"(it starts with the bytes {head.hex()}: {what}).") from None
        except (OSError, json.JSONDecodeError, RecursionError, CardError) as exc:
            raise CardError(f"Cannot read the model card {str(path)!r}: {exc}") from None
        return cls.from_dict(data, source=f"model card {str(path)!r}")

    def write(self, path):
        """Write the card as JSON, atomically (a reader never sees half a card).

        Parameters
        ----------
        path : path-like
            The file to write, usually a screener folder's ``card.json``.
        """
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"
        handle, temporary = tempfile.mkstemp(prefix=".card-", suffix=".json", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.chmod(temporary, 0o644)  # mkstemp makes it private; a card is for reading
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    # ----------------------------------------------------------- validation
    def _validate(self):
        for name in ("name", "title", "intended_use", "schema"):
            _expect(isinstance(getattr(self, name), str), f"{name} must be a string")
        _expect(isinstance(self.not_validated_on, list)
                and all(isinstance(item, str) for item in self.not_validated_on),
                "not_validated_on must be a list of sentences")
        for name in ("operating_point", "loader", "network", "weights", "data", "recipe",
                     "training", "validation", "backends"):
            _expect(isinstance(getattr(self, name), dict), f"{name} must be an object")
        for name in ("test", "guard", "site"):
            _expect(getattr(self, name) is None or isinstance(getattr(self, name), dict),
                    f"{name} must be an object or null")
        _expect(isinstance(self.rank, int) and not isinstance(self.rank, bool), "rank must be an int")
        point = self.operating_point
        for key in ("threshold", "pos_label", "rule"):
            _expect(key in point, f"operating_point needs {key!r}")
        _expect(isinstance(point["threshold"], (int, float)) and 0 <= point["threshold"] <= 1,
                f"operating_point.threshold must be a number in [0, 1]; got {point['threshold']!r}")
        _expect(not self.loader or "size" in self.loader, "loader needs 'size'")
        if self.loader:  # what rebuilds the ImageLoader: checked here, so the error names the card
            size = self.loader["size"]
            sides = size if isinstance(size, list) and len(size) == 2 else [size]
            _expect(all(isinstance(side, int) and not isinstance(side, bool) and side > 0
                        for side in sides),
                    f"loader.size must be a positive int or a pair of them; got {size!r}")
            shape = (self.network.get("fitted") or {}).get("input_shape")
            if isinstance(shape, list) and len(shape) == 3:  # the network takes only this size
                _expect(sides * (3 - len(sides)) == shape[1:],
                        f"loader.size {size!r} does not match the network's input "
                        f"{shape[1]}x{shape[2]} (network.fitted.input_shape)")
            for key, kind in (("resize_mode", str), ("grayscale", bool), ("dtype", str)):
                _expect(key not in self.loader or isinstance(self.loader[key], kind),
                        f"loader.{key} must be a {kind.__name__}; got {self.loader.get(key)!r}")
        _expect(not self.network or isinstance(self.network.get("format"), str),
                "network needs its 'format'")
        if self.weights:  # {} until saved
            for key in ("file", "sha256"):
                _expect(isinstance(self.weights.get(key), str), f"weights needs {key!r}")
            _expect(bool(_SHA256.fullmatch(self.weights["sha256"])),
                    "weights.sha256 must be 64 lowercase hex digits")
            # 1: the guard's arrays inside the weights; 2: the network only (skcxr.screener._folder).
            _expect(self.weights.get("format", 1) in (1, 2),
                    f"weights.format must be 1 or 2, not {self.weights.get('format')!r}: this skcxr "
                    "reads no other")
            _expect(_is_file_name(self.weights["file"]),
                    "weights.file must be a file name beside the card, not a path")
        if self.guard and "file" in self.guard:  # the guard's arrays beside the weights
            _expect(isinstance(self.guard["file"], str) and _is_file_name(self.guard["file"])
                    and bool(_SHA256.fullmatch(str(self.guard.get("sha256", "")))),
                    "guard.file must be a file name beside the card, with its 'sha256'")
        for backend, entry in self.backends.items():
            _expect(isinstance(entry, dict), f"backends.{backend} must be an object")
            if entry.get("file") is not None:  # shipped beside the weights: pinned by sha256
                _expect(isinstance(entry["file"], str)
                        and _is_file_name(entry["file"])
                        and bool(_SHA256.fullmatch(str(entry.get("sha256", "")))),
                        f"backends.{backend} needs a file name beside the card and its 'sha256'")


def describe_threshold(card, threshold):
    """How the threshold in use was chosen: the card's rule only while it is the card's threshold.

    Parameters
    ----------
    card : ModelCard or None
    threshold : float
        The threshold the screener uses.

    Returns
    -------
    text : str
    """
    if card is None:
        return "not recorded (the model has no card)"
    if abs(card.threshold - float(threshold)) <= 1e-12:
        return str(card.operating_point["rule"])
    return (f"overridden: {float(threshold):.4g} is in use instead of the card's "
            f"{card.threshold:.4g}, which was {card.operating_point['rule']}")


def describe_site(card):
    """One paragraph on a site screener's provenance and before/after numbers, or "" for others."""
    site = None if card is None else card.site
    if not site:
        return ""

    def numbers(metrics):
        return (f"AUC {metrics['auc']['value']:.3f}, sensitivity "
                f"{metrics['sensitivity']['value']:.3f}, specificity "
                f"{metrics['specificity']['value']:.3f}")

    base = site.get("base")
    start = (f"made from {base['name']} (sha256 {base['sha256'][:12]}...)" if base
             else "trained from scratch")
    scored = (f"the same {site['patients']} patients (in-sample: nothing was held out)"
              if site.get("in_sample") else f"{site['patients']} held-out patients")
    text = (f"Adapted to one site: {start} on {card.data.get('films')} films of "
            f"{card.data.get('patients')} patients; on {scored}, "
            f"{numbers(site['after'])} at its threshold")
    before = site.get("before")
    if before:
        text += (f", against {numbers(before['metrics'])} for {before['name']} at its own "
                 f"threshold {before['threshold']:.4g}")
    return text + "."


def _no_repeats(pairs):
    """A JSON object as a dict, refusing a key given twice (json would keep the last silently:
    a second operating point could change the threshold unseen)."""
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise CardError(f"the card gives {', '.join(map(repr, repeated))} more than once")
    return dict(pairs)


def _is_file_name(name):
    """A plain name of a file beside the card: no folder part, and not "." or ".."."""
    return Path(name).name == name and name not in ("", ".", "..")


def _expect(condition, message):
    if not condition:
        raise CardError(message)
