"""The ``skcxr`` command line: parser, dispatch and exit statuses."""

import argparse
import os
import re
import shlex
import sys
import warnings

from ._errors import UsageError, parse_cv, parse_fraction, parse_rate, parse_threshold

EXIT_USAGE, EXIT_INTERRUPTED = 2, 130

_MAIN_EPILOG = """\
examples:
  skcxr screen ../shared/data/chest_xray/test --out worklist.csv --report report.html
  skcxr train SITE_FILMS --init resnet18-kermany-128 --out site_screener
  skcxr screen /pacs/export --model site_screener --out worklist.csv
  skcxr calibrate SITE_FILMS --model resnet18-kermany-128 --out site_calibrated
  skcxr evaluate ../shared/data/chest_xray/test --model site_screener
  skcxr info

skcxr is a preliminary screening aid: it flags films for earlier radiologist
review and never replaces the radiologist. 'skcxr COMMAND --help' for details.
"""

_SCREEN_DESCRIPTION = """\
Screen image files into a worklist: one CSV row per file, always, in the order
a reader goes top-down: flagged films by descending score, then files that
were not screened ('unsuitable': refused by the model's input guard; 'error':
unreadable), then the other films by descending score.

Folders are searched recursively and files are recognised by their content
(DICOM without an extension, a JPEG named .png); hidden and system files
(._*, .DS_Store, Thumbs.db) are skipped and counted. Files are decoded and
scored in chunks, so any number of files fits in memory.

CSV columns: path, score (probability of the flagged class; empty when not
scored), flagged (true/false at the threshold; empty when not scored),
status (screened, unsuitable, error), reason (why a file was not screened),
reason_code (its stable code); then true_label with --labels-from-folders;
then PatientID, StudyInstanceUID, AccessionNumber when any file is DICOM.

When the input guard refuses more than 10% of the readable films as unlike
the training films (reason_code unlike_training), the folder probably comes
from another population, site or device: the summary, the report and
--summary-json say so, with what to do.
"""

_SCREEN_EPILOG = """\
exit status:
  0  every file got a row and at least one file could be read (error and
     unsuitable rows do not change this: look at them in the worklist)
  1  nothing could be read: no file was found, or every file was an error
  2  usage error: bad options, a path that does not exist, an unknown or
     unloadable model, an output folder that does not exist

examples:
  skcxr screen ../shared/data/chest_xray/test --out worklist.csv --report report.html
  skcxr screen /pacs/export --model site_screener --threshold 0.3 --out worklist.csv
  skcxr screen scans/ > worklist.csv 2> summary.txt
"""

_TRAIN_DESCRIPTION = """\
Make a screener from a site's labelled films: a folder with one sub-folder per
class (e.g. NORMAL/ and PNEUMONIA/; files anywhere below them, recognised by
content). With --init it fine-tunes a pretrained screener's weights (or a saved
screener's); without, it trains a preset from scratch. Patients come from Kermany
file names where they parse (person1234_bacteria_1.jpeg, IM-0115-0001.jpeg) and
from the DICOM PatientID; any other file counts as its own patient.

A share of the PATIENTS is held out: the network never sees them. The threshold
is chosen on them: the highest whose one-sided lower confidence bound for
sensitivity reaches --sensitivity at --confidence (too few pneumonia films for
that is an error saying which target they support). The input guard is fitted on
the site's own films. The model card records the data, the recipe, the rule and,
on the held-out patients, the new screener beside the base one at its own
threshold. The output is a folder of tensors and JSON (no pickle), written
whole or not at all; screen with --model DIR, inspect with 'skcxr info DIR'.
"""

_TRAIN_EPILOG = """\
examples:
  # fine-tune the shipped screener on a site's films (measured times: the docs'
  # "Adapting the screener to your site"):
  skcxr train SITE_FILMS --init resnet18-kermany-128 --out site_screener
  # train the recommended preset from scratch: the shipped model's CPU recipe
  # (128 px, 6 epochs) took 26 to 65 min on a shared 2-core CPU
  # (benchmarks/results/cpu-128px-6epochs-seeds.json):
  skcxr train ../shared/data/chest_xray/train --size 128 --epochs 6 --out my_screener
"""

_CALIBRATE_DESCRIPTION = """\
Set a screener's threshold, and refit its input guard, on a site's labelled films
without retraining the network (one sub-folder per class, as for 'skcxr
train'). The threshold rule is train's: the highest threshold whose one-sided
lower confidence bound for sensitivity reaches --sensitivity at --confidence,
here on every film the site's guard accepts. Nothing is held out, so the card's
numbers at the threshold are in-sample: measure on new films before relying on
them. The output is a screener folder (no pickle).
"""

_CALIBRATE_EPILOG = """\
examples:
  skcxr calibrate SITE_FILMS --model resnet18-kermany-128 --out site_calibrated
  skcxr screen /pacs/export --model site_calibrated --out worklist.csv
"""

_EVALUATE_DESCRIPTION = """\
Screen an image folder with known labels (one sub-folder per class of the
model, e.g. NORMAL/ and PNEUMONIA/) and print the screening report: AUC,
sensitivity, specificity, PPV, NPV with 95% confidence intervals that
resample patients (Kermany file names; other files count as one patient
each), at the model's threshold and at 0.5. Files that were not screened
(unsuitable, error) are counted and left out of the numbers; when more than
10% of the readable films are refused as unlike the training films, a notice
says the folder looks out of the model's population. --report writes the same
numbers as an HTML page.
"""

_EVALUATE_EPILOG = """\
examples:
  skcxr evaluate ../shared/data/chest_xray/test --model my_model.joblib
  skcxr evaluate ../shared/data/chest_xray/test --report evaluation.html --out worklist.csv

exit status: as for 'skcxr screen' (0, 1 when nothing could be read, 2 on usage errors).
"""

_INFO_DESCRIPTION = """\
Without NAME, list the pretrained screeners of this installation (the first is
the default of 'skcxr screen'). With a pretrained NAME, a screener folder or a
joblib FILE, print its model card: intended use, threshold and how it was
chosen, data, metrics, and for a site's screener the base model and the
before/after numbers.
"""

_INFO_EPILOG = """\
examples:
  skcxr info
  skcxr info resnet18-kermany-128
  skcxr info site_screener
  skcxr info site_screener --check-weights
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the descriptions' and examples' line breaks."""


def build_parser():
    """The ``skcxr`` argument parser with its four subcommands."""
    parser = argparse.ArgumentParser(
        prog="skcxr", formatter_class=_Formatter, epilog=_MAIN_EPILOG,
        description="Screen chest X-rays for pneumonia with scikit-learn models: screen "
                    "folders into a ranked worklist, train, evaluate, inspect models.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"skcxr {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    screen = commands.add_parser(
        "screen", help="screen files or folders into a ranked worklist (CSV) and a report",
        description=_SCREEN_DESCRIPTION, epilog=_SCREEN_EPILOG, formatter_class=_Formatter)
    screen.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    _add_model_options(screen)
    screen.add_argument("--out", metavar="CSV", default=None,
                        help="worklist file (default: standard output)")
    screen.add_argument("--labels-from-folders", action="store_true",
                        help="take true labels from folder names (NORMAL/, PNEUMONIA/): adds "
                             "a true_label column and, with --report, curves and metrics")
    _add_run_options(screen)
    _add_summary_option(screen, "", stdout="; '-' writes it to standard output when --out names "
                        "a file")

    train = commands.add_parser(
        "train", help="make a screener from a site's labelled films (fine-tune or from scratch)",
        description=_TRAIN_DESCRIPTION, epilog=_TRAIN_EPILOG, formatter_class=_Formatter)
    train.add_argument("data_dir", metavar="DATA_DIR", help="folder with one sub-folder per class")
    train.add_argument("--out", metavar="DIR", required=True,
                       help="screener folder to write (must not exist, unless --overwrite)")
    train.add_argument("--init", metavar="NAME|DIR", default=None,
                       help="fine-tune these weights: a pretrained name or a screener folder "
                            "(default: train --preset from scratch)")
    train.add_argument("--preset", default="recommended",
                       choices=("recommended", "compact", "original"),
                       help="recipe when training from scratch, see CXRClassifier.from_preset "
                            "(default: %(default)s)")
    train.add_argument("--size", type=int, default=None, metavar="N",
                       help="image side in pixels (default: the --init model's; 128 from "
                            "scratch)")
    train.add_argument("--epochs", type=int, default=None, metavar="N",
                       help="training epochs (default: the measured default for fine-tuning or "
                            "for training from scratch)")
    train.add_argument("--lr", type=float, default=None, metavar="FLOAT",
                       help="learning rate (default: the measured default)")
    _add_threshold_rule_options(train)
    train.add_argument("--cv", type=parse_cv, default=None, metavar="N|none",
                       help="how the threshold's films are held out: none (the default: one "
                            "held-out split, the shipped network is the one scored there) or "
                            "N-fold cross-fitting by patient (N+1 trainings; the guarantee is "
                            "then about networks trained so, not the refitted one)")
    train.add_argument("--validation-fraction", type=float, default=0.25, metavar="FLOAT",
                       help="share of the patients held out to choose the threshold when not "
                            "cross-fitting (default: %(default)s)")
    train.add_argument("--seed", type=int, default=0, metavar="N",
                       help="random seed of the split, the weights, the augmentation and the "
                            "input guard (default: %(default)s)")
    _add_guard_options(train)
    train.add_argument("--overwrite", action="store_true",
                       help="replace an existing screener folder at --out")

    calibrate = commands.add_parser(
        "calibrate", help="set a screener's threshold and guard on a site's films, no training",
        description=_CALIBRATE_DESCRIPTION, epilog=_CALIBRATE_EPILOG, formatter_class=_Formatter)
    calibrate.add_argument("data_dir", metavar="DATA_DIR",
                           help="folder with one sub-folder per class of the model")
    calibrate.add_argument("--model", metavar="NAME|DIR", default=None,
                           help="the screener to calibrate: a pretrained name or a screener "
                                "folder (default: the first pretrained screener)")
    calibrate.add_argument("--out", metavar="DIR", required=True, help="screener folder to write")
    _add_threshold_rule_options(calibrate)
    calibrate.add_argument("--seed", type=int, default=0, metavar="N",
                           help="random seed of the guard's held-out films (default: %(default)s)")
    _add_guard_options(calibrate)
    calibrate.add_argument("--overwrite", action="store_true",
                           help="replace an existing screener folder at --out")

    evaluate = commands.add_parser(
        "evaluate", help="screening report with patient-level CIs on a labelled folder",
        description=_EVALUATE_DESCRIPTION, epilog=_EVALUATE_EPILOG, formatter_class=_Formatter)
    evaluate.add_argument("data_dir", metavar="DATA_DIR",
                          help="folder with one sub-folder per class of the model")
    _add_model_options(evaluate)
    evaluate.add_argument("--out", metavar="CSV", default=None,
                          help="also write the worklist here (a file: standard output "
                               "carries the printed report)")
    evaluate.add_argument("--bootstraps", type=int, default=1000, metavar="N",
                          help="bootstrap resamples of patients for the confidence intervals "
                               "(default: %(default)s)")
    _add_run_options(evaluate)
    _add_summary_option(evaluate, ", the metrics at both thresholds",
                        stdout=" (a file: standard output carries the printed report)")

    info = commands.add_parser(
        "info", help="list pretrained screeners, or print a model's card",
        description=_INFO_DESCRIPTION, epilog=_INFO_EPILOG, formatter_class=_Formatter)
    info.add_argument("name", nargs="?", metavar="NAME", help="a pretrained name or a model file")
    info.add_argument("--check-weights", action="store_true",
                      help="also load the network's tensors with PyTorch (a few seconds) and "
                           "check their names, shapes and values; the sha256 check alone cannot "
                           "tell a damaged file whose sha256 was copied onto the card")
    return parser


def _add_threshold_rule_options(parser):
    parser.add_argument("--positive", default="PNEUMONIA", metavar="CLASS",
                        help="the class to flag (default: %(default)s)")
    parser.add_argument("--sensitivity", type=parse_fraction, default=0.97, metavar="FLOAT",
                        help="sensitivity the threshold must guarantee (default: %(default)s)")
    parser.add_argument("--confidence", type=parse_fraction, default=0.95, metavar="FLOAT",
                        help="one-sided confidence of that guarantee, Clopper-Pearson "
                             "(default: %(default)s)")


def _add_guard_options(parser):
    parser.add_argument("--guard-false-rejection", type=parse_rate, default="auto",
                        metavar="auto|FLOAT",
                        help="share of the site's films that the input guard may refuse; its "
                             "threshold needs about 1/FLOAT held-out films. 'auto' (the "
                             "default) is 0.01 where the films allow it, else the smallest "
                             "share they can set (small sites)")
    parser.add_argument("--no-guard", action="store_true",
                        help="no input guard fitted on the site's films: every decodable film "
                             "is scored (calibrate keeps the model's own guard)")


def _add_model_options(parser):
    parser.add_argument("--model", metavar="NAME|DIR|FILE", default=None,
                        help="a pretrained screener's name (see 'skcxr info'), a screener folder "
                             "from 'skcxr train', or a joblib file (code: loaded with a warning; "
                             "load only files you trust). Default: the first pretrained "
                             "screener; a bare pretrained name never reads a file")
    parser.add_argument("--backend", default="auto",
                        choices=("auto", "torch", "onnxruntime", "onnxruntime-int8"),
                        help="what runs the network: 'auto' (default) is the fastest backend "
                             "whose check passed; another falls back to torch with a note")
    parser.add_argument("--threshold", type=parse_threshold, default="screening",
                        metavar="screening|FLOAT",
                        help="flag films whose score reaches this; 'screening' (the default) "
                             "is the model's own threshold, chosen on validation patients "
                             "(0.5, with a note, for a model that carries none)")


def _add_run_options(parser):
    parser.add_argument("--report", metavar="HTML", default=None,
                        help="also write a self-contained HTML report to this file, never "
                             "standard output (films and heatmaps of the top flagged films; "
                             "curves when labels are known)")
    parser.add_argument("--max-heatmaps", type=int, default=50, metavar="N",
                        help="HiResCAM heatmaps in the report for at most N flagged films, the "
                             "top ones (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="files decoded and scored together (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="threads decoding files while the model scores the previous "
                             "batch (default: %(default)s)")


def _add_summary_option(parser, metrics, stdout):
    from ..screener import UNLIKE_TRAINING_NOTICE_SHARE

    share = f"{UNLIKE_TRAINING_NOTICE_SHARE:.0%}".replace("%", "%%")  # argparse formats help
    parser.add_argument("--summary-json", metavar="JSON", default=None,
                        help="also write the summary here as JSON, for pipelines: model, "
                             "threshold, counts, refusals by reason code" + metrics + ", and the "
                             "out-of-population notice (null unless more than " + share + " of "
                             "the readable films were refused as unlike the training films)"
                             + stdout)


def _shown(message):
    """``message`` with a file name's undecodable bytes as ``\\xHH``, as the worklist writes them
    (``repr`` of such a name shows ``\\udcHH``, which is no byte of the name)."""
    return re.sub(r"\\udc([89a-f][0-9a-f])", r"\\x\1", message)


def main(argv=None):
    """Run the ``skcxr`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success; 1 when nothing could be read (or a command failed);
        2 on usage errors; 130 when interrupted.
    """
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code == EXIT_USAGE:
            _hint_files_read_as_options(argv)
        raise
    args.command_line = shlex.join(["skcxr", *argv])  # recorded in model cards and reports
    formatwarning = warnings.formatwarning
    # A warning reads as the command's own line, not as a Python source location.
    warnings.formatwarning = lambda message, category, *rest, **kw: (
        f"skcxr {args.command}: warning: {message}\n")
    try:
        # Inside the try: importing torch takes seconds, and a Ctrl-C then is an interruption
        # like any other (status 130), not a traceback.
        return _command(args.command)(args)
    except BrokenPipeError:
        # `skcxr info | head`: the reader left; nothing is wrong with the command.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so the exit flush cannot fail again
        return 0
    except UsageError as exc:
        print(f"skcxr {args.command}: error: {_shown(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\nskcxr {args.command}: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError) as exc:
        # Bad data met while running (e.g. an unreadable training film): name it, no traceback.
        print(f"skcxr {args.command}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = formatwarning


def _hint_files_read_as_options(argv):
    """After argparse's usage error: name the files it read as options (``-rf.jpeg``)."""
    before_separator = argv[:argv.index("--")] if "--" in argv else argv
    for arg in before_separator:
        if arg.startswith("-") and arg != "-" and os.path.lexists(arg):
            print(f"skcxr: {arg!r} is a file, read here as an option: write ./{arg}, or put "
                  "-- before the files.", file=sys.stderr)


def _command(command):
    """The function running ``command``, imported only now: --help and usage errors start at once."""
    if command == "info":
        from ._info import run_info

        return run_info
    if command in ("train", "calibrate"):
        from ._train import run_calibrate, run_train

        return run_train if command == "train" else run_calibrate
    from ._screen import run_evaluate, run_screen

    return run_screen if command == "screen" else run_evaluate
