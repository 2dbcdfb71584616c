"""Download the original chest X-ray archive, safely and only once."""

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ._base import get_data_home
from ._chest_xray import find_chest_xray_root, load_chest_xray

# The public archive of Kermany et al. on Mendeley Data (doi:10.17632/rscbjbr9sj,
# version 3): "ZhangLabData.zip", which holds CellData/chest_xray/{train,test}/...
# beside an OCT dataset. The checksum is the one published with that archive;
# pass url= and sha256= to use a mirror or another version.
CHEST_XRAY_URL = "https://data.mendeley.com/archiver/rscbjbr9sj?version=3"
CHEST_XRAY_SHA256 = "acbc42869440eec719361942d0ba560f132742230262f22e78bfb93eb5ea4563"
ARCHIVE_NAME = "ZhangLabData.zip"
_CHUNK = 1 << 20


def fetch_chest_xray(
    data_home=None,
    *,
    subset="train",
    url=CHEST_XRAY_URL,
    sha256=CHEST_XRAY_SHA256,
    download_if_missing=True,
    keep_archive=False,
    progress=True,
    return_X_y=False,
):
    """Load the Kermany chest X-ray set, downloading it first if needed.

    The archive is written to a temporary file beside its final name and
    renamed only once its sha256 matches, and the ``chest_xray`` folder is
    extracted to a temporary folder and renamed into place, so an
    interrupted run never leaves a half file or folder that a later run
    would trust. Nothing is downloaded when the data is already there.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Where to keep the data (see :func:`get_data_home`).
    subset : {"train", "test", "all"}, default="train"
        Passed to :func:`load_chest_xray`.
    url : str, default=CHEST_XRAY_URL
        Address of the zip archive (Mendeley Data by default).
    sha256 : str or None, default=CHEST_XRAY_SHA256
        Expected sha256 of the archive. ``None`` skips the check, which is
        only sensible for an archive you made yourself.
    download_if_missing : bool, default=True
        When false, raise instead of downloading.
    keep_archive : bool, default=False
        Keep the downloaded zip (about 1.2 GB) after extraction.
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
    ValueError
        When the archive's checksum does not match, or it holds no
        ``chest_xray`` folder, or an unsafe member path.
    """
    home = get_data_home(data_home)
    try:
        find_chest_xray_root(home)
    except FileNotFoundError:
        if not download_if_missing:
            raise
        if (home / "chest_xray").exists():
            raise ValueError(
                f"{str(home / 'chest_xray')!r} exists but is incomplete (it needs "
                "train/ and test/, each with NORMAL/ and PNEUMONIA/); remove it "
                "to download the dataset again."
            )
        home.mkdir(parents=True, exist_ok=True)
        archive = home / ARCHIVE_NAME
        if not (archive.is_file() and _matches(archive, sha256)):
            _download(url, archive, sha256=sha256, progress=progress)
        _extract_chest_xray(archive, home)
        if not keep_archive:
            archive.unlink()
    return load_chest_xray(home, subset=subset, return_X_y=return_X_y)


def _matches(path, sha256):
    if sha256 is None:
        return True
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == sha256.lower()


def _download(url, target, *, sha256, progress):
    """Stream ``url`` into ``target`` through a temporary file; verify sha256."""
    fd, part = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url) as response:
            total = int(response.headers.get("Content-Length") or 0)
            # The Mendeley archiver may gzip-encode the zip in transit.
            gunzip = (
                zlib.decompressobj(16 + zlib.MAX_WBITS)
                if response.headers.get("Content-Encoding") == "gzip"
                else None
            )
            received = 0
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                if gunzip is not None:
                    chunk = gunzip.decompress(chunk)
                out.write(chunk)
                digest.update(chunk)
                if progress:
                    _show_progress(received, total)
            if gunzip is not None:
                tail = gunzip.flush()
                out.write(tail)
                digest.update(tail)
            if total and received < total:
                raise OSError(
                    f"Download of {url} stopped after {received} of {total} bytes."
                )
        if progress:
            sys.stderr.write("\n")
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise ValueError(
                f"Checksum mismatch for {url}: expected sha256 {sha256}, got "
                f"{digest.hexdigest()}. The file was discarded; check the url "
                "and sha256 arguments."
            )
        os.replace(part, target)
    finally:
        if os.path.exists(part):
            os.unlink(part)


def _show_progress(received, total):
    mb = received / 1e6
    if total:
        sys.stderr.write(f"\rDownloading: {100 * received / total:5.1f}% of {total / 1e6:.0f} MB")
    else:
        sys.stderr.write(f"\rDownloading: {mb:.0f} MB")
    sys.stderr.flush()


def _extract_chest_xray(archive, home):
    """Extract the archive's ``chest_xray/`` folder to ``home/chest_xray``."""
    with zipfile.ZipFile(archive) as zf:
        members = []
        for name in zf.namelist():
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts:
                raise ValueError(f"Unsafe path {name!r} in archive {str(archive)!r}.")
            # Skip macOS metadata copies that some archives carry.
            if "chest_xray" in parts and "__MACOSX" not in parts:
                members.append((name, parts[parts.index("chest_xray") + 1 :]))
        if not members:
            raise ValueError(f"Archive {str(archive)!r} holds no 'chest_xray' folder.")
        staging = Path(tempfile.mkdtemp(dir=home, prefix=".chest_xray."))
        try:
            for name, rel in members:
                if name.endswith("/") or not rel:
                    continue
                dest = staging.joinpath(*rel)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(name) as src, open(dest, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            os.replace(staging, home / "chest_xray")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
