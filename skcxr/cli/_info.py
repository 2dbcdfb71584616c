"""``skcxr info``: the pretrained screeners, and one model's card."""

import os
import textwrap

from . import _models
from ._models import UsageError, load_model

# Shown first, in this order; every other entry of the card follows.
_FIRST = ("title", "intended_use", "not_validated_on", "threshold", "threshold_rule")


def run_info(args):
    """``skcxr info [NAME|FILE]``; returns the exit status."""
    names = _models.list_pretrained()
    if args.name is None:
        print(_listing(names))
        return 0
    if os.path.isfile(args.name):
        screener = load_model(args.name).screener
        card = screener.card
        if not card:
            print(f"{args.name}: a model without a card (threshold "
                  f"{screener.decision_threshold:.4g}).")
            return 0
    elif args.name in names:
        card = _models.pretrained_card(args.name)
    else:
        known = ", ".join(names) if names else "none in this installation"
        raise UsageError(f"{args.name!r} is neither a file nor a pretrained screener "
                         f"(pretrained: {known}).")
    print(format_card(args.name, card))
    return 0


def _listing(names):
    if not names:
        return ("No pretrained screener ships with this installation of skcxr.\n"
                "Train one with 'skcxr train DATA_DIR --out model.joblib' and pass "
                "'--model model.joblib' to 'skcxr screen'.")
    lines = ["Pretrained screeners ('skcxr info NAME' for one's card; the first is the default):"]
    for name in names:
        title = _models.pretrained_card(name).get("title", "")
        lines.append(f"  {name}" + (f"  {title}" if title else ""))
    return "\n".join(lines)


def format_card(name, card):
    """A model card as indented ``key: value`` text, the clinically important entries first."""
    lines = [name, "=" * len(name)]
    keys = [k for k in _FIRST if k in card] + [k for k in card if k not in _FIRST]
    for key in keys:
        lines.extend(_entry(key, card[key], indent=""))
    return "\n".join(lines)


def _entry(key, value, indent):
    label = f"{indent}{key.replace('_', ' ')}:"
    if isinstance(value, dict):
        lines = [label]
        for sub, item in value.items():
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
