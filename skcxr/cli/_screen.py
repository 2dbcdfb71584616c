"""``skcxr screen`` and ``skcxr evaluate``: folders of films to a worklist, a report and metrics."""

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ..screener import (
    count_statuses,
    discover_files,
    evaluate_rows,
    folder_labels,
    format_evaluation,
    population_notice,
    screen_files,
    worklist_order,
    write_report,
    write_worklist,
)
from ._errors import UsageError
from ._models import load_model
from ._output import (
    OutputError,
    OutputLocks,
    check_distinct_outputs,
    check_not_inputs,
    check_output_path,
    earlier_outputs,
    replaced_atomically,
)

EXIT_OK, EXIT_NOTHING_READ = 0, 1


def run_screen(args):
    """``skcxr screen PATH...``; returns the exit status."""
    _check_options(args)
    files, n_skipped = _discover(args.paths, args)
    files, args.earlier_outputs = earlier_outputs(_outputs(args), files, args.paths)
    # Locked after discovery, so that a lock file beside an output inside an input folder
    # is not counted as a skipped hidden file.
    with OutputLocks(_outputs(args), args.command_line):
        check_not_inputs(_outputs(args), files)
        model = load_model(args.model, args.threshold, backend=args.backend)
        check_not_inputs(_outputs(args), model.files, model=model.name)
        labels = (_labels_from_folders(files, args.paths, model) if args.labels_from_folders
                  else None)
        rows, counts, seconds = _screen(files, model, args, labels)
        _write_outputs(rows, model, args, n_skipped, with_labels=labels is not None)
        notice = population_notice(rows, model_name=model.name)
        _write_summary_json(args, rows, counts, n_skipped, model, seconds, notice)
    print(_summary("screen", counts, n_skipped, model, seconds, args, notice), file=sys.stderr)
    return _exit_status(counts)


def run_evaluate(args):
    """``skcxr evaluate DATA_DIR``; prints the screening report; returns the exit status."""
    _check_options(args)
    if not Path(args.data_dir).is_dir():
        raise UsageError(f"DATA_DIR {args.data_dir!r} is not a folder.")
    model = load_model(args.model, args.threshold, backend=args.backend)
    check_not_inputs(_outputs(args), model.files, model=model.name)
    classes = [c.item() if isinstance(c, np.generic) else c for c in model.screener.classes_]
    folders = {p.name.lower(): p.name for p in Path(args.data_dir).iterdir() if p.is_dir()}
    missing = [str(c) for c in classes if str(c).lower() not in folders]
    if missing:
        raise UsageError(
            f"{args.data_dir!r} needs one sub-folder per class of the model "
            f"({', '.join(map(str, classes))}); missing: {', '.join(missing)}."
        )
    files, n_skipped = _discover([args.data_dir])
    files, args.earlier_outputs = earlier_outputs(_outputs(args), files, [args.data_dir])
    with OutputLocks(_outputs(args), args.command_line):
        check_not_inputs(_outputs(args), files)
        labels = folder_labels(files, args.data_dir, classes)
        rows, counts, seconds = _screen(files, model, args, labels)
        # Computed once: the printed numbers, the report's and the summary JSON's are the same.
        evaluation = evaluate_rows(rows, model.screener, n_bootstraps=args.bootstraps)
        _write_outputs(rows, model, args, n_skipped, with_labels=True, evaluation=evaluation)
        notice = population_notice(rows, model_name=model.name)
        _write_summary_json(args, rows, counts, n_skipped, model, seconds, notice,
                            evaluation=evaluation)
    try:
        print(_evaluation(evaluation, model, notice), flush=True)
    except OSError as exc:  # e.g. > /dev/full: say what failed, and what was kept
        _drop_stdout()
        written = [f"{option} {path}" for option, path in _outputs(args)]
        raise OSError(f"Printing the evaluation report to standard output failed "
                      f"({_os_error(exc)})" + (f"; written before it: {', '.join(written)}."
                                               if written else "; nothing else was asked "
                                               "for (--out, --report, --summary-json).")
                      ) from None
    print(_summary("evaluate", counts, n_skipped, model, seconds, args, notice),
          file=sys.stderr)
    return _exit_status(counts)


def _check_options(args):
    """Fail before screening, not after an hour of it, on options that cannot work."""
    if not isinstance(args.batch_size, int) or args.batch_size < 1:
        raise UsageError(f"--batch-size must be a positive integer; got {args.batch_size}.")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be a positive integer; got {args.jobs}.")
    if args.max_heatmaps < 0:
        raise UsageError(f"--max-heatmaps must be 0 or more; got {args.max_heatmaps}.")
    if getattr(args, "bootstraps", 0) < 0:  # evaluate: found after the screen otherwise
        raise UsageError(f"--bootstraps must be 0 or more; got {args.bootstraps}.")
    _check_standard_output(args)
    outputs = _outputs(args)
    for option, path in outputs:
        check_output_path(option, path)
    check_distinct_outputs(outputs)
    if args.report:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("--report needs matplotlib: pip install 'skcxr[plot]'.") from None


def _check_standard_output(args):
    """``-`` means standard output where one thing can go there, and is a usage error elsewhere
    (it was written as a file named ``-``).

    screen: the worklist (without --out, or --out -), or else the summary
    JSON (--summary-json -). evaluate: its printed report, always. The HTML
    report is never written there: it is a file (--report -).
    """
    typed = {}  # what the user wrote, for the messages
    for option in ("out", "report", "summary_json"):
        value = getattr(args, option, None)
        typed[option] = value
        if value not in (None, "-") and _is_standard_output(value):
            setattr(args, option, "-")  # /dev/stdout, /proc/self/fd/1: the same as "-"
    if args.report == "-":
        shown = "-" if typed["report"] == "-" else f"{typed['report']} (standard output)"
        raise UsageError(f"--report {shown}: the report is a file (an HTML page with its images); give a "
                         "file name, e.g. --report report.html.")
    worklist_to_stdout = args.command == "screen" and args.out in (None, "-")
    if args.command == "evaluate":
        for option, value in (("--out", args.out), ("--summary-json", args.summary_json)):
            if value == "-":
                raise UsageError(f"{option} -: standard output carries the evaluation report "
                                 f"that evaluate prints; give a file name for {option}.")
    elif args.summary_json == "-" and worklist_to_stdout:
        raise UsageError(f"--summary-json {typed['summary_json']} and the worklist cannot both "
                         "go to standard output: "
                         "give --out FILE for the worklist, or a file name for --summary-json.")
    if (worklist_to_stdout or args.summary_json == "-") and sys.stdout is None:
        what = ("the worklist goes there without --out: pass --out FILE" if worklist_to_stdout
                else "--summary-json - writes there: give a file name")
        raise UsageError(f"Standard output is closed, and {what}.")


def _is_standard_output(path):
    """Whether ``path`` is this process's standard output under another name (/dev/stdout)."""
    try:
        named, stdout = os.stat(path), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no such file, or no real standard output
        return False
    return (named.st_dev, named.st_ino) == (stdout.st_dev, stdout.st_ino)


def _outputs(args):
    """``[(option, path)]`` of the files this run writes (standard output is none)."""
    named = (("--out", args.out), ("--report", args.report),
             ("--summary-json", getattr(args, "summary_json", None)))
    return [(option, path) for option, path in named if path not in (None, "-")]


def _discover(paths, args=None):
    try:
        files, n_skipped, repeated = discover_files(paths, return_repeated=True)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    if args is not None:
        args.repeated = repeated  # said in the summary: one row each, not one per mention
    return files, n_skipped


def _labels_from_folders(files, paths, model):
    """Each file's class from its first folder under the PATH argument it was found in."""
    classes = [c.item() if isinstance(c, np.generic) else c for c in model.screener.classes_]
    labels = [None] * len(files)
    for path in paths:
        if not os.path.isdir(path):
            continue
        inside = [i for i, f in enumerate(files) if labels[i] is None
                  and os.path.abspath(f).startswith(os.path.join(os.path.abspath(path), ""))]
        for i, label in zip(inside, folder_labels([files[i] for i in inside], path, classes)):
            labels[i] = label
    return labels


def _screen(files, model, args, labels):
    """Screen with a progress bar; the rows in worklist order, their counts and the time taken."""
    from tqdm import tqdm

    start = time.perf_counter()
    rows = []
    # tqdm draws nothing when stderr is not a terminal (a log file, a pipe, CI).
    bar = tqdm(total=len(files), unit="file", desc="screening", file=sys.stderr,
               disable=not sys.stderr.isatty(), dynamic_ncols=True)
    with bar:
        for row in screen_files(model.screener, files, batch_size=args.batch_size,
                                n_jobs=args.jobs, labels=labels):
            rows.append(row)
            bar.update(1)
    rows = worklist_order(rows)
    return rows, count_statuses(rows), time.perf_counter() - start


def _write_outputs(rows, model, args, n_skipped, *, with_labels, evaluation=None):
    """The worklist, then the report, each written whole; one failing never loses the other.

    Each file is written to a temporary file beside it and renamed over it
    when complete. Both are attempted; an error says what was written and
    what was not.
    """
    written, failed = [], []
    if args.out not in (None, "-") or args.command == "screen":
        if args.out in (None, "-"):
            try:
                write_worklist(rows, sys.stdout, with_labels=with_labels)
                sys.stdout.flush()  # a full disk (> /dev/full) fails here, not at exit
                written.append("the worklist went to standard output")
            except BrokenPipeError:
                raise  # the reader left (| head): not an error of the run
            except OSError as exc:
                _drop_stdout()
                failed.append(("writing the worklist to standard output", exc))
                rescued = _rescue_worklist(rows, with_labels)
                if rescued:
                    written.append(f"its rows were saved to {rescued!r} instead")
        else:
            try:
                with replaced_atomically(args.out) as temporary:
                    with open(temporary, "w", newline="", encoding="utf-8") as out:
                        write_worklist(rows, out, with_labels=with_labels)
                written.append(f"the worklist was written to {args.out!r}")
            except Exception as exc:  # noqa: BLE001 - reported below, with what was written
                failed.append((f"the worklist {args.out!r}", exc))
                rescued = _rescue_worklist(rows, with_labels)
                if rescued:
                    written.append(f"its rows were saved to {rescued!r} instead")
    if args.report:
        try:
            with replaced_atomically(args.report) as temporary:
                write_report(temporary, rows, model.screener, model_name=model.name,
                             threshold_note=model.threshold_note,
                             n_skipped=n_skipped + len(args.earlier_outputs),
                             max_heatmaps=args.max_heatmaps, command=args.command_line,
                             evaluation=evaluation)
            written.append(f"the report was written to {args.report!r}")
        except Exception as exc:  # noqa: BLE001 - reported below, with what was written
            failed.append((f"the report {args.report!r}", exc))
    if failed:
        what = "; ".join(f"{name} failed ({_os_error(exc)})" if name.startswith("writing")
                         else f"{name} could not be written ({type(exc).__name__}: {exc})"
                         for name, exc in failed)
        done = f" Every file was screened and {'; '.join(written)}." if written else ""
        raise OutputError(f"{what[0].upper()}{what[1:]}.{done}") from failed[0][1]


def _os_error(exc):
    """``ENOSPC: No space left on device`` for an OSError with an errno; else its type and text."""
    import errno

    if isinstance(exc, OSError) and exc.errno in errno.errorcode:
        return f"{errno.errorcode[exc.errno]}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"


def _drop_stdout():
    """Point standard output at the null device: the rows still buffered for it cannot be
    written, and Python's flush at exit would fail on them again (a second message)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives until the process ends


def _rescue_worklist(rows, with_labels):
    """Save the rows where a file can still be made (the system's temporary folder, then the
    current one) when ``--out`` fails after the screen: a screen's work is never lost."""
    import tempfile

    for folder in (tempfile.gettempdir(), os.getcwd()):
        try:
            fd, path = tempfile.mkstemp(prefix="skcxr-worklist-", suffix=".csv", dir=folder)
        except OSError:
            continue
        try:
            with open(fd, "w", newline="", encoding="utf-8") as out:
                write_worklist(rows, out, with_labels=with_labels)
            return path
        except OSError:
            os.unlink(path)  # a part of the rows would read as a whole worklist
    return None


# The codec error handler the worklist's cells escape with (registered by skcxr.screener when
# write_worklist is imported above): a byte that is not UTF-8 reads \xff here as in the CSV.
_ESCAPE_UNDECODABLE = "skcxr.escape-undecodable"


def _shown(path):
    """``path`` as the worklist writes a name: an undecodable byte as ``\\xHH``, not ``\\udcHH``."""
    return path.encode("utf-8", _ESCAPE_UNDECODABLE).decode("utf-8")


def _summary(command, counts, n_skipped, model, seconds, args, notice=None):
    threshold = f"{model.screener.decision_threshold:.4g}"
    if model.threshold_is_default:
        threshold += " (default: the model has no screening threshold)"
    rate = counts["files"] / seconds if seconds > 0 else float("nan")
    outputs = [f"{name} {_shown(path)}" for name, path in (("worklist", args.out), ("report", args.report),
                                                   ("summary", args.summary_json))
               if path not in (None, "-")]
    if args.summary_json == "-":
        outputs.append("summary to standard output")
    line = (
        f"skcxr {command}: {counts['files']} files: {counts['screened']} screened, "
        f"{counts['flagged']} flagged at threshold {threshold}, {counts['unsuitable']} "
        f"unsuitable, {counts['error']} error; {n_skipped} skipped (hidden/system)"
        + "".join(f", {_shown(path)} skipped (this run's {option}, left by an earlier run)"
                  for option, path in args.earlier_outputs)
        + (f", {len(args.repeated)} named more than once (one row each)"
           if getattr(args, "repeated", None) else "") + "; "
        f"{seconds:.1f} s ({rate:.1f} files/s, {model.screener.backend_in_use})"
        + (f"; {', '.join(outputs)}" if outputs else "")
    )
    if model.screener.fitted_guard is None:
        line += (f"\nskcxr {command}: note: this model has no input guard: every film that "
                 "decodes was scored, none was checked for being a chest film like its "
                 "training films")
    if notice:
        line += f"\nskcxr {command}: notice: {notice['message']}\n  {notice['advice']}"
    return line


def _summary_record(command, rows, counts, n_skipped, model, seconds, notice, evaluation=None,
                    earlier=(), repeated=()):
    """What ``--summary-json`` writes: counts, threshold, model, refusal codes, notice, metrics."""
    from .. import __version__

    record = {
        "command": command,
        "skcxr_version": __version__,
        "model": model.name,
        "flagged_class": model.screener.flagged_class,
        "threshold": float(model.screener.decision_threshold),
        "backend": model.screener.backend_in_use,
        "threshold_note": model.threshold_note,
        # Earlier runs' outputs found among the inputs count as skipped too, and are named.
        "counts": {**counts, "skipped": n_skipped + len(earlier)},
        "skipped_earlier_outputs": [path for _, path in earlier],
        # Entries named more than once (or named and inside a named folder): one row each.
        "named_more_than_once": list(repeated),
        "refusal_codes": dict(sorted(Counter(r.code for r in rows if r.status != "screened")
                                     .items())),
        "population_notice": notice,
        "seconds": round(seconds, 3),
    }
    if evaluation is not None:
        record["metrics"] = {title: report for title, report in evaluation["reports"]}
    return record


def _write_summary_json(args, rows, counts, n_skipped, model, seconds, notice, evaluation=None):
    if args.summary_json is None:
        return
    record = _summary_record(args.command, rows, counts, n_skipped, model, seconds, notice,
                             evaluation, args.earlier_outputs, getattr(args, "repeated", ()))
    if args.summary_json == "-":  # the worklist went to --out: standard output is the summary's
        try:
            sys.stdout.write(json.dumps(record, indent=2, default=_json_number) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            raise  # the reader left (| head): not an error of the run
        except OSError as exc:
            _drop_stdout()
            raise OutputError(
                f"Writing the summary to standard output failed ({_os_error(exc)}). Every file "
                "was screened; the worklist and report were written as asked.") from exc
        return
    try:
        with replaced_atomically(args.summary_json) as temporary:
            with open(temporary, "w", encoding="utf-8") as out:
                json.dump(record, out, indent=2, default=_json_number)
                out.write("\n")
    except OSError as exc:
        raise OutputError(
            f"The summary {args.summary_json!r} could not be written ({type(exc).__name__}: "
            f"{exc}). Every file was screened; the worklist and report were written as "
            "asked.") from exc


def _json_number(value):
    """numpy scalars in the metrics as plain JSON numbers."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _exit_status(counts):
    """0 when a row was written for every file and at least one file could be read."""
    if counts["files"] == 0:
        print("skcxr: no file found to screen.", file=sys.stderr)
        return EXIT_NOTHING_READ
    if counts["error"] == counts["files"]:
        print("skcxr: no file could be read.", file=sys.stderr)
        return EXIT_NOTHING_READ
    return EXIT_OK


def _evaluation(evaluation, model, notice):
    """What ``skcxr evaluate`` prints: the screening reports with patient-level CIs, as text."""
    lines = [f"Model: {model.name}; threshold {model.screener.decision_threshold:.4g} "
             f"({model.threshold_note})."]
    if notice:
        lines += ["", f"NOTICE: {notice['message']} {notice['advice']}", ""]
    lines.append(format_evaluation(evaluation))
    lines += ["", "A screening aid flags films for earlier review; it never replaces the "
              "radiologist."]
    return "\n".join(lines)
