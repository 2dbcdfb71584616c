"""DICOM reading: photometric interpretation, stored bits, rescale, VOI window, errors.

Row by row (as TorchXRayVision's reader tests): which header property each
case covers, and what the loader must make of it.
"""

import os
import sys

import numpy as np
import pytest

from skcxr.preprocessing import ImageLoader

pydicom = pytest.importorskip("pydicom")

# A 12-bit ramp, dark (0) on the left to bright (4095) on the right.
RAMP = np.tile(np.linspace(0, 4095, 40).astype(np.uint16), (20, 1))


def write_dicom(path, pixels, *, photometric="MONOCHROME2", bits_stored=12, window=None,
                frames=1, syntax=None, **tags):
    """A DX DICOM file of ``pixels`` (uint16, (rows, columns) or (frames, rows, columns)).

    ``syntax`` names a compressed transfer syntax: the pixel data is then an
    encapsulated fragment of junk (for files refused before decoding).
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.encaps import encapsulate
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax or ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 0
    if frames != 1:
        ds.NumberOfFrames = frames
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    for name, value in tags.items():
        setattr(ds, name, value)
    if syntax is None:
        ds.PixelData = pixels.astype(np.uint16).tobytes()
    else:
        ds.PixelData = encapsulate([b"\xff\xd8\xff\xf7" + bytes(64)])
        ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    return str(path)


def load(path, **params):
    return ImageLoader(size=(20, 40), **params).transform([path])[0, 0]


def test_monochrome2_scaled_by_stored_bits(tmp_path):
    out = load(write_dicom(tmp_path / "a.dcm", RAMP))
    assert out[:, 0].max() == 0 and out[:, -1].min() == 255  # 12 bits span 0-255


def test_monochrome1_is_inverted(tmp_path):
    out = load(write_dicom(tmp_path / "a.dcm", RAMP, photometric="MONOCHROME1"))
    assert out[:, 0].min() == 255 and out[:, -1].max() == 0


def test_voi_window_only_on_request(tmp_path):
    path = write_dicom(tmp_path / "a.dcm", RAMP, window=(2048, 1024))
    full, windowed = load(path), load(path, dicom_voi_lut=True)
    assert full[0, 20] == round(RAMP[0, 20] / 4095 * 255)  # no window: stored-bits range
    # A 1024-wide window around 2048 saturates everything outside 1536-2560.
    assert windowed[0, :12].max() == 0 and windowed[0, -12:].min() == 255
    assert 0 < windowed[0, 20] < 255


def test_twelve_bit_data_declared_sixteen_bits_is_scaled_by_its_bits_not_left_near_black(tmp_path):
    """BitsStored 16 (the whole container) holding 12-bit data: read as 12 bits, and said so.

    Scaled by 16 bits it spans 0-16 of 255, a frame the guard calls near-constant.
    """
    path = write_dicom(tmp_path / "a.dcm", RAMP, bits_stored=16)
    with pytest.warns(UserWarning, match=r"a.dcm.*BitsStored 16 .* values use 12 bits .*"
                                         r"scaled by 12 bits"):
        out = load(path)
    np.testing.assert_array_equal(out, load(write_dicom(tmp_path / "b.dcm", RAMP)))
    assert out.min() == 0 and out.max() == 255


def test_signed_data_with_no_negative_value_is_scaled_as_its_bits_not_squeezed(tmp_path):
    """Audit round 5: PixelRepresentation 1 (signed), BitsStored 16, values 0..4095 were scaled
    over -32768..32767 and refused as a near-constant frame; the same data unsigned screened."""
    path = write_dicom(tmp_path / "s.dcm", RAMP, bits_stored=16, PixelRepresentation=1)
    with pytest.warns(UserWarning, match=r"s.dcm.*signed.*no value is negative.*scaled by 12 bits"):
        out = load(path)
    np.testing.assert_array_equal(out, load(write_dicom(tmp_path / "b.dcm", RAMP)))


def test_signed_data_using_fewer_bits_than_its_container_is_scaled_by_them(tmp_path):
    """Audit round 7: signed values -2048..2047 in a 16-bit container were squeezed to a few
    grey levels by the container's signed range."""
    signed = (RAMP.astype(np.int32) - 2048).astype(np.int16).view(np.uint16)
    path = write_dicom(tmp_path / "s.dcm", signed, bits_stored=16, PixelRepresentation=1)
    with pytest.warns(UserWarning, match=r"signed values use 12 bits .*scaled by 12 bits"):
        out = load(path)
    assert out.min() == 0 and out.max() == 255


def test_values_above_bits_stored_are_read_not_wrapped_around(tmp_path):
    """BitsStored 12 but values up to 16383: scaled by 14 bits (a ramp stays a ramp), and said so."""
    ramp14 = RAMP.astype(np.uint32) * 4  # 0 to 16380
    with pytest.warns(UserWarning, match=r"values up to 16380 exceed BitsStored 12: scaled by 14"):
        out = load(write_dicom(tmp_path / "a.dcm", ramp14.astype(np.uint16)))
    assert np.all(np.diff(out[0].astype(int)) >= 0)  # wrapped around, it would fall and rise
    assert out[0, 0] == 0 and out[0, -1] == 255


def test_negative_rescale_slope_is_rescaled_not_read_as_an_inverted_film(tmp_path):
    """Stored values falling where the film brightens, with RescaleSlope -1: the rescale restores it."""
    stored = 4095 - RAMP
    path = write_dicom(tmp_path / "a.dcm", stored, RescaleSlope=-1, RescaleIntercept=4095)
    np.testing.assert_array_equal(load(path), load(write_dicom(tmp_path / "b.dcm", RAMP)))


def test_a_rescale_slope_of_zero_is_a_damaged_header_not_a_slope_of_one(tmp_path):
    path = write_dicom(tmp_path / "a.dcm", RAMP, RescaleSlope=0, RescaleIntercept=0)
    with pytest.raises(ValueError, match="declares RescaleSlope 0, which maps every pixel"):
        load(path)


def deflated(path, source):
    """``source`` re-saved with the Deflated Explicit VR Little Endian transfer syntax."""
    import pydicom
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    ds = pydicom.dcmread(source)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)
    return str(path)


def test_a_deflated_dicom_is_read_and_a_deflate_bomb_refused_before_inflating(tmp_path):
    small = deflated(tmp_path / "small.dcm", write_dicom(tmp_path / "a.dcm", RAMP))
    np.testing.assert_array_equal(load(small), load(str(tmp_path / "a.dcm")))
    # 4000x4000 16-bit zeros: 32 MB inflated from a file of a few tens of kB.
    bomb = deflated(tmp_path / "bomb.dcm", write_dicom(tmp_path / "b.dcm",
                                                       np.zeros((4000, 4000), np.uint16)))
    assert os.path.getsize(bomb) < 200_000
    with pytest.raises(ValueError, match="deflated DICOM dataset inflates to more than"):
        ImageLoader(size=8, max_pixels=1_000_000).transform([bomb])


def test_window_applies_to_rescaled_values(tmp_path):
    """WindowCenter/Width are in output units: the rescale comes first (here an intercept of -1024)."""
    path = write_dicom(tmp_path / "a.dcm", RAMP, window=(1024, 1024), RescaleSlope=1,
                       RescaleIntercept=-1024)
    windowed = load(path, dicom_voi_lut=True)
    reference = load(write_dicom(tmp_path / "b.dcm", RAMP, window=(2048, 1024)),
                     dicom_voi_lut=True)
    np.testing.assert_array_equal(windowed, reference)


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


def test_multi_frame_dicom_is_refused_naming_its_frame_count(tmp_path):
    path = write_dicom(tmp_path / "cine.dcm", np.stack([RAMP, RAMP[:, ::-1], RAMP]), frames=3)
    with pytest.raises(ValueError, match=r"cine.dcm.*holds 3 frames \(multi-frame DICOM\).*"
                                         r"Split it"):
        ImageLoader(size=8).transform([path])


def test_jpeg_ls_without_a_decoder_is_refused_with_an_install_hint(tmp_path):
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLSLossless

    if get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed here")
    path = write_dicom(tmp_path / "ls.dcm", RAMP, syntax=JPEGLSLossless)
    with pytest.raises(ValueError, match=r"ls.dcm.*compressed as JPEG-LS Lossless.*no decoder.*"
                                         r"pylibjpeg pylibjpeg-libjpeg.*python-gdcm") as info:
        ImageLoader(size=8).transform([path])
    assert info.value.code == "unsupported_dicom"


def test_missing_pydicom_gives_an_install_hint(tmp_path, monkeypatch):
    path = write_dicom(tmp_path / "a.dcm", RAMP)
    monkeypatch.setitem(sys.modules, "pydicom", None)
    with pytest.raises(ImportError, match=r"pip install 'skcxr\[dicom\]'"):
        ImageLoader(size=8).transform([path])


def test_a_structured_report_says_it_has_no_pixel_data_not_a_missing_attribute(tmp_path):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    from skcxr.screener._reading import read_film

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic Text SR Storage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, generate_uid()
    ds.Modality = "SR"
    ds.save_as(tmp_path / "report.dcm", enforce_file_format=True)
    refusal = read_film(str(tmp_path / "report.dcm"), ImageLoader(size=8)).refusal
    assert refusal.code == "unsupported_dicom"
    assert refusal.message == ("DICOM has no pixel data (SOP class Basic Text SR Storage, "
                               "Modality SR): not an image")


def test_an_undecodable_jpeg_2000_dicom_gives_a_whole_reason_naming_syntax_and_decoders(
        tmp_path):
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEG2000Lossless

    from skcxr.screener._reading import read_film

    decoder = get_decoder(JPEG2000Lossless)
    if not decoder.is_available or not decoder.missing_dependencies:
        pytest.skip("needs one JPEG 2000 decoder installed here and another missing")
    path = write_dicom(tmp_path / "j2k.dcm", RAMP, syntax=JPEG2000Lossless)  # junk fragment
    message = read_film(path, ImageLoader(size=8)).refusal.message
    assert message.startswith("DICOM compressed as JPEG 2000 Image Compression (Lossless Only) "
                              "could not be decoded (")
    assert "all available plugins:)" not in message and " object at 0x" not in message
    assert "need a decoder that is not installed (pip install pylibjpeg pylibjpeg-openjpeg" in (
        message)


def test_pydicom_value_warnings_are_not_printed_without_the_file_name(tmp_path):
    import warnings

    from skcxr.preprocessing import dicom_header_warnings
    from skcxr.screener._reading import read_film

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns that these values are not valid DICOM
        path = write_dicom(tmp_path / "long_id.dcm", RAMP, PatientID="P" * 80,
                           StudyDate="2020-01-01")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        film = read_film(path, ImageLoader(size=8))
    # Dropped: a text value's format changes nothing read from the film.
    assert [str(w.message) for w in caught] == []
    assert film.refusal is None and film.dicom[0] == "P" * 80
    # Any other pydicom warning is passed on once, naming the file.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with dicom_header_warnings("file 'a.dcm'"):
            for _ in range(2):
                warnings.warn_explicit("Expected explicit VR, found implicit", UserWarning,
                                       os.path.join("x", "pydicom", "filereader.py"), 1)
    assert [str(w.message) for w in caught] == [
        "file 'a.dcm': Expected explicit VR, found implicit"]
