"""Which files a screen reads, and what each holds, judged by its content.

A PACS export or a copied folder holds films with any name: DICOM files
without an extension, JPEGs named ``.png``. The name decides nothing here
except that hidden and system files (``._*`` resource forks, ``.DS_Store``,
``Thumbs.db``) are skipped, and counted so that the summary can say so.
"""

import os
from pathlib import Path

# Files that operating systems and file managers leave in image folders.
SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r"})

# (offset, magic bytes, format name): the signatures of the formats Pillow and
# pydicom read, and of a few that a folder of films may wrongly hold.
_SIGNATURES = (
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
)
_HEAD_BYTES = 132


def is_hidden_or_system(name):
    """True for names a screen skips: dot files (``.DS_Store``, ``._x.jpeg``) and ``Thumbs.db`` & co."""
    return name.startswith(".") or name.lower() in SYSTEM_FILES


def discover_files(paths):
    """The files to screen under ``paths``, in a stable order, and how many were skipped.

    Folders are walked recursively (sorted, so the order does not depend on
    the file system); hidden and system files and hidden folders inside
    them are skipped and counted. A file named explicitly is always kept.

    Parameters
    ----------
    paths : sequence of str or path-like
        Files and folders.

    Returns
    -------
    files : list of str
        Every other regular file, each once, folders' files in sorted order.
    n_skipped : int
        Hidden or system files and hidden folders left out.

    Raises
    ------
    FileNotFoundError
        Naming every path that does not exist.
    """
    paths = [os.fspath(p) for p in paths]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise FileNotFoundError(
            f"No such file or folder: {', '.join(repr(p) for p in missing)}."
        )
    files, seen, n_skipped = [], set(), 0
    for path in paths:
        if not os.path.isdir(path):
            found = [path]
        else:
            found, skipped = _walk(path)
            n_skipped += skipped
        for file in found:
            # The same film reached through two arguments gets one row.
            key = os.path.realpath(file)
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files, n_skipped


def _walk(folder):
    found, n_skipped = [], 0
    for root, dirs, names in os.walk(folder):
        hidden = [d for d in dirs if is_hidden_or_system(d)]
        n_skipped += len(hidden)
        dirs[:] = sorted(d for d in dirs if not is_hidden_or_system(d))
        for name in sorted(names):
            if is_hidden_or_system(name):
                n_skipped += 1
            elif os.path.isfile(os.path.join(root, name)):
                found.append(os.path.join(root, name))
    return found, n_skipped


def sniff_format(path):
    """What a file holds, from its first bytes: a format name, or a short description.

    Returns
    -------
    kind : str
        ``"DICOM"``, ``"JPEG"``, ``"PNG"``, ``"TIFF"``, ``"BMP"``, ``"GIF"``,
        ``"JPEG 2000"``, ``"PDF"``, ``"ZIP archive"``; otherwise
        ``"empty file"``, ``"text file"`` or ``"unknown content"``.

    Raises
    ------
    OSError
        When the file cannot be opened (e.g. permission denied).
    """
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
    if not head:
        return "empty file"
    for offset, magic, name in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return name
    if _looks_like_text(head):
        return "text file"
    return "unknown content"


IMAGE_FORMATS = frozenset({"DICOM", "JPEG", "PNG", "TIFF", "BMP", "GIF", "JPEG 2000"})


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
    known = {".jpeg", ".jpg", ".png", ".tif", ".tiff", ".bmp", ".gif", ".dcm", ".dicom",
             ".jp2", ".j2k"}
    return suffix if suffix in known else ""
