"""Download the original chest X-ray archive, safely and only once.

Safety, step by step: one fetch at a time per data home (a lock); leftovers of
killed runs removed; the download streamed into a temporary file with a
timeout on every network wait; the archive checked (sha256 when known, and
always that it is a readable zip) before it is renamed into place or reused;
the ``chest_xray`` folder extracted into a temporary folder and renamed into
place. A bad archive is deleted, never trusted on a later call.
"""

import contextlib
import os
import re
import shutil
import sys
from numbers import Real

from .._compat import StrictInterval, StrOptions, validate_params
from ._archive import STAGING_PREFIX, download, extract_chest_xray, verify
from ._base import get_skcxr_data_home
from ._chest_xray import SUBSETS, find_chest_xray_root, load_chest_xray

try:  # POSIX; on other systems concurrent fetches are not serialised (documented).
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

# The public archive of Kermany et al. on Mendeley Data (doi:10.17632/rscbjbr9sj,
# version 3): "ZhangLabData.zip", which holds CellData/chest_xray/{train,test}/...
# beside an OCT dataset. The checksum is the one published with that archive;
# pass url= and sha256= to use a mirror or another version.
CHEST_XRAY_URL = "https://data.mendeley.com/archiver/rscbjbr9sj?version=3"
CHEST_XRAY_SHA256 = "acbc42869440eec719361942d0ba560f132742230262f22e78bfb93eb5ea4563"
ARCHIVE_NAME = "ZhangLabData.zip"
DEFAULT_TIMEOUT = 60


@validate_params(
    {
        "data_home": [str, os.PathLike, None],
        "subset": [StrOptions({*SUBSETS, "all"})],
        "url": [str],
        "sha256": [str, None],
        "download_if_missing": ["boolean"],
        "keep_archive": ["boolean"],
        "timeout": [StrictInterval(Real, 0, None, closed="neither"), None],
        "progress": ["boolean"],
        "return_X_y": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def fetch_chest_xray(
    data_home=None,
    *,
    subset="train",
    url=CHEST_XRAY_URL,
    sha256=CHEST_XRAY_SHA256,
    download_if_missing=True,
    keep_archive=False,
    timeout=DEFAULT_TIMEOUT,
    progress=True,
    return_X_y=False,
):
    """Load the Kermany chest X-ray set, downloading it first if needed.

    The archive is written to a temporary file beside its final name and
    renamed only once it is verified (its sha256, and that it is a readable
    zip whose members pass their CRC check), and the ``chest_xray`` folder is
    extracted to a temporary folder and renamed into place, so an
    interrupted run never leaves a half file or folder that a later run
    would trust. Nothing is downloaded when the data is already there.

    Fetches into one data home wait for each other: the data home is locked
    (``fcntl.flock`` on the folder, so no lock file is left behind) while a
    fetch checks, downloads and extracts, and a fetch that waited finds the
    data in place and downloads nothing. Temporary files left by a run that
    was killed are removed by the next fetch. On systems without ``fcntl``
    (Windows) no lock is taken: do not fetch into one folder twice at once
    there.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Where to keep the data (see :func:`get_skcxr_data_home`).
    subset : {"train", "test", "all"}, default="train"
        Passed to :func:`load_chest_xray`.
    url : str, default=CHEST_XRAY_URL
        Address of the zip archive (Mendeley Data by default).
    sha256 : str or None, default=CHEST_XRAY_SHA256
        Expected sha256 of the archive (64 hex digits). ``None`` skips the
        checksum, which is only sensible for an archive you made yourself;
        the archive is then still tested as a zip before it is used.
    download_if_missing : bool, default=True
        When false, raise instead of downloading.
    keep_archive : bool, default=False
        Keep the downloaded zip (about 1.2 GB) after extraction.
    timeout : float or None, default=60
        Seconds to wait for the server to connect or to send more data
        before giving up with an ``OSError``; ``None`` waits forever.
    progress : bool, default=True
        Show download progress on standard error.
    return_X_y : bool, default=False
        Passed to :func:`load_chest_xray`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch` or tuple
        What :func:`load_chest_xray` returns.

    Raises
    ------
    FileNotFoundError
        When the data is missing and ``download_if_missing`` is false.
    OSError
        When the download fails or stalls for longer than ``timeout``.
    ValueError
        When the archive's checksum does not match, it is not a valid zip,
        it holds no ``chest_xray`` folder or an unsafe member path; or a
        parameter is invalid.
    """
    _check_values(url, sha256)
    home = get_skcxr_data_home(data_home)
    if not _has_dataset(home):
        if not download_if_missing:
            find_chest_xray_root(home)  # raises FileNotFoundError, saying where it looked
        if home.exists() and not home.is_dir():
            raise ValueError(f"data_home {str(home)!r} is a file, not a folder.")
        home.mkdir(parents=True, exist_ok=True)
        with _locked(home, progress):
            # Another fetch may have finished while this one waited for the lock.
            if not _has_dataset(home):
                _remove_leftovers(home)
                _download_and_extract(home, url, sha256, keep_archive, timeout, progress)
    return load_chest_xray(home, subset=subset, return_X_y=return_X_y)


def _check_values(url, sha256):
    # Checked before anything is downloaded (as the types are, by validate_params):
    # a typo must not cost a 1.2 GB download.
    if not url:
        raise ValueError("url must be a non-empty string; got ''.")
    if sha256 is not None and not (
        isinstance(sha256, str) and re.fullmatch(r"[0-9a-fA-F]{64}", sha256)
    ):
        raise ValueError(f"sha256 must be 64 hexadecimal digits or None; got {sha256!r}.")


def _has_dataset(home):
    try:
        find_chest_xray_root(home)
    except FileNotFoundError:
        return False
    return True


@contextlib.contextmanager
def _locked(home, progress):
    """Hold an exclusive lock on the data home folder; wait for it if taken."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(home, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if progress:
                sys.stderr.write(f"Waiting for another fetch into {str(home)!r} to finish...\n")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _remove_leftovers(home):
    """Delete what a killed fetch left: partial downloads and extraction folders.

    Only called under the lock, so no running fetch owns them.
    """
    for part in home.glob(f"{ARCHIVE_NAME}*.part"):
        part.unlink(missing_ok=True)
    for staging in home.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(staging, ignore_errors=True)


def _download_and_extract(home, url, sha256, keep_archive, timeout, progress):
    if (home / "chest_xray").exists():
        raise ValueError(
            f"{str(home / 'chest_xray')!r} exists but is incomplete (it needs "
            "train/ and test/, each with NORMAL/ and PNEUMONIA/); remove it "
            "to download the dataset again."
        )
    archive = home / ARCHIVE_NAME
    if archive.is_file():
        try:
            verify(archive, sha256, url=None)
        except ValueError:
            archive.unlink()  # stale or damaged: download it again
    if not archive.is_file():
        download(url, archive, sha256=sha256, timeout=timeout, progress=progress)
    try:
        extract_chest_xray(archive, home)
    except ValueError:
        archive.unlink(missing_ok=True)  # verified, yet unusable: never reuse it
        raise
    if not keep_archive:
        archive.unlink()
