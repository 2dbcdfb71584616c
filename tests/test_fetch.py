"""fetch_chest_xray against a local HTTP server: no test touches the internet."""

import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from skcxr.datasets import fetch_chest_xray


def _synthetic_archive():
    """A tiny zip in the Mendeley layout: CellData/chest_xray/{train,test}/..."""
    buffer = io.BytesIO()
    names = {"NORMAL": "IM-00{}-0001.jpeg", "PNEUMONIA": "person{}_virus_1.jpeg"}
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("CellData/OCT/ignored.txt", "other dataset")
        for split in ("train", "test"):
            for cls, pattern in names.items():
                for i in range(2):
                    image = io.BytesIO()
                    Image.new("L", (16, 12), 40 * i).save(image, "JPEG")
                    zf.writestr(f"CellData/chest_xray/{split}/{cls}/{pattern.format(i)}", image.getvalue())
    return buffer.getvalue()


ARCHIVE = _synthetic_archive()
SHA256 = hashlib.sha256(ARCHIVE).hexdigest()


@pytest.fixture
def server():
    """Serve ARCHIVE at /full, and a response cut off half-way at /cut."""
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(ARCHIVE)))
            self.end_headers()
            body = ARCHIVE if self.path == "/full" else ARCHIVE[: len(ARCHIVE) // 2]
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", requests
    httpd.shutdown()
    httpd.server_close()


def test_fetch_downloads_once_and_loads(server, tmp_path, capsys):
    base, requests = server
    bunch = fetch_chest_xray(tmp_path, url=f"{base}/full", sha256=SHA256, subset="all")
    assert len(bunch.data) == 8
    assert np.bincount(bunch.target).tolist() == [4, 4]
    assert "%" in capsys.readouterr().err  # progress was shown
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chest_xray"]  # archive removed
    again = fetch_chest_xray(tmp_path, url=f"{base}/full", sha256=SHA256, subset="test")
    assert len(again.data) == 4
    assert requests == ["/full"]


def test_fetch_checksum_mismatch_leaves_nothing(server, tmp_path):
    base, _ = server
    with pytest.raises(ValueError, match="Checksum mismatch"):
        fetch_chest_xray(tmp_path, url=f"{base}/full", sha256="0" * 64, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_fetch_interrupted_download_leaves_nothing(server, tmp_path):
    base, _ = server
    with pytest.raises(Exception):
        fetch_chest_xray(tmp_path, url=f"{base}/cut", sha256=SHA256, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_fetch_reuses_a_verified_archive(server, tmp_path):
    base, requests = server
    fetch_chest_xray(tmp_path, url=f"{base}/full", sha256=SHA256, keep_archive=True, progress=False)
    assert (tmp_path / "ZhangLabData.zip").is_file()
    import shutil

    shutil.rmtree(tmp_path / "chest_xray")
    fetch_chest_xray(tmp_path, url=f"{base}/full", sha256=SHA256, progress=False)
    assert requests == ["/full"]


def test_fetch_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="chest_xray"):
        fetch_chest_xray(tmp_path, download_if_missing=False)


def test_fetch_refuses_an_incomplete_folder(tmp_path):
    (tmp_path / "chest_xray" / "train").mkdir(parents=True)
    with pytest.raises(ValueError, match="incomplete"):
        fetch_chest_xray(tmp_path, url="http://127.0.0.1:9/never")


# ------------------------------------------------- robustness (issue 13, audit item 6)
@pytest.fixture
def slow_server():
    """/stall sends half the archive then nothing; /mute never answers; /slow answers
    after 1 s; /html serves an error page; /damaged a zip with a corrupt member."""
    requests, release = [], threading.Event()
    damaged = bytearray(ARCHIVE)
    # Flip bytes inside the first JPEG's data: the zip's directory stays intact.
    offset = ARCHIVE.index(b"\xff\xd8\xff") + 200
    damaged[offset:offset + 8] = bytes(8)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            if self.path == "/mute":
                release.wait(10)
                return
            if self.path == "/slow":
                release.wait(1)
            body = {"/html": b"<!DOCTYPE html><html>Please log in</html>",
                    "/damaged": bytes(damaged)}.get(self.path, ARCHIVE)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.path == "/stall":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                release.wait(10)
                return
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", requests
    release.set()
    httpd.shutdown()
    httpd.server_close()


def _chain(exc):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


@pytest.mark.parametrize("path, message", [("/stall", "stalled: no data for 0.5 s"),
                                           ("/mute", "stalled: no data for 0.5 s after 0 bytes")])
def test_fetch_times_out_on_a_stalled_server(slow_server, tmp_path, path, message):
    # Before: no timeout, the call hung forever.
    base, _ = slow_server
    with pytest.raises(OSError, match=message) as info:
        fetch_chest_xray(tmp_path, url=base + path, sha256=SHA256, timeout=0.5, progress=False)
    assert list(tmp_path.iterdir()) == []  # the partial file is gone
    # The error is about the download, not about a missing dataset.
    assert not any("No chest X-ray dataset" in str(e) for e in _chain(info.value))


def test_download_errors_do_not_claim_a_missing_dataset(slow_server, tmp_path):
    base, _ = slow_server
    with pytest.raises(OSError, match="Download of .*/missing failed") as info:
        fetch_chest_xray(tmp_path, url="http://127.0.0.1:9/missing", sha256=SHA256, progress=False)
    assert not any("No chest X-ray dataset" in str(e) for e in _chain(info.value))


@pytest.mark.parametrize("path, message", [("/html", "not a valid zip file.*DOCTYPE"),
                                           ("/damaged", "fails its CRC check")])
def test_unchecked_archive_is_tested_and_a_bad_one_removed(slow_server, tmp_path, path, message):
    # Before: with sha256=None an HTML page was kept and trusted on every later call.
    base, requests = slow_server
    with pytest.raises(ValueError, match=message):
        fetch_chest_xray(tmp_path, url=base + path, sha256=None, progress=False)
    assert list(tmp_path.iterdir()) == []
    bunch = fetch_chest_xray(tmp_path, url=f"{base}/full", sha256=None, progress=False)
    assert len(bunch.data) == 4 and requests == [path, "/full"]


def test_a_bad_archive_already_on_disk_is_replaced(slow_server, tmp_path):
    base, requests = slow_server
    (tmp_path / "ZhangLabData.zip").write_bytes(b"<html>not a zip</html>")
    bunch = fetch_chest_xray(tmp_path, url=f"{base}/full", sha256=None, progress=False)
    assert len(bunch.data) == 4 and requests == ["/full"]


def test_leftovers_of_a_killed_fetch_are_removed(slow_server, tmp_path):
    base, _ = slow_server
    (tmp_path / "ZhangLabData.zipk2j4h.part").write_bytes(ARCHIVE[:100])
    (tmp_path / ".chest_xray.x81bq" / "train").mkdir(parents=True)
    (tmp_path / "my_notes.txt").write_text("not ours: kept")
    fetch_chest_xray(tmp_path, url=f"{base}/full", sha256=SHA256, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chest_xray", "my_notes.txt"]


def test_concurrent_fetches_wait_for_each_other(slow_server, tmp_path, capsys):
    # Before: both downloaded, and the second rename failed with "Directory not empty".
    base, requests = slow_server
    results, errors = [], []

    def fetch():
        try:
            results.append(fetch_chest_xray(tmp_path, url=f"{base}/slow", sha256=SHA256,
                                            subset="all", progress=True))
        except Exception as exc:  # reported below, with the thread's traceback lost
            errors.append(exc)

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and [len(r.data) for r in results] == [8, 8]
    assert requests == ["/slow"]  # one download, the other fetch found the data
    assert "Waiting for another fetch" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chest_xray"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"subset": "val"}, "'subset' parameter of fetch_chest_xray"),
        ({"timeout": 0}, "'timeout' parameter of fetch_chest_xray must be a float in the range "
                         r"\(0.0, inf\) or None. Got 0 instead"),
        ({"timeout": "60"}, "'timeout' parameter of fetch_chest_xray must be"),
        ({"timeout": True}, "'timeout' parameter of fetch_chest_xray must be .* Got True instead"),
        ({"sha256": "abc"}, "sha256 must be 64 hexadecimal digits"),
        ({"url": None}, "'url' parameter of fetch_chest_xray"),
        ({"url": ""}, "url must be a non-empty string"),
        ({"keep_archive": "no"}, "'keep_archive' parameter"),  # "no" is true: refused
        ({"progress": "yes"}, "'progress' parameter"),
    ],
)
def test_fetch_parameters_are_checked_before_downloading(slow_server, tmp_path, kwargs, message):
    base, requests = slow_server
    kwargs = {"url": f"{base}/full", "progress": False, **kwargs}
    with pytest.raises(ValueError, match=message):
        fetch_chest_xray(tmp_path, **kwargs)
    assert requests == [] and list(tmp_path.iterdir()) == []


def test_fetch_into_a_file_is_refused(tmp_path):
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(ValueError, match="data' is a file, not a folder"):
        fetch_chest_xray(tmp_path / "data", url="http://127.0.0.1:9/never", progress=False)
