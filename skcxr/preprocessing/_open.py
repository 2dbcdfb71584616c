"""Opening one file for reading: what is not a regular file is never opened.

A named pipe (FIFO) blocks whoever opens it until something writes to it,
and a device streams forever; a screen must neither hang nor read them. So
each path is looked at (``stat``) before it is opened, and what was opened
is looked at again (``fstat``): a file swapped for a pipe in between is
still refused, and the open itself never blocks (``O_NONBLOCK``, which
changes nothing for a regular file).
"""

import errno
import os
import stat
from pathlib import Path

from ._errors import ItemError

# (offset, magic bytes, format name): the signatures of the formats Pillow and
# pydicom read, and of a few that a folder of films may wrongly hold.
SIGNATURES = (
    (128, b"DICM", "DICOM"),
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"BM", "BMP"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG 2000"),
    (0, b"%PDF", "PDF"),
    (0, b"PK\x03\x04", "ZIP archive"),
    (257, b"ustar", "tar archive"),
)
IMAGE_FORMATS = frozenset({"DICOM", "JPEG", "PNG", "TIFF", "BMP", "GIF", "JPEG 2000"})
HEAD_BYTES = 264  # the DICOM marker sits at 128, a tar archive's at 257
IMAGE_SUFFIXES = frozenset({".jpeg", ".jpg", ".png", ".tif", ".tiff", ".bmp", ".gif", ".dcm",
                            ".dicom", ".jp2", ".j2k"})
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_BINARY", 0))


def open_regular_file(path, what):
    """``path`` opened for binary reading, once it is known to be a regular file.

    Parameters
    ----------
    path : str or path-like
    what : str
        How error messages name the file ("file 'a.png' (index 3)").

    Returns
    -------
    file : binary file object
        The caller closes it.

    Raises
    ------
    ItemError
        With code ``missing``, ``broken_link``, ``link_loop``,
        ``not_regular_file`` or ``permission``, naming the file.
    """
    check_regular_file(path, what)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _stat_error(exc, path, what) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped since the stat above
            raise _not_regular(mode, path, what)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular_file(path, what):
    """Raise :class:`ItemError` unless ``path`` leads to a regular file; opens nothing.

    Only ``stat`` looks at it: a pipe is never opened (it would block).

    Parameters
    ----------
    path : str or path-like
        The entry to look at (a link is followed).
    what : str
        How the message names the file (``"file 'a.png'"``).

    Raises
    ------
    ItemError
        With code ``missing``, ``broken_link``, ``link_loop``,
        ``not_regular_file`` or ``permission``, and the reason a worklist
        row gives.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise _stat_error(exc, path, what) from None
    if not stat.S_ISREG(mode):
        raise _not_regular(mode, path, what)


def _stat_error(exc, path, what):
    if isinstance(exc, FileNotFoundError):
        if os.path.islink(path):
            target = os.readlink(path)
            return ItemError(f"Cannot read {what}: broken symbolic link (to {target!r}).",
                             code="broken_link", reason=f"broken symbolic link (to {target!r})")
        return ItemError(f"Cannot read {what}: no such file.", code="missing",
                         reason="file not found (it does not exist, or was moved or deleted)")
    if exc.errno == errno.ELOOP:
        return ItemError(f"Cannot read {what}: symbolic link loop.", code="link_loop",
                         reason="symbolic link loop")
    if isinstance(exc, PermissionError):
        folder = unsearchable_folder(path)
        where = f": folder {folder!r} cannot be searched" if folder else ""
        return ItemError(f"Cannot read {what}: permission denied{where}.", code="permission",
                         reason=f"cannot open the file (permission denied{where})")
    message = exc.strerror or str(exc)
    return ItemError(f"Cannot read {what}: {message}.", code="unreadable",
                     reason=f"cannot open the file ({message})")


def unsearchable_folder(path):
    """The outermost folder above ``path`` without search (x) permission, or None.

    Such a folder makes every file below it unreachable, even one whose own
    mode allows reading: the folder, not the file, is what to fix.
    """
    folders = []
    folder = os.path.dirname(os.path.abspath(path))
    while folder not in folders:
        folders.append(folder)
        folder = os.path.dirname(folder)
    for folder in reversed(folders):  # from the root down: the first one blocks the rest
        if not os.access(folder, os.X_OK):
            return folder
    return None


def _not_regular(mode, path, what):
    if stat.S_ISDIR(mode):
        if os.path.islink(path):
            kind = "a symbolic link to a folder (not followed: name the folder to screen it)"
        elif not os.access(path, os.R_OK | os.X_OK):
            return ItemError(f"Cannot read {what}: a folder that cannot be listed (permission "
                             "denied).", code="permission",
                             reason="a folder that cannot be listed (permission denied)")
        else:
            kind = "a folder"
        return ItemError(f"Cannot read {what}: it is a directory, not an image file.",
                         code="not_regular_file", reason=f"not a file: {kind}")
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    # A pipe or a device would block or stream forever: it is never opened.
    return ItemError(f"Cannot read {what}: not a regular file ({kind}).", code="not_regular_file",
                     reason=f"not a regular file: {kind}, never opened")


def read_head(file):
    """The first bytes of an open file (enough for :func:`sniff`); the file is rewound."""
    head = file.read(HEAD_BYTES)
    file.seek(0)
    return head


def sniff(head):
    """What a file holds, from its first bytes (a format name, or a short description)."""
    if not head:
        return "empty file"
    for offset, magic, name in SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return name
    if _looks_like_text(head):
        return "text file"
    if _looks_like_bare_dicom(head):
        return "DICOM data without its 128-byte preamble and DICM marker"
    return "unknown content"


def _looks_like_bare_dicom(head):
    """A DICOM data set written without the file's preamble: it starts with an element of group
    0002 or 0008, little endian, followed by a two-letter VR (explicit) or a length."""
    if len(head) < 8 or head[:2] not in (b"\x02\x00", b"\x08\x00"):
        return False
    vr = head[4:6]
    return (vr.isalpha() and vr.isupper()) or int.from_bytes(head[4:8], "little") < 1 << 16


def sniff_format(path):
    """What a file holds, from its first bytes: a format name, or a short description.

    Only regular files are opened: a pipe, a socket or a device is named
    from its ``stat`` instead (reading a pipe would block).

    Parameters
    ----------
    path : str or path-like
        The file to look at.

    Returns
    -------
    kind : str
        ``"DICOM"``, ``"JPEG"``, ``"PNG"``, ``"TIFF"``, ``"BMP"``, ``"GIF"``,
        ``"JPEG 2000"``, ``"PDF"``, ``"ZIP archive"``; otherwise
        ``"empty file"``, ``"text file"`` or ``"unknown content"``; for what
        is not a regular file, ``"folder"``, ``"named pipe"``, ``"socket"``
        or ``"device"``.

    Raises
    ------
    OSError
        When the file cannot be opened (e.g. permission denied, a broken link).
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        return ("folder" if stat.S_ISDIR(mode) else "named pipe" if stat.S_ISFIFO(mode)
                else "socket" if stat.S_ISSOCK(mode) else "device")
    with open(path, "rb") as f:
        return sniff(f.read(HEAD_BYTES))


def _looks_like_text(head):
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at the end of the sample is still text.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(ch.isprintable() or ch in "\r\n\t\f" for ch in text)


def image_suffix(path):
    """The file's suffix when it names an image format (``".jpeg"``), else ""."""
    suffix = Path(path).suffix.lower()
    return suffix if suffix in IMAGE_SUFFIXES else ""


def not_an_image(kind, path, what):
    """The error for a file that holds no image: "not an image (text file named .jpeg)"."""
    suffix = image_suffix(path)
    reason = f"not an image ({kind}{f' named {suffix}' if suffix else ''})"
    return ItemError(f"Cannot read {what}: {reason}; no image Pillow or pydicom can identify.",
                     code="not_image", reason=reason)
