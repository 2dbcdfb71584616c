"""How a screen reads each file: one open, limits before decoding, one decode, one row per file.

Each test is named after the harm it rules out.
"""

import builtins
import os
import socket
import threading

import numpy as np
import pytest
from PIL import Image, ImageFile

from skcxr.guard import InputGuard, Refusal, file_refusals
from skcxr.guard._file_checks import FileChecks
from skcxr.preprocessing import ImageLoader
from skcxr.screener import discover_files, screen_files
from skcxr.screener._reading import read_film
from skcxr.screener._worklist import _reading_checks

RNG = np.random.default_rng(0)
# A grey "film", 200x160, and a colour photograph of the same size.
FILM = np.clip(RNG.normal(110, 40, (160, 200)), 0, 255).astype(np.uint8)
PHOTO = RNG.integers(0, 256, (160, 200, 3), dtype=np.uint8)
ROTATED = Image.Exif()
ROTATED[0x0112] = 6  # stored on its side: display needs a 90 degree turn


def save(array_or_image, path, **kwargs):
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(
        array_or_image)
    image.save(path, **kwargs)
    return str(path)


def within(seconds, function):
    """``(finished, result)`` of ``function()`` run in a daemon thread for at most ``seconds``."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function()), daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), result.get("value")


def unblock(fifo):
    """Let a reader stuck opening ``fifo`` go (a failed test must not hang the session)."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass  # nobody was reading it


@pytest.fixture
def decodes(monkeypatch):
    """The formats of the image files decoded (Pillow ``load`` with data still to decode)."""
    seen = []
    real = ImageFile.ImageFile.load

    def load(self):
        if self.tile:
            seen.append(self.format)
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


@pytest.fixture
def opens(monkeypatch):
    """The paths opened, by ``open`` and ``os.open``."""
    seen = []
    real_open, real_os_open = builtins.open, os.open

    def counting_open(file, *args, **kwargs):
        seen.append(os.fspath(file) if isinstance(file, (str, os.PathLike)) else file)
        return real_open(file, *args, **kwargs)

    def counting_os_open(path, *args, **kwargs):
        seen.append(os.fspath(path))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(os, "open", counting_os_open)
    return seen


# ---------------------------------------------------------------- several films in one file
def test_multi_page_tiff_is_refused_not_scored_on_page_one(tiny_screener, tmp_path):
    normal, pneumonia = (Image.open(tiny_screener["paths"][i]) for i in (0, 1))
    path = str(tmp_path / "two_films.tif")
    normal.save(path, save_all=True, append_images=[pneumonia])
    (row,) = screen_files(tiny_screener["screener"], [path])
    assert (row.status, row.code, row.reason) == (
        "unsuitable", "multi_frame", "2 pages in one file (multi-page TIFF): split them first")
    assert row.score is None and row.flagged is None
    with pytest.raises(ValueError, match=r"two_films.tif.*holds 2 pages \(multi-page TIFF\)"):
        ImageLoader(size=64).transform([path])


def test_animated_gif_is_refused_not_read_as_frame_zero(tmp_path):
    frames = [Image.fromarray(FILM), Image.fromarray(255 - FILM), Image.fromarray(FILM)]
    path = str(tmp_path / "cine.gif")
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    film = read_film(path, ImageLoader(size=32), FileChecks())
    assert film.array is None
    assert film.refusal == Refusal("multi_frame",
                                   "3 frames in one file (animated GIF): split them first")
    with pytest.raises(ValueError, match=r"cine.gif.*holds 3 frames \(animated GIF\)"):
        ImageLoader(size=32).transform([path])


def test_animated_png_is_refused_not_read_as_its_first_frame(tmp_path):
    path = str(tmp_path / "cine.png")
    Image.fromarray(FILM).save(path, save_all=True, append_images=[Image.fromarray(255 - FILM)])
    film = read_film(path, ImageLoader(size=32))
    assert film.refusal == Refusal("multi_frame",
                                   "2 frames in one file (animated PNG (APNG)): split them first")
    # The guard's own check says so too, from the header.
    assert file_refusals([path])[0].code == "multi_frame"


def test_a_jpeg_holding_two_films_mpo_is_refused_not_read_as_its_first(tmp_path):
    """Two pictures not marked as previews of the first: which one is the film is unknown."""
    path = str(tmp_path / "two.jpg")
    Image.fromarray(FILM).convert("RGB").save(
        path, "MPO", save_all=True, append_images=[Image.fromarray(255 - FILM).convert("RGB")])
    with Image.open(path) as image:
        assert image.format == "MPO" and image.n_frames == 2
    film = read_film(path, ImageLoader(size=32), FileChecks())
    assert film.array is None
    assert film.refusal == Refusal(
        "multi_frame", "2 frames in one file (JPEG with several pictures (MPO)): split them first")
    with pytest.raises(ValueError, match=r"two.jpg.*holds 2 frames"):
        ImageLoader(size=32).transform([path])


def test_a_multi_frame_pil_image_is_refused_by_the_loader(tmp_path):
    path = str(tmp_path / "pages.tif")
    Image.fromarray(FILM).save(path, save_all=True, append_images=[Image.fromarray(FILM)])
    with Image.open(path) as image, pytest.raises(ValueError, match="PIL image at index 0.*"
                                                                    "holds 2 pages"):
        ImageLoader(size=8).transform([image])


# ----------------------------------------------- what is not a regular file: a row, never a hang
def test_fifo_named_on_the_command_line_gets_an_error_row_without_blocking(tmp_path):
    fifo = tmp_path / "scan.jpeg"
    os.mkfifo(fifo)
    try:
        files, _ = discover_files([fifo])
        done, film = within(20, lambda: read_film(files[0], ImageLoader(size=8), FileChecks()))
    finally:
        unblock(fifo)
    assert files == [str(fifo)] and done, "reading a named pipe blocked"
    assert film.refusal == Refusal("not_regular_file",
                                   "not a regular file: a named pipe (FIFO), never opened")


def test_pipes_sockets_and_bad_links_in_a_folder_each_get_one_error_row(tiny_screener, tmp_path):
    folder = tmp_path / "in"
    (folder / "real").mkdir(parents=True)
    save(Image.open(tiny_screener["paths"][0]), folder / "film.png")
    os.mkfifo(folder / "pipe.jpeg")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "sock"))
    (folder / "dangling.jpeg").symlink_to(folder / "nowhere.jpeg")
    (folder / "loop.jpeg").symlink_to(folder / "loop.jpeg")
    (folder / "linked_folder").symlink_to(folder / "real")
    try:
        files, skipped = discover_files([folder])
        done, rows = within(60, lambda: list(screen_files(tiny_screener["screener"], files,
                                                          batch_size=2)))
    finally:
        unblock(folder / "pipe.jpeg")
        server.close()
    assert done, "the screen blocked"
    rows = {os.path.basename(row.path): (row.status, row.code, row.reason) for row in rows}
    assert rows == {
        "film.png": ("screened", "", ""),
        "pipe.jpeg": ("error", "not_regular_file",
                      "not a regular file: a named pipe (FIFO), never opened"),
        "sock": ("error", "not_regular_file", "not a regular file: a socket, never opened"),
        "dangling.jpeg": ("error", "broken_link",
                          f"broken symbolic link (to {str(folder / 'nowhere.jpeg')!r})"),
        "loop.jpeg": ("error", "link_loop", "symbolic link loop"),
        "linked_folder": ("error", "not_regular_file", "not a file: a symbolic link to a folder "
                                                       "(not followed: name the folder to screen "
                                                       "it)"),
    }
    assert len(files) == 6 and skipped == 0


def test_broken_link_named_on_the_command_line_is_a_row_not_a_missing_path(tmp_path):
    link = tmp_path / "film.jpeg"
    link.symlink_to(tmp_path / "gone.jpeg")
    assert discover_files([link]) == ([str(link)], 0)
    assert read_film(str(link), ImageLoader(size=8)).refusal.code == "broken_link"


def test_a_folder_that_cannot_be_listed_gets_a_row_not_silence(tmp_path):
    locked = tmp_path / "in" / "locked"
    locked.mkdir(parents=True)
    save(FILM, locked / "film.png")
    os.chmod(locked, 0)
    try:
        if os.access(locked, os.R_OK):  # root lists anything
            pytest.skip("running as a user who can list a mode-000 folder")
        files, _ = discover_files([tmp_path / "in"])
        film = read_film(files[0], ImageLoader(size=8))
    finally:
        os.chmod(locked, 0o755)
    assert files == [str(locked)]
    assert film.refusal == Refusal("permission",
                                   "a folder that cannot be listed (permission denied)")


# ------------------------------------------------------------ limits before any pixel is decoded
def test_a_file_in_a_folder_without_search_permission_is_permission_denied_not_missing(
        tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    film = save(FILM, locked / "film.png")
    os.chmod(locked, 0o600)  # its names can be listed, but no file in it can be opened
    try:
        if os.access(locked, os.X_OK):  # root: answer as the kernel answers any other user
            stat, lstat, access = os.stat, os.lstat, os.access

            def denied(call):
                def checked(path, *args, **kwargs):
                    if str(path).startswith(str(locked) + os.sep):
                        raise PermissionError(13, "Permission denied", os.fspath(path))
                    return call(path, *args, **kwargs)
                return checked

            monkeypatch.setattr(os, "stat", denied(stat))
            monkeypatch.setattr(os, "lstat", denied(lstat))
            monkeypatch.setattr(os, "access", lambda path, mode, **kw: os.fspath(path) != str(
                locked) and access(path, mode, **kw))
        files, _ = discover_files([film])
        refusal = read_film(files[0], ImageLoader(size=8)).refusal
    finally:
        monkeypatch.undo()
        os.chmod(locked, 0o755)
    assert files == [film]  # a row of its own, not "No such file or folder"
    assert refusal == Refusal("permission", "cannot open the file (permission denied: folder "
                                            f"{str(locked)!r} cannot be searched)")


def test_an_os_read_error_is_cannot_read_not_a_corrupt_image(tmp_path):
    if not os.path.isfile("/proc/self/mem"):
        pytest.skip("no /proc/self/mem here")
    refusal = read_film("/proc/self/mem", ImageLoader(size=8)).refusal
    assert refusal.code == "unreadable"
    assert refusal.message.startswith("cannot read the file (") and "corrupt" not in (
        refusal.message)


def test_colour_check_never_decodes_an_image_above_max_pixels(tmp_path, decodes):
    """The guard's colour check once decoded whole images before max_pixels applied."""
    path = save(np.zeros((3000, 2000, 3), np.uint8), tmp_path / "bomb.png")  # 6 Mpx, a few kB
    film = read_film(path, ImageLoader(size=32, max_pixels=1_000_000), FileChecks())
    assert film.refusal == Refusal(
        "too_large", "too many pixels (2000x3000 > max_pixels=1000000; possible decompression "
                     "bomb)")
    assert decodes == []


def test_standalone_file_checks_never_decode_above_pillows_limit(tmp_path, decodes, monkeypatch):
    path = save(PHOTO, tmp_path / "photo.png")  # 32,000 pixels of colour
    assert file_refusals([path])[0].code == "colour"
    decodes.clear()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 20_000)
    assert file_refusals([path]) == [None]  # above the limit: the decoder reports it
    assert decodes == []


def test_header_refusals_decode_nothing(tmp_path, decodes):
    small = save(FILM[:60, :60], tmp_path / "icon.png")
    banner = save(np.tile(FILM, (1, 3)), tmp_path / "banner.png")
    refusals = [read_film(p, ImageLoader(size=32), FileChecks()).refusal for p in (small, banner)]
    assert [r.code for r in refusals] == ["too_small", "aspect_ratio"]
    assert decodes == []


# ------------------------------------------------------------------------ one open, one decode
@pytest.mark.parametrize("name, image, kwargs", [
    # row: which kind of file the case covers
    ("grey.jpeg", FILM, dict(quality=90)),
    ("grey_in_rgb.jpeg", np.repeat(FILM[:, :, None], 3, axis=2), dict(quality=90)),
    ("photo.jpeg", PHOTO, dict(quality=90)),
    ("photo.png", PHOTO, {}),
    ("palette.png", Image.fromarray(PHOTO).convert("P"), {}),
    ("grey.png", FILM, {}),
])
def test_each_file_is_opened_once_and_decoded_once(tmp_path, decodes, opens, name, image, kwargs):
    path = save(image, tmp_path / name, **kwargs)
    opens.clear()
    film = read_film(path, ImageLoader(size=32), FileChecks())
    assert opens == [path]
    assert len(decodes) == 1
    assert (film.refusal is None) == ("photo" not in name and "palette" not in name)


@pytest.mark.parametrize("grayscale", [True, False])
@pytest.mark.parametrize("name, image, kwargs", [
    ("grey_in_rgb.jpeg", np.repeat(FILM[:, :, None], 3, axis=2), dict(quality=90)),
    ("grey.jpeg", FILM, {}),
    ("subsampled.jpeg", np.dstack([FILM, FILM, 255 - FILM]), dict(subsampling=2)),
    ("rotated.jpeg", FILM, dict(exif=ROTATED)),
    ("rgb_coded.jpeg", np.repeat(FILM[:, :, None], 3, axis=2), dict(keep_rgb=True)),
    ("grey.png", FILM, {}),
    ("sixteen_bit.png", FILM.astype(np.uint16) * 16, {}),
    ("grey.tif", FILM, {}),
    ("grey.bmp", FILM, {}),
])
def test_a_screened_film_gets_exactly_the_loaders_pixels(tmp_path, name, image, kwargs, grayscale):
    path = save(image, tmp_path / name, **kwargs)
    loader = ImageLoader(size=(48, 64), grayscale=grayscale)
    expected = loader.transform([path])[0]
    for checks in (None, FileChecks(max_colour_share=1.0)):
        film = read_film(path, loader, checks)
        assert film.refusal is None
        np.testing.assert_array_equal(film.array, expected)


def test_colour_is_measured_on_the_decode_the_model_gets(tmp_path):
    marked = np.repeat(FILM[:, :, None], 3, axis=2)
    marked[:20, :40] = (255, 0, 0)  # a small red marker: 2.5% of the pixels
    paths = [save(PHOTO, tmp_path / "photo.jpeg", quality=90),
             save(PHOTO, tmp_path / "photo_rgb_coded.jpeg", keep_rgb=True),
             save(marked, tmp_path / "marked.jpeg", quality=95),
             save(marked, tmp_path / "marked.png")]
    loader = ImageLoader(size=64)
    codes = [getattr(read_film(p, loader, FileChecks()).refusal, "code", None) for p in paths]
    assert codes == ["colour", "colour", None, None]
    # The standalone check agrees.
    assert [getattr(r, "code", None) for r in file_refusals(paths)] == codes


# ------------------------------------------------------- the loader's own reason reaches the row
def test_the_readers_specific_reason_reaches_the_worklist(tiny_screener, tmp_path):
    pytest.importorskip("pydicom")
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLSLossless
    from test_dicom import RAMP, write_dicom

    if get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed here")
    lossless = write_dicom(tmp_path / "ls.dcm", RAMP, syntax=JPEGLSLossless, PatientID="P-LS")
    cine = write_dicom(tmp_path / "cine.dcm", np.stack([RAMP, RAMP]), frames=2)
    rows = list(screen_files(tiny_screener["screener"], [lossless, cine]))
    assert (rows[0].status, rows[0].code) == ("error", "unsupported_dicom")
    assert rows[0].reason.startswith(
        "DICOM compressed as JPEG-LS Lossless Image Compression: no decoder installed (pip install "
        "pylibjpeg pylibjpeg-libjpeg, or python-gdcm")
    assert rows[0].dicom[0] == "P-LS"  # a refused DICOM still names its patient
    assert (rows[1].status, rows[1].code, rows[1].reason) == (
        "unsuitable", "multi_frame", "2 frames in one file (multi-frame DICOM): split them first")


def test_twelve_bit_dicom_declared_sixteen_is_screened_with_a_note(tmp_path):
    pytest.importorskip("pydicom")
    from test_dicom import RAMP, write_dicom

    path = write_dicom(tmp_path / "a.dcm", RAMP, bits_stored=16)
    film = read_film(path, ImageLoader(size=(20, 40)), FileChecks())
    assert film.refusal is None and film.array.min() == 0 and film.array.max() == 255
    assert film.note == ("BitsStored 16 (the whole container) but the values use 12 bits (up to "
                         "4095): scaled by 12 bits")


# ----------------------------------------------------------------- which guards check while read
def test_an_input_guard_checks_files_while_they_are_read():
    from skcxr import CXRClassifier

    class OwnFileChecks(InputGuard):
        def file_refusals(self, paths):
            return [None] * len(paths)

    assert _reading_checks(InputGuard(CXRClassifier("tiny"))) == FileChecks()
    # A guard with file checks of its own is asked for them, as before.
    assert _reading_checks(OwnFileChecks(CXRClassifier("tiny"))) is None



@pytest.mark.parametrize("bits", [8, 10, 12, 14, 16])
def test_a_high_bit_film_converted_in_strips_gets_the_pixels_whole_float_scaling_gave(
        bits, monkeypatch):
    from skcxr.preprocessing import _convert

    monkeypatch.setattr(_convert, "_STRIP_PIXELS", 7 * 31)  # several strips, the last short
    values = RNG.integers(0, 2**bits, (53, 31)).astype(np.uint16)
    values[0, 0], values[0, 1] = 2**bits - 1, 0
    # What the conversion was before it went by strips and a table: float32 over the image.
    expected = np.round(values.astype(np.float32) * (255 / (2**bits - 1))).astype(np.uint8)
    for image in (Image.fromarray(values), Image.fromarray(values.astype(np.int32))):  # I;16, I
        np.testing.assert_array_equal(np.asarray(_convert.to_8bit(image, "x")), expected)
    np.testing.assert_array_equal(_convert.scale_high_bit(values, "x"), expected)
    with pytest.raises(Exception, match=r"integer values in \[-1, "):
        _convert.to_8bit(Image.fromarray(values.astype(np.int32) - 1), "x")
