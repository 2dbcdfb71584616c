"""Which files a screen reads, and what each holds, judged by its content.

A PACS export or a copied folder holds films with any name: DICOM files
without an extension, JPEGs named ``.png``. The name decides nothing here
except that hidden and system files (``._*`` resource forks, ``.DS_Store``,
``Thumbs.db``) are skipped, and counted so that the summary can say so.

Everything else in a folder is listed, so that it gets its row: a named
pipe, a socket, a device, a broken or looping symbolic link, a link to a
folder. None of these is opened here (a pipe would block the screen); the
reader gives each an error row with its reason.
"""

import os

__all__ = ["discover_files", "is_hidden_or_system"]

# Files that operating systems and file managers leave in image folders.
SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r"})


def is_hidden_or_system(name):
    """True for names a screen skips: dot files (``.DS_Store``, ``._x.jpeg``) and ``Thumbs.db`` & co."""
    return name.startswith(".") or name.lower() in SYSTEM_FILES


def discover_files(paths, *, return_repeated=False):
    """The files to screen under ``paths``, in a stable order, and how many were skipped.

    Folders are walked recursively (sorted, so the order does not depend on
    the file system); hidden and system files and hidden folders inside
    them are skipped and counted. A file named explicitly is always kept.
    Symbolic links to folders inside a folder are listed, not followed
    (the reader says so in their row); nothing here opens a file.

    Parameters
    ----------
    paths : sequence of str or path-like
        Files and folders.
    return_repeated : bool, default=False
        Also return the entries reached more than once (a file named twice,
        or named and inside a named folder): each gets one row, and a
        summary can say so.

    Returns
    -------
    files : list of str
        Every other entry, each once, folders' entries in sorted order:
        regular files, and also pipes, sockets, devices, broken or looping
        links and links to folders, which the reader turns into error rows.
    n_skipped : int
        Hidden or system files and hidden folders left out.
    repeated : list of str
        Only with ``return_repeated``: each entry reached again, as it was
        reached the second time.

    Raises
    ------
    FileNotFoundError
        Naming every path that does not exist (a broken link exists: it
        gets its row).
    """
    paths = [os.fspath(p) for p in paths]
    missing = [p for p in paths if not _may_exist(p)]
    if missing:
        raise FileNotFoundError(
            f"No such file or folder: {', '.join(repr(p) for p in missing)}."
        )
    files, seen, n_skipped, repeated = [], set(), 0, []
    for path in paths:
        if not os.path.isdir(path):
            found = [path]
        else:
            found, skipped = _walk(path)
            n_skipped += skipped
        for file in found:
            # The same entry reached through two arguments gets one row. A
            # link is an entry of its own (it gets its own row even when its
            # target is listed too): collapsing entries would drop rows silently.
            key = os.path.abspath(file)
            if key not in seen:
                seen.add(key)
                files.append(file)
            else:
                repeated.append(file)
    return (files, n_skipped, repeated) if return_repeated else (files, n_skipped)


def _may_exist(path):
    """False only when ``path`` surely does not exist.

    ``os.path.lexists`` is False for a file inside a folder without search
    permission too: such a file gets its row ("permission denied, folder
    ... cannot be searched"), not "no such file".
    """
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return True


def _walk(folder):
    found, n_skipped = [], 0

    def unlistable(error):
        # A folder that cannot be listed gets a row of its own, not silence.
        if error.filename:
            found.append(error.filename)

    for root, dirs, names in os.walk(folder, onerror=unlistable):
        hidden = [d for d in dirs if is_hidden_or_system(d)]
        n_skipped += len(hidden)
        dirs[:] = sorted(d for d in dirs if not is_hidden_or_system(d))
        # os.walk lists a link to a folder among the folders and does not
        # follow it: list it as an entry so that its row says so.
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        dirs[:] = [d for d in dirs if d not in links]
        for name in sorted(names + links):
            if is_hidden_or_system(name):
                n_skipped += 1
            else:
                found.append(os.path.join(root, name))
    return found, n_skipped
