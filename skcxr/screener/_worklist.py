"""Screen files into worklist rows, streaming: one row per file, always.

Files are read in chunks by a background thread (and, with ``n_jobs``, a
pool of decoding threads: Pillow releases the GIL) while the model scores
the previous chunk, so decoding overlaps inference and at most a few
chunks of pixels exist at any time, however many files there are.
"""

import csv
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from .._compat import HasMethods, StrictInterval, validate_params
from ..guard import Refusal
from ..preprocessing import sniff_format
from ._cells import worklist_text
from ._parts import split_loader
from ._reading import DICOM_FIELDS, Film, dicom_identifiers, read_film
from ._scoring import guard_and_score

STATUSES = ("screened", "unsuitable", "error")
CSV_COLUMNS = ("path", "score", "flagged", "status", "reason", "reason_code")


@dataclass(slots=True)
class WorklistRow:
    """One file's line of the worklist.

    Each parameter is kept as the attribute of the same name.

    Parameters
    ----------
    index : int
        Position of the file in the input order.
    path : str
        The file, as given.
    status : {"screened", "unsuitable", "error"}
        Scored; refused by the input guard; or unreadable.
    score : float or None, default=None
        Probability of the flagged class; None unless screened.
    flagged : bool or None, default=None
        ``score >= threshold``; None unless screened (a film that was not
        scored is never reported as "not flagged").
    reason : str, default=""
        Why a file was not screened ("" when screened).
    code : str, default=""
        The reason's code (:data:`skcxr.guard.REFUSAL_CODES`; "" when
        screened): count and group by it, not by the sentence.
    dicom : tuple of str or None, default=None
        PatientID, StudyInstanceUID, AccessionNumber of a DICOM file.
    label : str or None, default=None
        The true label, when known (e.g. from the folder name).
    """

    index: int
    path: str
    status: str
    score: float | None = None
    flagged: bool | None = None
    reason: str = ""
    code: str = ""
    dicom: tuple | None = None
    label: str | None = None


@validate_params(
    {"screener": [HasMethods(["predict_proba"])], "files": "no_validation",
     "batch_size": [StrictInterval(Integral, 1, None, closed="left")],
     "n_jobs": [StrictInterval(Integral, 1, None, closed="left")], "labels": "no_validation"},
    prefer_skip_nested_validation=True,
)
def screen_files(screener, files, *, batch_size=64, n_jobs=1, labels=None):
    """Screen ``files`` with ``screener``, yielding one :class:`WorklistRow` per file, in order.

    Unreadable files become ``error`` rows and files the screener's input
    guard refuses ``unsuitable`` rows, each with a reason; nothing stops
    the run but a failure of the model itself.

    Parameters
    ----------
    screener : fitted Screener
        Its estimator must start with an :class:`~skcxr.preprocessing.ImageLoader`
        (a pipeline over files); its ``decision_threshold`` flags films and
        its ``fitted_guard``, when not None, refuses them.
    files : sequence of str
        Paths, e.g. from :func:`discover_files`.
    batch_size : int, default=64
        Files decoded and scored together.
    n_jobs : int, default=1
        Threads decoding files (besides the one that overlaps decoding
        with inference).
    labels : sequence of (str or None), default=None
        True labels to carry into the rows (same length as ``files``).

    Yields
    ------
    row : WorklistRow
    """
    files = list(files)
    if labels is not None and len(labels) != len(files):
        raise ValueError(f"labels has {len(labels)} entries but there are {len(files)} files.")
    loader, _ = screening_parts(screener)
    network, guard = screener._scorer(), screener.fitted_guard
    threshold = screener.decision_threshold
    pos_index = list(screener.classes_).index(screener.flagged_class)
    chunks = [range(start, min(start + batch_size, len(files)))
              for start in range(0, len(files), batch_size)]
    pool = ThreadPoolExecutor(n_jobs, thread_name_prefix="skcxr-read") if n_jobs > 1 else None

    def read(chunk):
        return _read_chunk([files[i] for i in chunk], loader, guard, pool)

    try:
        for chunk, films in zip(chunks, _prefetched(read, chunks)):
            refusals, scores = _score_chunk(films, network, guard, pos_index)
            for i, film, refusal, score in zip(chunk, films, refusals, scores):
                yield WorklistRow(
                    index=i, path=files[i], dicom=film.dicom,
                    status="screened" if refusal is None else refusal.status,
                    reason="" if refusal is None else refusal.message,
                    code="" if refusal is None else refusal.code,
                    score=score, flagged=None if score is None else bool(score >= threshold),
                    label=None if labels is None else labels[i],
                )
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def screening_parts(screener):
    """``(ImageLoader, the scorer of decoded batches)`` of a screener over files."""
    loader, scorer = split_loader(screener.fitted_estimator)
    if loader is None:
        raise ValueError(
            f"The screener's estimator ({type(screener.fitted_estimator).__name__}) does not "
            "start with an ImageLoader: screening files needs a pipeline over files, e.g. "
            "make_pipeline(ImageLoader(size=224), CXRClassifier())."
        )
    return loader, scorer


def positive_class(screener):
    """The class a screener flags (:attr:`Screener.flagged_class`)."""
    return screener.flagged_class


def _read_chunk(paths, loader, guard, pool):
    """Films for ``paths``, each file opened once and decoded at most once.

    An :class:`~skcxr.guard.InputGuard` has its file checks run while each
    file is read (header checks before the decode, the colour check on it).
    Another guard's own ``file_refusals`` is asked first, and the files it
    refuses are not decoded.
    """
    checks, refusals = None, [None] * len(paths)
    if guard is not None:
        checks = _reading_checks(guard)
        if checks is None:
            refusals = list(guard.file_refusals(paths))
            if len(refusals) != len(paths):
                raise ValueError(
                    f"The input guard gave {len(refusals)} refusals for {len(paths)} files."
                )

    size = loader._check_params()  # once per chunk, not once per film

    def read(path, refusal):
        if refusal is not None:
            dicom = dicom_identifiers(path) if _is_dicom(path) else None
            return Film(None, refusal, dicom)
        return read_film(path, loader, checks=checks, size=size)

    return list(pool.map(read, paths, refusals) if pool else map(read, paths, refusals))


def _reading_checks(guard):
    """The file checks an InputGuard runs (those of ``file_refusals``), or None for another guard."""
    from ..guard import FileChecks, InputGuard

    if isinstance(guard, InputGuard) and type(guard).file_refusals is InputGuard.file_refusals:
        return FileChecks()  # InputGuard.file_refusals applies the default limits
    return None


def _is_dicom(path):
    try:
        return sniff_format(path) == "DICOM"
    except OSError:
        return False


def _score_chunk(films, network, guard, pos_index):
    """The refusal (None when screened) and score of each film of a chunk."""
    refusals = [film.refusal for film in films]
    scores = [None] * len(films)
    decoded = [i for i, film in enumerate(films) if film.refusal is None]
    if decoded:
        judged, proba = guard_and_score(np.stack([films[i].array for i in decoded]), network, guard)
        for i, refusal, p in zip(decoded, judged, proba[:, pos_index]):
            if refusal is not None and films[i].note:
                # e.g. a DICOM read at another bit depth than its header declares: say so.
                refusal = Refusal(refusal.code, f"{refusal.message}; {films[i].note}")
            refusals[i] = refusal
            scores[i] = None if refusal is not None else float(p)
    return refusals, scores


_DONE = object()


def _prefetched(produce, items, depth=2):
    """``produce(item)`` for each item, computed by a background thread up to ``depth`` ahead."""
    results = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value):
        while not stop.is_set():
            try:
                results.put(value, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def work():
        try:
            for item in items:
                if not put((produce(item), None)):
                    return
        except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
            put((None, exc))
            return
        put((_DONE, None))

    thread = threading.Thread(target=work, name="skcxr-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            value, error = results.get()
            if error is not None:
                raise error
            if value is _DONE:
                return
            yield value
    finally:
        stop.set()
        thread.join(timeout=5)  # a daemon: a read stuck on a hung mount must not hang Ctrl-C


def worklist_order(rows):
    """Sort rows in the order a reader goes top-down.

    Flagged films by descending score, then ``unsuitable`` and then
    ``error`` rows (a person must look at those), then the other screened
    films by descending score. Ties keep the input order.

    Parameters
    ----------
    rows : iterable of WorklistRow
        As :func:`screen_files` yields them.

    Returns
    -------
    rows : list of WorklistRow
        The same rows, in worklist order.
    """

    def key(row):
        if row.status == "screened":
            return (0 if row.flagged else 3, -row.score, row.index)
        return (1 if row.status == "unsuitable" else 2, 0.0, row.index)

    return sorted(rows, key=key)


def count_statuses(rows):
    """Count the files, the screened, flagged, unsuitable and error rows.

    Parameters
    ----------
    rows : iterable of WorklistRow
        As :func:`screen_files` yields them.

    Returns
    -------
    counts : dict
        ``{"files", "flagged", "screened", "unsuitable", "error"}`` to counts.
    """
    counts = dict.fromkeys(("files", "flagged", *STATUSES), 0)
    for row in rows:
        counts["files"] += 1
        counts[row.status] += 1
        counts["flagged"] += bool(row.flagged)
    return counts


def write_worklist(rows, file, *, with_labels=False):
    """Write ``rows`` (already in worklist order) as CSV to an open text file.

    Columns: ``path, score, flagged, status, reason, reason_code``; then ``true_label``
    when ``with_labels``; then ``PatientID, StudyInstanceUID,
    AccessionNumber`` when any row comes from a DICOM file.

    Every text cell is written so that the CSV is valid UTF-8 and safe to
    open in a spreadsheet (:func:`decode_worklist_cell` undoes both): bytes
    of a file name that are not UTF-8 become ``\\xHH``, and a cell starting
    with ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a ``'`` in
    front. Fields holding a comma, a quote or a line break are quoted, so
    every file is one CSV record.

    Parameters
    ----------
    rows : iterable of WorklistRow
        In worklist order (:func:`worklist_order`).
    file : text file
        Opened with ``newline=""`` (as :mod:`csv` asks); the CSV is written
        with ``"\\n"`` line ends.
    with_labels : bool, default=False
        Add the ``true_label`` column.
    """
    rows = list(rows)
    with_dicom = any(row.dicom is not None for row in rows)
    columns = CSV_COLUMNS + (("true_label",) if with_labels else ()) + (
        DICOM_FIELDS if with_dicom else ())
    writer = csv.writer(file, lineterminator="\n")
    # csv quotes a field holding "\n" (the line end) but not one holding a lone "\r",
    # which spreadsheets read as a line break too: such rows are written fully quoted.
    quoted = csv.writer(file, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(columns)
    for row in rows:
        text = [row.path, row.status, row.reason, row.code]
        if with_labels:
            text.append("" if row.label is None else row.label)
        if with_dicom:
            text.extend(row.dicom or ("",) * len(DICOM_FIELDS))
        path, status, reason, code, *extra = [worklist_text(str(cell)) for cell in text]
        # score and flagged are ours (a number, true/false): never text to neutralise.
        line = [path, "" if row.score is None else f"{row.score:.6f}",
                "" if row.flagged is None else str(row.flagged).lower(), status, reason, code,
                *extra]
        (quoted if any("\r" in cell for cell in line) else writer).writerow(line)
