"""DICOM reading: photometric interpretation, stored bits, VOI window, errors."""

import sys

import numpy as np
import pytest

from skcxr.preprocessing import ImageLoader

pydicom = pytest.importorskip("pydicom")

# A 12-bit ramp, dark (0) on the left to bright (4095) on the right.
RAMP = np.tile(np.linspace(0, 4095, 40).astype(np.uint16), (20, 1))


def write_dicom(path, pixels, *, photometric="MONOCHROME2", bits_stored=12, window=None,
                preamble_only=False):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 0
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return str(path)


def test_monochrome2_scaled_by_stored_bits(tmp_path):
    out = ImageLoader(size=(20, 40)).transform([write_dicom(tmp_path / "a.dcm", RAMP)])[0, 0]
    assert out[:, 0].max() == 0 and out[:, -1].min() == 255  # 12 bits span 0-255


def test_monochrome1_is_inverted(tmp_path):
    path = write_dicom(tmp_path / "a.dcm", RAMP, photometric="MONOCHROME1")
    out = ImageLoader(size=(20, 40)).transform([path])[0, 0]
    assert out[:, 0].min() == 255 and out[:, -1].max() == 0


def test_voi_window_only_on_request(tmp_path):
    path = write_dicom(tmp_path / "a.dcm", RAMP, window=(2048, 1024))
    full = ImageLoader(size=(20, 40)).transform([path])[0, 0]
    windowed = ImageLoader(size=(20, 40), dicom_voi_lut=True).transform([path])[0, 0]
    assert full[0, 20] == round(RAMP[0, 20] / 4095 * 255)  # no window: stored-bits range
    # A 1024-wide window around 2048 saturates everything outside 1536-2560.
    assert windowed[0, :12].max() == 0 and windowed[0, -12:].min() == 255
    assert 0 < windowed[0, 20] < 255


def test_dicom_found_by_its_marker_without_suffix(tmp_path):
    path = write_dicom(tmp_path / "scan.img", RAMP)
    assert ImageLoader(size=8).transform([path]).shape == (1, 1, 8, 8)


def test_bad_dicom_is_named(tmp_path):
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"garbage" * 10)
    with pytest.raises(ValueError, match="broken.dcm.*not a readable DICOM"):
        ImageLoader(size=8).transform([str(bad)])
    rgb = write_dicom(tmp_path / "colour.dcm", RAMP, photometric="PALETTE COLOR")
    with pytest.raises(ValueError, match="colour.dcm.*expected one grayscale frame"):
        ImageLoader(size=8).transform([rgb])


def test_missing_pydicom_gives_an_install_hint(tmp_path, monkeypatch):
    path = write_dicom(tmp_path / "a.dcm", RAMP)
    monkeypatch.setitem(sys.modules, "pydicom", None)
    with pytest.raises(ImportError, match=r"pip install 'skcxr\[dicom\]'"):
        ImageLoader(size=8).transform([path])
