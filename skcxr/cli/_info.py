"""``skcxr info``: the pretrained screeners, and one model's card (no torch needed to read one)."""

import os
import textwrap
from pathlib import Path

from . import _models
from ._errors import UsageError

# Shown first, in this order; every other entry of the card follows.
_FIRST = ("title", "intended_use", "not_validated_on", "operating_point", "backends", "site")
# What rebuilds the model rather than describes it: in card.json, not on screen.
_HIDDEN = ("name", "network", "weights", "rank", "schema")
_HIDDEN_NESTED = ("history", "train_loss", "label_map")
_TENSORS = " (its tensors)"  # the --check-weights line


def run_info(args):
    """``skcxr info [NAME|DIR|FILE]``; returns the exit status."""
    registry = _models.pretrained_registry()
    if args.name is None:
        print(_listing(registry))
        return 0
    kind, name = _models.resolve(args.name, what="NAME")
    if kind in ("pretrained", "folder"):
        from ..screener import ScreenerFolderError, read_card, verify_folder

        try:
            if kind == "pretrained":
                card, checks = registry.get_card(name), registry.verify_files(name)
            else:
                card = read_card(name)
                checks = verify_folder(name, card)
        except ScreenerFolderError as exc:
            raise UsageError(str(exc)) from None
        if args.check_weights and not any(problem for _, problem in checks):
            folder = registry.pretrained_folder(name) if kind == "pretrained" else name
            checks.append(_network_check(folder, card))
        print(format_card(name, card.to_dict()))
        print("files (sha256 against the card; the guard's arrays checked" + (
            "; the weights' tensors loaded):" if args.check_weights else
            "; --check-weights also loads the weights' tensors):"))
        for file_name, problem in checks:
            fine = "loads" if file_name.endswith(_TENSORS) else "matches"
            print(f"  {file_name}: {fine if problem is None else 'DAMAGED'}")
        problems = [problem for _, problem in checks if problem]
        if problems:
            # The weights or guard damaged: it cannot load; a backend file: that backend falls
            # back to PyTorch. Either way the folder is not what its card says.
            raise UsageError("the screener folder is damaged: " + " ".join(problems))
        return 0
    screener = _models.load_model(name, what="NAME").screener  # a joblib file the user named
    if screener.card is None:
        print(f"{name}: a model without a card (threshold {screener.decision_threshold:.4g}).")
        return 0
    card = screener.card.to_dict() if hasattr(screener.card, "to_dict") else dict(screener.card)
    print(format_card(name, card))
    return 0


def _network_check(folder, card):
    """``(what, problem)`` of loading the folder's network with PyTorch (imported only here)."""
    from ..screener import ScreenerFolderError, load_screener

    what = f"{card.weights['file']}{_TENSORS}"
    try:
        load_screener(folder, device="cpu", backend="torch")  # builds the network at once
    except (ScreenerFolderError, ValueError) as exc:
        return what, str(exc)
    return what, None


def _listing(registry):
    names = [] if registry is None else registry.list_pretrained()
    lines = []
    if not names:
        lines += ["No pretrained screener ships with this installation of skcxr.",
                  "Make one with 'skcxr train DATA_DIR --out DIR' and pass '--model DIR' to "
                  "'skcxr screen'."]
    else:
        lines.append("Pretrained screeners ('skcxr info NAME' for one's card; the first is the "
                     "default):")
        for name in names:
            lines.append(f"  {name}  {registry.get_card(name).title}")
    for path, why in ([] if registry is None else registry.unreadable_entries()):
        lines.append(f"  (ignored: {Path(path).name}: {why})")
    return "\n".join(lines)


def format_card(name, card):
    """A model card as indented ``key: value`` text, the clinically important entries first."""
    lines = [os.fspath(name), "=" * len(os.fspath(name))]
    keys = [k for k in _FIRST if k in card] + [k for k in card if k not in _FIRST]
    from ..screener import ModelCard

    summary = ModelCard.from_dict(card).describe_site() if card.get("site") else ""
    if summary:
        lines += textwrap.wrap(summary, 88) + [""]
    for key in keys:
        if key in _HIDDEN or card[key] in (None, {}, []):
            continue
        if key == "backends":
            lines.extend(_backends(card[key]))
        else:
            lines.extend(_entry(key, card[key], indent=""))
    return "\n".join(lines)


def _backends(backends):
    """One line per faster backend: the threshold it screens at, and how it compares (the
    threshold above is PyTorch's; a screen runs the fastest backend that passes its check)."""
    lines = ["backends (a screen runs the fastest one installed and verified; the threshold",
             "  above is PyTorch's):"]
    for name, entry in backends.items():
        parts = [f"threshold {entry['threshold']:.4f}" if "threshold" in entry
                 else "the threshold above"]
        if "test_auc" in entry:
            parts.append(f"test AUC {entry['test_auc']:.4f}")
        if "test_flags_differing_from_torch" in entry:
            parts.append(f"{entry['test_flags_differing_from_torch']:.2%} of test films flagged "
                         "differently from PyTorch")
        where = f"file {entry['file']}" if entry.get("file") else "exported on first use"
        lines += textwrap.wrap(f"{name} ({where}): " + ", ".join(parts), 88,
                               initial_indent="  ", subsequent_indent="    ")
    return lines


def _entry(key, value, indent):
    label = f"{indent}{key.replace('_', ' ')}:"
    if isinstance(value, dict) and {"value", "ci_low", "ci_high"} <= set(value):
        # A metric with its confidence interval: one line.
        return [f"{label} {value['value']:.3f} ({value['ci_low']:.3f}-{value['ci_high']:.3f})"]
    if isinstance(value, dict) and set(value) == {"tp", "fp", "tn", "fn"}:
        return [f"{label} " + ", ".join(f"{k.upper()} {v}" for k, v in value.items())]
    if isinstance(value, dict):
        lines = [label]
        for sub, item in value.items():
            if sub in _HIDDEN_NESTED or item in (None, {}, []):
                continue
            lines.extend(_entry(str(sub), item, indent + "  "))
        return lines
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        # A list of sentences (e.g. what it is not validated on): one bullet each.
        lines = [label]
        for item in value:
            lines += textwrap.wrap(item, 88, initial_indent=indent + "  - ",
                                   subsequent_indent=indent + "    ")
        return lines
    if isinstance(value, list) and value and all(isinstance(item, float) for item in value):
        value = "[" + ", ".join(f"{item:.4g}" for item in value) + "]"
    if isinstance(value, float):
        value = f"{value:.4g}"
    text = str(value)
    if len(label) + len(text) < 88:
        return [f"{label} {text}"]
    return [label] + textwrap.wrap(text, 88, initial_indent=indent + "  ",
                                   subsequent_indent=indent + "  ")
