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
