"""``skcxr train`` and ``skcxr calibrate``: a site's folder of films to a screener folder."""

import os
import sys
import time
from pathlib import Path

from ._errors import UsageError
from ._models import resolve

FLOAT32_MAX = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max, without numpy


# What numpy and scikit-learn take as a seed (random_state): an integer in [0, 2**32 - 1].
MAX_SEED = 2**32 - 1


def _check_seed(seed):
    """A usage error, before any film is read, for a seed numpy would refuse deep in the fit."""
    if seed < 0:
        raise UsageError(f"--seed must be a non-negative integer; got {seed}.")
    if seed > MAX_SEED:
        raise UsageError(f"--seed must be a non-negative integer of at most {MAX_SEED} (2**32 - 1); "
                         f"got {seed}.")


def run_train(args):
    """``skcxr train DATA_DIR --out DIR [--init NAME|DIR]``; returns the exit status."""
    from .. import fit_screener

    started = time.perf_counter()
    _check_seed(args.seed)
    out = _check_out(args)
    if not 0 < args.validation_fraction < 0.5:
        raise UsageError(
            f"--validation-fraction must be in (0, 0.5); got {args.validation_fraction}.")
    if args.size is not None and args.size < 32:
        raise UsageError(f"--size must be at least 32 pixels; got {args.size}.")
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1; got {args.epochs}.")
    if args.lr is not None and not 0 < args.lr <= FLOAT32_MAX:
        raise UsageError(f"--lr must be positive and at most {FLOAT32_MAX:.3g} (the optimiser "
                         f"works in float32); got {args.lr}.")
    init = None
    if args.init is not None:
        kind, init = resolve(args.init, what="--init")  # a pretrained name or a screener folder
        if kind == "joblib":
            raise UsageError(f"--init {args.init!r} is a file: --init takes a pretrained name or "
                             "a screener folder (no pickles).")
        _check_out_is_not(out, kind, init, "--init", "the screener being fine-tuned")
    folder = _folder(args.data_dir)
    _say("train", f"{len(folder.files)} films in 2 classes: " + ", ".join(
        f"{c} {n}" for c, n in folder.counts().items()) + f"; {len(set(folder.groups))} patients")
    _note_folder(folder, args.data_dir, "train")
    _say("train", ("fine-tuning " + args.init) if init else f"training the {args.preset} preset "
         "from scratch")
    screener = fit_screener(
        folder.files, folder.labels, folder.groups, init=init, pos_label=args.positive,
        min_sensitivity=args.sensitivity, confidence=args.confidence, cv=args.cv,
        validation_fraction=args.validation_fraction, size=args.size, preset=args.preset,
        epochs=args.epochs, lr=args.lr, guard=not args.no_guard,
        max_false_rejection=args.guard_false_rejection, random_state=args.seed,
        verbose=1, name=out.name, source=str(Path(args.data_dir).resolve()),
        command=args.command_line)
    screener.save(out, overwrite=args.overwrite)
    _summarise("train", screener, out, started)
    return 0


def run_calibrate(args):
    """``skcxr calibrate DATA_DIR --model NAME|DIR --out DIR``; returns the exit status."""
    from ..site import calibrate_screener

    started = time.perf_counter()
    _check_seed(args.seed)
    out = _check_out(args)
    kind, name = resolve(args.model)
    if kind == "joblib":
        raise UsageError(f"--model {name!r} is a file: calibrate takes a pretrained name or a "
                         "screener folder (no pickles).")
    _check_out_is_not(out, kind, name, "--model", "the model being calibrated")
    folder = _folder(args.data_dir)
    _say("calibrate", f"{len(folder.files)} films: " + ", ".join(
        f"{c} {n}" for c, n in folder.counts().items()) + f"; {len(set(folder.groups))} patients")
    _note_folder(folder, args.data_dir, "calibrate")
    screener = calibrate_screener(
        name, folder.files, folder.labels, folder.groups, pos_label=args.positive,
        min_sensitivity=args.sensitivity, confidence=args.confidence, guard=not args.no_guard,
        max_false_rejection=args.guard_false_rejection, random_state=args.seed, name=out.name,
        source=str(Path(args.data_dir).resolve()), command=args.command_line)
    screener.save(out, overwrite=args.overwrite)
    _summarise("calibrate", screener, out, started)
    return 0


def _check_out(args):
    """Fail before any work on an --out that cannot be written."""
    out = Path(args.out)
    if args.out == "-":
        # Elsewhere "-" means standard output; a screener is a folder, which it cannot be.
        raise UsageError("--out '-': a screener is written as a folder, not to standard "
                         "output; name a folder (write ./- for a folder named '-').")
    if out.suffix in (".joblib", ".pkl", ".pickle"):
        raise UsageError(f"--out {args.out!r}: a screener is written as a folder of tensors and "
                         "JSON now, not a pickle; name a folder, e.g. --out "
                         f"{out.with_suffix('')}.")
    if not out.parent.is_dir():
        raise UsageError(f"--out {args.out!r}: folder {str(out.parent)!r} does not exist.")
    _check_out_outside(out, args)
    if out.exists() and not (args.overwrite and (out / "card.json").is_file()):
        raise UsageError(f"--out {args.out!r} exists" + (
            "; pass --overwrite to replace that screener." if (out / "card.json").is_file()
            else " and is not a screener folder; choose a new name."))
    return out


def _check_out_outside(out, args):
    """Fail before any work on an --out inside DATA_DIR.

    Every file below DATA_DIR's class folders is read as a film: the next
    train or calibrate on that folder would read the new screener's
    card.json and weights as films and stop (or, directly in DATA_DIR,
    ignore them with a note: still not where a screener belongs).
    """
    data = os.path.realpath(args.data_dir)
    # --out need not exist yet: its folder is resolved (links followed), then its name added.
    target = os.path.join(os.path.realpath(out.parent), out.name)
    if os.path.commonpath([data, target]) == data:
        where = "is DATA_DIR" if target == data else "is inside DATA_DIR"
        raise UsageError(f"--out {args.out!r} {where} {args.data_dir!r}: the "
                         "screener's files would be read as films by the next run on that "
                         "folder. Write it outside DATA_DIR.")


def _check_out_is_not(out, kind, name, option, role):
    """Fail before any work when --out is the folder of the screener the run starts from.

    ``--overwrite`` would replace that screener while it is being read, and
    the original would be lost.
    """
    folder = name
    if kind == "pretrained":
        from ..pretrained import pretrained_folder

        try:
            folder = pretrained_folder(name)
        except ValueError:
            return  # not a shipped folder (a registry standing in for the package's)
    try:
        same = os.path.samefile(out, folder)
    except OSError:
        return  # --out does not exist yet: it is a new folder
    if same:
        raise UsageError(f"--out {str(out)!r} is {role} ({option} {name!r}); choose another "
                         "folder.")


def _folder(data_dir):
    from ..screener import labelled_folder

    try:
        return labelled_folder(data_dir)
    except ValueError as exc:
        raise UsageError(f"DATA_DIR: {exc}") from None


def _note_folder(folder, data_dir, command):
    if folder.n_named < len(folder.files):
        _say(command, f"patient ids: {folder.n_named} of {len(folder.files)} films give one "
                      "(DICOM PatientID or Kermany file name); each of the other "
                      f"{len(folder.files) - folder.n_named} counts as its own patient, so one "
                      "patient's films may fall on both sides of the held-out split.")
    if folder.n_outside:
        _say(command, f"ignoring {folder.n_outside} file(s) directly in {data_dir} "
                      "(not in a class folder)")


def _summarise(command, screener, out, started):
    card = screener.card
    point, site = card.operating_point, card.site
    _say(command, f"threshold {point['threshold']:.4g}: {point['rule']}")
    after = site["after"]
    held = "site patients, out of fold" if card.data["held_out"]["films"] == card.data[
        "films"] else "held-out patients"
    _say(command, f"{held} ({site['patients']}): AUC {after['auc']['value']:.3f}; "
                  f"at the threshold sensitivity {after['sensitivity']['value']:.3f}, specificity "
                  f"{after['specificity']['value']:.3f} (in-sample: the threshold was chosen on "
                  "them)")
    before = site.get("before")
    if before:
        metrics = before["metrics"]
        _say(command, f"before, {before['name']} at its own threshold {before['threshold']:.4g}: "
                      f"AUC {metrics['auc']['value']:.3f}, sensitivity "
                      f"{metrics['sensitivity']['value']:.3f}, specificity "
                      f"{metrics['specificity']['value']:.3f}; its guard refused "
                      f"{before['refused_by_its_guard']} of these films")
    if card.guard:
        _say(command, f"input guard: refuses {card.guard['refused_share_of_held_out_films']:.1%} "
                      "of the held-out films")
    _say(command, f"wrote {out} in {(time.perf_counter() - started) / 60:.1f} min; screen with: "
                  f"skcxr screen FOLDER --model {out}")


def _say(command, message):
    print(f"skcxr {command}: {message}", file=sys.stderr)
