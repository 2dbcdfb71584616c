"""The archive itself: stream it down, verify it, extract its ``chest_xray`` folder.

Each step works through a temporary name and renames only what passed, so
a failure at any point leaves nothing a later run would trust.
"""

import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

_CHUNK = 1 << 20
STAGING_PREFIX = ".chest_xray."


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path, sha256, *, url, digest=None):
    """Raise ValueError unless ``path`` has the expected sha256 and is a sound zip.

    Without a checksum every member is read and CRC-checked (``testzip``):
    a truncated download or an HTML error page saved as the archive fails here.
    """
    source = f"downloaded from {url}" if url else f"at {str(path)!r}"
    if sha256 is not None:
        actual = digest or _sha256(path)
        if actual != sha256.lower():
            raise ValueError(
                f"Checksum mismatch for the archive {source}: expected sha256 {sha256}, "
                f"got {actual}. The file was discarded; check the url and sha256 arguments."
            )
    try:
        with zipfile.ZipFile(path) as zf:
            bad = None if sha256 is not None else zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        with open(path, "rb") as f:
            start = f.read(32)
        raise ValueError(
            f"The archive {source} is not a valid zip file ({exc}; it starts with "
            f"{start!r}). The file was discarded."
        ) from exc
    if bad is not None:
        raise ValueError(
            f"The archive {source} is damaged: member {bad!r} fails its CRC check. "
            "The file was discarded."
        )


def download(url, target, *, sha256, timeout, progress):
    """Stream ``url`` into ``target`` through a temporary file; verify before renaming."""
    fd, part = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _stream(url, out, timeout=timeout, progress=progress)
        verify(Path(part), sha256, url=url, digest=digest)
        os.replace(part, target)
    finally:
        if os.path.exists(part):
            os.unlink(part)


def _stream(url, out, *, timeout, progress):
    """Copy the body of ``url`` into ``out``; return its sha256. OSError naming the url."""
    digest, received, total, shown = hashlib.sha256(), 0, 0, False
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0)
            # The Mendeley archiver may gzip-encode the zip in transit.
            gunzip = (
                zlib.decompressobj(16 + zlib.MAX_WBITS)
                if response.headers.get("Content-Encoding") == "gzip"
                else None
            )
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                if gunzip is not None:
                    chunk = gunzip.decompress(chunk)
                out.write(chunk)
                digest.update(chunk)
                if progress:
                    _show_progress(received, total)
                    shown = True
            if gunzip is not None:
                tail = gunzip.flush()
                out.write(tail)
                digest.update(tail)
    except TimeoutError as exc:
        raise OSError(
            f"Download of {url} stalled: no data for {timeout} s after {received} bytes "
            "(timeout). Try again later, raise timeout=, or pass url= a mirror."
        ) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise OSError(
                f"Download of {url} timed out: the server did not answer within {timeout} s. "
                "Try again later, raise timeout=, or pass url= a mirror."
            ) from exc
        raise OSError(f"Download of {url} failed: {exc}.") from exc
    except (OSError, http.client.HTTPException, zlib.error) as exc:
        raise OSError(f"Download of {url} failed after {received} bytes: {exc!r}.") from exc
    finally:
        if shown:
            sys.stderr.write("\n")
    if total and received < total:
        raise OSError(f"Download of {url} stopped after {received} of {total} bytes.")
    return digest.hexdigest()


def _show_progress(received, total):
    mb = received / 1e6
    if total:
        sys.stderr.write(f"\rDownloading: {100 * received / total:5.1f}% of {total / 1e6:.0f} MB")
    else:
        sys.stderr.write(f"\rDownloading: {mb:.0f} MB")
    sys.stderr.flush()


def extract_chest_xray(archive, home):
    """Extract the archive's ``chest_xray/`` folder to ``home/chest_xray``."""
    try:
        with zipfile.ZipFile(archive) as zf:
            _extract_members(zf, archive, home)
    except zipfile.BadZipFile as exc:  # e.g. a CRC error met while extracting
        raise ValueError(f"Archive {str(archive)!r} is damaged: {exc}.") from exc


def _extract_members(zf, archive, home):
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
    staging = Path(tempfile.mkdtemp(dir=home, prefix=STAGING_PREFIX))
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
