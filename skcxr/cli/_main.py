"""The ``skcxr`` command line: parser, dispatch and exit statuses."""

import argparse
import shlex
import sys

from ._models import UsageError, parse_threshold

EXIT_USAGE, EXIT_INTERRUPTED = 2, 130

_MAIN_EPILOG = """\
examples:
  skcxr screen ../shared/data/chest_xray/test --out worklist.csv --report report.html
  skcxr train ../shared/data/chest_xray/train --size 128 --epochs 6 --out my_model.joblib
  skcxr evaluate ../shared/data/chest_xray/test --model my_model.joblib
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
  skcxr screen /pacs/export --model my_model.joblib --threshold 0.3 --out worklist.csv
  skcxr screen scans/ > worklist.csv 2> summary.txt
"""

_TRAIN_DESCRIPTION = """\
Train a screener on an image folder with one sub-folder per class (e.g.
NORMAL/ and PNEUMONIA/). Patients are taken from Kermany file names where they
parse (person1234_bacteria_1.jpeg, IM-0115-0001.jpeg); any other file counts as
its own patient. A share of the PATIENTS is held out: the network never sees
them, and the screening threshold is chosen on them (the highest threshold
reaching --sensitivity). The model file holds the loader, the network, the
threshold and a model card recording what was done (see 'skcxr info FILE').
"""

_TRAIN_EPILOG = """\
examples:
  # the shipped model's CPU recipe (128 px, 6 epochs); it took 26 to 65 min on a
  # shared 2-core CPU (benchmarks/results/cpu-128px-6epochs-seeds.json):
  skcxr train ../shared/data/chest_xray/train --size 128 --epochs 6 --out my_model.joblib
  # the full recipe (224 px, up to 30 epochs; meant for a GPU):
  skcxr train ../shared/data/chest_xray/train --out my_model.joblib
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
the default of 'skcxr screen'). With a pretrained NAME or a model FILE, print
its model card: intended use, threshold and how it was chosen, data, metrics.
"""

_INFO_EPILOG = """\
examples:
  skcxr info
  skcxr info my_model.joblib
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
    _add_summary_option(screen, "")

    train = commands.add_parser(
        "train", help="train a screener on an image folder (NORMAL/, PNEUMONIA/)",
        description=_TRAIN_DESCRIPTION, epilog=_TRAIN_EPILOG, formatter_class=_Formatter)
    train.add_argument("data_dir", metavar="DATA_DIR", help="folder with one sub-folder per class")
    train.add_argument("--out", metavar="MODEL", required=True,
                       help="model file to write (joblib)")
    train.add_argument("--preset", default="recommended",
                       choices=("recommended", "compact", "original"),
                       help="training recipe, see CXRClassifier.from_preset (default: "
                            "%(default)s)")
    train.add_argument("--size", type=int, default=224, metavar="N",
                       help="image side in pixels (default: %(default)s)")
    train.add_argument("--epochs", type=int, default=None, metavar="N",
                       help="epochs at most (default: the preset's; early stopping may end "
                            "sooner)")
    train.add_argument("--positive", default="PNEUMONIA", metavar="CLASS",
                       help="the class to flag (default: %(default)s)")
    train.add_argument("--sensitivity", type=float, default=0.97, metavar="FLOAT",
                       help="sensitivity the threshold must reach on the held-out patients "
                            "(default: %(default)s)")
    train.add_argument("--validation-fraction", type=float, default=0.15, metavar="FLOAT",
                       help="share of the patients held out to choose the threshold "
                            "(default: %(default)s)")
    train.add_argument("--seed", type=int, default=0, metavar="N",
                       help="random seed of the split, the weights, the augmentation and the "
                            "input guard (default: %(default)s)")
    train.add_argument("--guard-false-rejection", type=float, default=0.02, metavar="FLOAT",
                       help="share of films like the training films that the input guard may "
                            "refuse; its threshold needs about 1/FLOAT held-out films "
                            "(default: %(default)s)")
    train.add_argument("--no-guard", action="store_true",
                       help="write the screener without an input guard: every decodable "
                            "file is scored, none is marked unsuitable")

    evaluate = commands.add_parser(
        "evaluate", help="screening report with patient-level CIs on a labelled folder",
        description=_EVALUATE_DESCRIPTION, epilog=_EVALUATE_EPILOG, formatter_class=_Formatter)
    evaluate.add_argument("data_dir", metavar="DATA_DIR",
                          help="folder with one sub-folder per class of the model")
    _add_model_options(evaluate)
    evaluate.add_argument("--out", metavar="CSV", default=None,
                          help="also write the worklist here")
    evaluate.add_argument("--bootstraps", type=int, default=1000, metavar="N",
                          help="bootstrap resamples of patients for the confidence intervals "
                               "(default: %(default)s)")
    _add_run_options(evaluate)
    _add_summary_option(evaluate, ", the metrics at both thresholds")

    info = commands.add_parser(
        "info", help="list pretrained screeners, or print a model's card",
        description=_INFO_DESCRIPTION, epilog=_INFO_EPILOG, formatter_class=_Formatter)
    info.add_argument("name", nargs="?", metavar="NAME", help="a pretrained name or a model file")
    return parser


def _add_model_options(parser):
    parser.add_argument("--model", metavar="NAME|FILE", default=None,
                        help="a pretrained screener's name (see 'skcxr info') or a model file "
                             "from 'skcxr train' or joblib.dump (default: the first "
                             "pretrained screener). Model files are pickles: load only files "
                             "you trust")
    parser.add_argument("--threshold", type=parse_threshold, default="screening",
                        metavar="screening|FLOAT",
                        help="flag films whose score reaches this; 'screening' (the default) "
                             "is the model's own threshold, chosen on validation patients "
                             "(0.5, with a note, for a model that carries none)")


def _add_run_options(parser):
    parser.add_argument("--report", metavar="HTML", default=None,
                        help="also write a self-contained HTML report (films and heatmaps "
                             "of the top flagged films; curves when labels are known)")
    parser.add_argument("--max-heatmaps", type=int, default=50, metavar="N",
                        help="HiResCAM heatmaps in the report for at most N flagged films, the "
                             "top ones (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N",
                        help="files decoded and scored together (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="threads decoding files while the model scores the previous "
                             "batch (default: %(default)s)")


def _add_summary_option(parser, metrics):
    from ..screener import UNLIKE_TRAINING_NOTICE_SHARE

    share = f"{UNLIKE_TRAINING_NOTICE_SHARE:.0%}".replace("%", "%%")  # argparse formats help
    parser.add_argument("--summary-json", metavar="JSON", default=None,
                        help="also write the summary here as JSON, for pipelines: model, "
                             "threshold, counts, refusals by reason code" + metrics + ", and the "
                             "out-of-population notice (null unless more than " + share + " of "
                             "the readable films were refused as unlike the training films)")


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
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["skcxr", *argv])  # recorded in model cards and reports
    from ._info import run_info
    from ._screen import run_evaluate, run_screen
    from ._train import run_train

    run = {"screen": run_screen, "train": run_train, "evaluate": run_evaluate,
           "info": run_info}[args.command]
    try:
        return run(args)
    except UsageError as exc:
        print(f"skcxr {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\nskcxr {args.command}: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError) as exc:
        # Bad data met while running (e.g. an unreadable training film): name it, no traceback.
        print(f"skcxr {args.command}: error: {exc}", file=sys.stderr)
        return 1
