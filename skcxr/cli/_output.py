"""Where a command's output files go: checked before the work, written whole, one run at a time.

* Before any file is screened: each output's folder must exist and take a
  new file, an output must not be one of the inputs, and ``--out`` and
  ``--report`` must be two files.
* Written atomically: into a hidden temporary file beside the output, then
  renamed over it (``os.replace``), so a reader sees the old file or the new
  one, never a part; a failed write leaves the old file as it was.
* One run per output: a second run writing the same file stops at once
  with the first one's process id, instead of both finishing and one
  run's rows silently replacing the other's. The lock is an advisory
  ``flock`` on a hidden ``.NAME.lock`` file beside the output: the kernel
  releases it when its process ends, however it ends, so no stale lock
  can block a later run (a lock file with a process id alone cannot tell
  a crashed run from a live one on another host of a shared folder).
"""

import contextlib
import datetime
import errno
import os
import secrets
import socket
import stat
import sys

from ._errors import UsageError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt


class OutputError(OSError):
    """An output file could not be written after the screen (exit status 1)."""


class OutputLockedError(UsageError):
    """Another run is writing the same output file."""


class PipeWithoutReaderError(OSError):
    """An output is a named pipe that no process reads: opening it to write would wait forever."""


def is_special_file(path):
    """True for an existing output that is no regular file: a pipe, ``/dev/null``, ``/dev/stdout``.

    Such an output is written directly: it cannot be replaced (``>(gzip >
    w.csv.gz)`` names a pipe) and there is nothing to keep whole.
    """
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def check_output_path(option, path):
    """A usage error unless ``path`` can be written as output ``option``; nothing is left behind.

    The folder must exist and accept a new file (probed by creating and
    deleting a hidden temporary file: permissions alone do not tell about
    read-only mounts, ACLs or quotas); an existing output must be a
    writable file, not a folder.
    """
    if not path:
        # An unset shell variable (--out "$OUT"): the current folder is no file to write.
        raise UsageError(f"{option} is empty; give a file name.")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path!r} is a folder; give a file name.")
    if is_special_file(path):
        return
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise UsageError(f"{option} {path!r}: {folder!r} is a file, not a folder.")
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path!r}: folder {folder!r} does not exist.")
    if os.path.exists(target) and not os.access(target, os.W_OK):
        raise UsageError(f"{option} {path!r} is read-only; give another file or make it writable.")
    try:
        fd, probe = _new_hidden_file(folder, os.path.basename(target), "probe")
    except OSError as exc:
        raise UsageError(
            f"{option} {path!r}: cannot create a file in folder {folder!r} "
            f"({exc.strerror or exc}); nothing was screened."
        ) from None
    os.close(fd)
    os.unlink(probe)


def check_distinct_outputs(outputs):
    """A usage error when two options name one file (``--out r.html --report r.html``)."""
    seen = {}
    for option, path in outputs:
        key = _file_key(path)
        if key in seen:
            other, other_path = seen[key]
            raise UsageError(
                f"{other} {other_path!r} and {option} {path!r} are the same file; "
                "give each its own."
            )
        seen[key] = (option, path)


def check_not_inputs(outputs, files, *, model=None):
    """A usage error when an output is one of the input ``files`` (compared as files, not names).

    Writing the worklist over a film would destroy the film; names are not
    enough to tell (``d/../d/x.jpeg``, symbolic and hard links), so each
    existing output's device and inode are compared with every input's.
    With ``model`` (its name), ``files`` are that model's own files
    (``card.json``, ``weights.pt``, a joblib file): writing one would
    destroy the model the run is using.
    """
    existing = {}
    for option, path in outputs:
        try:
            info = os.stat(path)
        except OSError:
            continue  # not there yet: it cannot be an input
        existing[(info.st_dev, info.st_ino)] = (option, path)
    if not existing:
        return
    for file in files:
        try:
            info = os.stat(file)
        except OSError:
            continue  # unreadable inputs get an error row later
        hit = existing.get((info.st_dev, info.st_ino))
        if hit is not None:
            option, path = hit
            if model is not None:
                raise UsageError(
                    f"{option} {path!r} is the file {file!r} of the model {model!r}: writing it "
                    "would destroy the model. Write the output somewhere else.")
            raise UsageError(
                f"{option} {path!r} is the input file {file!r}: writing it would destroy the "
                "input. Write the output somewhere else."
            )


def earlier_outputs(outputs, files, named):
    """Split off the found files that are this run's outputs left by an earlier run.

    ``skcxr screen d --out d/worklist.csv`` run twice finds the first run's
    worklist in ``d``: it is no film, and this run replaces it. Such a file
    is left out of the screen (and counted by the caller) when it was found
    in a folder, not named in ``named`` (the PATH arguments), and holds text
    or nothing, as a worklist, a report or a summary does. A film at an
    output path is kept, so that :func:`check_not_inputs` refuses to write
    over it.

    Parameters
    ----------
    outputs : list of (option, path)
        This run's output files.
    files : list of str
        The files found to screen.
    named : list of str
        The PATH arguments.

    Returns
    -------
    files : list of str
        ``files`` without the earlier outputs.
    skipped : list of (option, path)
        The outputs left out.
    """
    from ..preprocessing import sniff_format

    existing = {}
    for option, path in outputs:
        with contextlib.suppress(OSError):
            existing[_inode(path)] = (option, path)
    if not existing:
        return files, []
    explicit = set()
    for path in named:
        with contextlib.suppress(OSError):
            explicit.add(_inode(path))
    kept, skipped = [], []
    for file in files:
        try:
            key = _inode(file)
            earlier = (key in existing and key not in explicit
                       and sniff_format(file) in ("text file", "empty file"))
        except OSError:
            earlier = False  # an unreadable input gets its error row
        if earlier:
            skipped.append(existing[key])
        else:
            kept.append(file)
    return kept, skipped


def _inode(path):
    info = os.stat(path)
    return info.st_dev, info.st_ino


def _file_key(path):
    try:
        info = os.stat(path)
        return ("inode", info.st_dev, info.st_ino)
    except OSError:
        return ("path", os.path.normcase(os.path.realpath(path)))


def _new_hidden_file(folder, name, kind):
    """A new ``.NAME.RANDOM.KIND`` file in ``folder``: hidden, so a screen of the folder skips it.

    Created with mode 0o666 less the umask, as ``open(path, "w")`` would.
    """
    while True:
        path = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.{kind}")
        try:
            return os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666), path
        except FileExistsError:
            continue


@contextlib.contextmanager
def replaced_atomically(path):
    """Yield a temporary path to write; when the block succeeds it replaces ``path`` in one step.

    The temporary file sits beside the output (a rename is atomic only
    within one file system), is flushed to disk before the rename and takes
    the mode of the file it replaces. When the block fails, it is removed
    and ``path`` is untouched. A pipe or device (``is_special_file``) is
    yielded as itself.
    """
    if is_special_file(path):
        with _reader_held(path):
            yield path
        return
    target = os.path.realpath(path)  # a symbolic link keeps pointing at the new file
    fd, temporary = _new_hidden_file(os.path.dirname(target), os.path.basename(target), "tmp")
    os.close(fd)
    try:
        yield temporary
        _flush_to_disk(temporary)
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _reader_held(path):
    """For a pipe: fail at once when no process reads it, else keep it open while it is written.

    ``open(fifo, "w")`` waits for a reader, forever when none comes
    (``mkfifo o.fifo; skcxr screen d --out o.fifo``). Opened without
    waiting (``O_NONBLOCK``), a pipe with no reader fails with ENXIO
    instead. The descriptor stays open, blocking again, while the caller
    writes the path: the reader sees no end of file between this probe and
    the write, and the caller's own open does not wait. Called only when
    the output is written, after the screen: a probe before it would hand
    the reader an end of file before the rows.
    """
    nonblock = getattr(os, "O_NONBLOCK", 0)
    try:
        is_pipe = stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        is_pipe = False
    if not is_pipe or not nonblock:
        yield
        return
    try:
        fd = os.open(path, os.O_WRONLY | nonblock)
    except OSError as exc:
        if exc.errno != errno.ENXIO:
            raise
        error = PipeWithoutReaderError(f"{path!r} is a named pipe that no process reads (start "
                                       "its reader first, or give a file)")
        error.errno = errno.ENXIO
        raise error from None
    try:
        os.set_blocking(fd, True)
        yield
    finally:
        os.close(fd)


def _flush_to_disk(path):
    # Without it, a crash soon after the rename can leave an empty file on some file systems.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (and pipes) cannot; the rename is still atomic
    finally:
        os.close(fd)


class OutputLocks(contextlib.ExitStack):
    """Hold a lock on each output file for a run; a usage error if another run holds one.

    Parameters
    ----------
    outputs : list of (option, path)
        Output files; pipes and devices are not locked.
    command : str
        This run's command line, shown to a run that finds the lock taken.
    """

    def __init__(self, outputs, command=""):
        super().__init__()
        self.outputs = outputs
        self.command = command

    def __enter__(self):
        super().__enter__()
        try:
            for option, path in self.outputs:
                if not is_special_file(path):
                    self.enter_context(_locked(option, path, self.command))
        except BaseException:
            self.close()
            raise
        return self


@contextlib.contextmanager
def _locked(option, path, command):
    target = os.path.realpath(path)
    lock_path = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.lock")
    fd = _acquire(option, path, lock_path, command)
    if fd is None:
        yield
        return
    try:
        yield
    finally:
        # Unlinked while still held, so that no other run can lock this file any more.
        with contextlib.suppress(OSError):
            os.unlink(lock_path)
        _unlock(fd)
        os.close(fd)


def _acquire(option, path, lock_path, command):
    """The locked file descriptor; None when the file system cannot lock (said on stderr)."""
    while True:
        try:
            fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o666)
        except OSError as exc:
            raise UsageError(f"{option} {path!r}: cannot create the lock file {lock_path!r} "
                             f"({exc.strerror or exc}).") from None
        try:
            held = not _try_lock(fd)
        except OSError as exc:
            os.close(fd)
            print(f"skcxr: note: cannot lock {lock_path!r} ({exc.strerror or exc}); a second "
                  f"run writing {option} {path!r} at the same time would not be detected.",
                  file=sys.stderr)
            return None
        if held:
            holder = _read_holder(fd)
            os.close(fd)
            raise OutputLockedError(
                f"{option} {path!r} is being written by another skcxr run ({holder}). Wait for "
                f"it to finish, or write to another file. The lock is {lock_path!r}; the "
                "system releases it when that run ends."
            )
        # The previous holder may have unlinked the file between our open and our lock:
        # then we hold a lock on a file no other run can see; take the one at the path.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            _write_holder(fd, command)
            return fd
        _unlock(fd)
        os.close(fd)


def _try_lock(fd):
    """Take the lock without waiting; False when another process holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except (BlockingIOError, PermissionError):
        return False
    return True


def _unlock(fd):
    with contextlib.suppress(OSError):
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _write_holder(fd, command):
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    text = f"process {os.getpid()} on {socket.gethostname()}, started {started}"
    if command:
        text += f": {command}"
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, text.encode("utf-8", "backslashreplace"))


def _read_holder(fd):
    try:
        text = os.pread(fd, 1000, 0).decode("utf-8", "replace").strip() if hasattr(os, "pread") \
            else ""
    except OSError:
        text = ""
    return text or "its details are not written yet"
