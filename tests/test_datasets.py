import numpy as np
import pytest
from PIL import Image

from skcxr.datasets import (
    chest_xray_patient_id,
    get_skcxr_data_home,
    load_chest_xray,
    load_image_folder,
)


@pytest.mark.parametrize(
    "name, patient",
    [
        ("person1234_bacteria_3166.jpeg", "person1234"),
        ("person1234_virus_2045.jpeg", "person1234"),
        ("person447_virus_921_1.jpeg", "person447"),
        ("IM-0115-0001.jpeg", "IM-0115"),
        ("IM-0011-0001-0002.jpeg", "IM-0011"),
        ("NORMAL2-IM-0587-0001-0002.jpeg", "NORMAL2-IM-0587"),
    ],
)
def test_patient_id_from_file_name(name, patient):
    assert chest_xray_patient_id(f"train/X/{name}") == patient


def test_patient_id_unknown_name_is_an_error():
    with pytest.raises(ValueError, match="scan_01.png"):
        chest_xray_patient_id("scan_01.png")


def test_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("SKCXR_DATA", str(tmp_path / "env"))
    assert get_skcxr_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_skcxr_data_home() == tmp_path / "env"
    monkeypatch.delenv("SKCXR_DATA")
    assert get_skcxr_data_home().name == "skcxr_data"


def test_missing_dataset_says_what_and_how(tmp_path):
    with pytest.raises(FileNotFoundError, match="train/NORMAL/.*fetch_chest_xray"):
        load_chest_xray(tmp_path)


def test_malformed_dataset_is_reported(tmp_path):
    (tmp_path / "chest_xray" / "train" / "NORMAL").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="test/PNEUMONIA"):
        load_chest_xray(tmp_path)


def test_bad_subset(tmp_path):
    with pytest.raises(ValueError, match="subset"):
        load_chest_xray(tmp_path, subset="val")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda tmp: load_chest_xray(tmp, return_X_y="yes"), "'return_X_y' parameter"),
        (lambda tmp: load_image_folder(None), "'root' parameter of load_image_folder"),
        (lambda tmp: load_image_folder(tmp, patient_id="person"), "'patient_id' parameter"),
        (lambda tmp: chest_xray_patient_id(5), "'path' parameter of chest_xray_patient_id"),
        (lambda tmp: get_skcxr_data_home(5), "'data_home' parameter of get_skcxr_data_home"),
    ],
)
def test_parameter_types_are_checked(tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(tmp_path)


def _write_folder(root, counts):
    for cls, n in counts.items():
        (root / cls).mkdir(parents=True)
        for i in range(n):
            Image.new("L", (8, 8), 10 * i).save(root / cls / f"{cls}_{i}.png")
        (root / cls / "notes.txt").write_text("not an image")


def test_image_folder_with_chosen_classes(tmp_path):
    _write_folder(tmp_path, {"cat": 2, "dog": 3, "owl": 1})
    bunch = load_image_folder(
        tmp_path, class_names=["dog", "cat"], patient_id=lambda p: p[-5]
    )
    assert list(bunch.target_names) == ["dog", "cat"]
    assert list(bunch.target) == [0, 0, 0, 1, 1]
    assert all(p.endswith(".png") for p in bunch.data)
    assert list(bunch.groups) == ["0", "1", "2", "0", "1"]
    X, y = load_image_folder(tmp_path, return_X_y=True)
    assert len(X) == 6 and sorted(set(y)) == [0, 1, 2]
    assert load_image_folder(tmp_path).groups is None


def test_image_folder_errors(tmp_path):
    _write_folder(tmp_path, {"a": 1})
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="b' does not exist"):
        load_image_folder(tmp_path, class_names=["a", "b"])
    with pytest.raises(ValueError, match="holds no image"):
        load_image_folder(tmp_path, class_names=["a", "empty"])


def test_real_train_and_test_counts(data_home):
    train = load_chest_xray(data_home, subset="train")
    test = load_chest_xray(data_home, subset="test")
    assert list(train.target_names) == ["NORMAL", "PNEUMONIA"]
    assert len(train.data) == 5216 and len(test.data) == 624
    assert np.bincount(train.target).tolist() == [1341, 3875]
    assert np.bincount(test.target).tolist() == [234, 390]
    assert "Kermany" in train.DESCR and "CC BY 4.0" in train.DESCR
    assert not set(train.groups) & set(test.groups)
    assert train.groups[0] == "train/IM-0115" and test.groups[0] == "test/IM-0001"
    assert len(set(train.groups)) == 2846 and len(set(test.groups)) == 427
    # Every image of a patient carries one label.
    for bunch in (train, test):
        labels = {}
        for g, t in zip(bunch.groups, bunch.target):
            assert labels.setdefault(g, t) == t


def test_real_all_subset_and_data_home_forms(data_home, monkeypatch):
    everything = load_chest_xray(data_home / "chest_xray", subset="all")
    assert len(everything.data) == 5840
    assert np.bincount(everything.split == "test").tolist() == [5216, 624]
    monkeypatch.setenv("SKCXR_DATA", str(data_home))
    X, y = load_chest_xray(subset="test", return_X_y=True)
    assert X.shape == y.shape == (624,)


def test_image_folder_skips_hidden_files_and_image_named_folders(tmp_path):
    # Before: AppleDouble "._x.png" files and a folder "x.png" were listed as images.
    _write_folder(tmp_path, {"a": 2, "b": 1})
    (tmp_path / "a" / "._a_0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble metadata")
    (tmp_path / "a" / ".hidden.png").write_bytes(b"not an image")
    (tmp_path / "a" / "series_7.png").mkdir()
    (tmp_path / ".ipynb_checkpoints").mkdir()  # a hidden folder is not a class
    bunch = load_image_folder(tmp_path)
    assert list(bunch.target_names) == ["a", "b"]
    assert [p.split("/")[-1] for p in bunch.data] == ["a_0.png", "a_1.png", "b_0.png"]


def test_image_folder_reports_dangling_links(tmp_path):
    _write_folder(tmp_path, {"a": 1})
    (tmp_path / "a" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(ValueError, match="gone.png' is a broken symbolic link"):
        load_image_folder(tmp_path)
    (tmp_path / "a" / "gone.png").unlink()
    (tmp_path / "a" / "loop.png").symlink_to(tmp_path / "a" / "loop.png")
    with pytest.raises(ValueError, match="loop.png' cannot be read: a symbolic link loop"):
        load_image_folder(tmp_path)


@pytest.mark.parametrize(
    "class_names, message",
    [
        ("a", "'class_names' parameter of load_image_folder must be an array-like"),
        (["a", "a"], "repeats a name"),
        ([], "class_names is empty"),
        ([0, 1], "class_names must be a sequence"),
    ],
)
def test_image_folder_class_names_are_checked(tmp_path, class_names, message):
    # Before: "a" was read letter by letter; ["a", "a"] listed every image twice, labelled 0 and 1.
    _write_folder(tmp_path, {"a": 1})
    with pytest.raises(ValueError, match=message):
        load_image_folder(tmp_path, class_names=class_names)


def test_image_folder_root_that_is_a_file(tmp_path):
    (tmp_path / "data.zip").write_bytes(b"PK")
    with pytest.raises(FileNotFoundError, match="data.zip' is not a folder"):
        load_image_folder(tmp_path / "data.zip")


def test_image_folder_patient_id_failures_name_the_file(tmp_path):
    _write_folder(tmp_path, {"a": 2})
    with pytest.raises(ValueError, match=r"patient_id failed on '.*a_0.png': KeyError"):
        load_image_folder(tmp_path, patient_id=lambda p: {}[p])
    with pytest.raises(ValueError, match="patient_id returned None for .*a_0.png"):
        load_image_folder(tmp_path, patient_id=lambda p: None)
