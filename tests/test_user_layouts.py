"""Users' own data laid out the way people lay it out: never a silent wrong answer (issue 35).

Class folders with hidden, empty and stray entries; labels that skip values; CSVs with id columns, the label last,
no header or pixels 0..1; a folder of splits given as one data set. Each case is read right, or stops or warns
naming the problem.
"""

import warnings

import numpy as np
import pytest
from PIL import Image

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.datasets import csvfile
from mnistlab.errors import DataFormatError

RNG = np.random.default_rng(0)


def digit_images(n: int, seed: int = 0) -> np.ndarray:
    """``n`` 28x28 images with ink on a dark background and a corner of 0 (MNIST-like, not all blank)."""
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 6:22, 6:22] = np.random.default_rng(seed).integers(0, 256, (n, 16, 16), dtype=np.uint8)
    return images


def class_folders(root, counts: dict[str, int]):
    """``root/<class>/<i>.png`` for each class and count; returns ``root``."""
    for k, (name, n) in enumerate(counts.items()):
        (root / name).mkdir(parents=True)
        for i, image in enumerate(digit_images(n, seed=k)):
            Image.fromarray(image).save(root / name / f"{i}.png")
    return root


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# --- class folders -------------------------------------------------------------------------------------------


def test_a_hidden_folder_is_not_a_class(tmp_path):
    root = class_folders(tmp_path / "digits", {"0": 3, "1": 3, "2": 2})
    (root / ".ipynb_checkpoints").mkdir()
    (root / "__MACOSX" / "0").mkdir(parents=True)
    (root / "__MACOSX" / "0" / "._0.png").write_bytes(b"\x00\x05\x16\x07 resource fork, not an image")
    (root / "0" / "._1.png").write_bytes(b"\x00\x05\x16\x07 resource fork, not an image")
    (root / "0" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "1" / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # junk is skipped without a word: it is never data
        ds = datasets.from_image_folder(root)
    assert ds.classes == ["0", "1", "2"]
    assert ds.class_counts().tolist() == [3, 3, 2]


def test_an_empty_folder_is_named_and_not_a_class(tmp_path):
    root = class_folders(tmp_path / "digits", {"0": 3, "1": 3})
    (root / "checkpoints").mkdir()
    with pytest.warns(
        UserWarning, match=r"sub-folder 'checkpoints' holds no PNG, JPEG or BMP image and is not a"
    ):
        ds = datasets.from_image_folder(root)
    assert ds.classes == ["0", "1"] and ds.class_counts().min() > 0


def test_an_empty_folder_of_a_named_class_keeps_the_class_and_says_so(tmp_path):
    root = class_folders(tmp_path / "digits", {"cat": 3, "dog": 3})
    (root / "bird").mkdir()
    with pytest.warns(
        UserWarning, match=r"'bird' holds no .* gives a class with no image \(classes were named\)"
    ):
        ds = datasets.from_image_folder(root, classes=["bird", "cat", "dog"])
    assert ds.class_counts().tolist() == [0, 3, 3]


def test_stray_files_do_not_break_the_load_and_are_named(tmp_path):
    root = class_folders(tmp_path / "digits", {"0": 2, "1": 2})
    (root / "README.txt").write_text("my digits")
    Image.fromarray(digit_images(1)[0]).save(root / "cover.png")
    (root / "0" / "notes.txt").write_text("scanned on Monday")
    (root / "1" / "scan.tif").write_bytes(b"II*\x00")
    (root / "1" / "more").mkdir()
    with pytest.warns(UserWarning) as record:
        ds = datasets.from_image_folder(root)
    messages = [str(w.message) for w in record]
    assert ds.class_counts().tolist() == [2, 2]
    assert any("1 image at the top level (cover.png) belong" in m for m in messages), messages
    assert any(
        "3 entries in the class sub-folders are not a PNG" in m and "0/notes.txt" in m for m in messages
    )
    assert not any("README" in m for m in messages)  # a README beside the class folders is expected


def test_a_folder_of_splits_is_refused_with_the_way_to_read_it(tmp_path):
    root = tmp_path / "mydata"
    class_folders(root / "train", {"0": 2, "1": 2})
    class_folders(root / "test", {"0": 1, "1": 1})
    with pytest.raises(
        DataFormatError, match=r"look like splits, not classes: .*--data .*train --test .*test"
    ):
        datasets.from_image_folder(root)


def test_a_folder_of_splits_through_the_command_line(tmp_path, capsys):
    root = tmp_path / "mydata"
    class_folders(root / "train", {"0": 2, "1": 2})
    class_folders(root / "test", {"0": 1, "1": 1})
    code, _, err = run(capsys, "data", "info", root)
    assert code == 1
    assert err.startswith("error: ") and err.count("\n") == 1
    assert f"--data {root / 'train'} --test {root / 'test'}" in err


def test_a_tree_of_empty_folders_is_refused(tmp_path):
    root = tmp_path / "digits"
    for name in ("0", "1", ".ipynb_checkpoints"):
        (root / name).mkdir(parents=True)
    with pytest.raises(DataFormatError, match="the class sub-folders hold no PNG, JPEG or BMP images"):
        datasets.from_image_folder(root)


def test_only_hidden_folders_is_no_class_folder(tmp_path):
    root = tmp_path / "digits"
    (root / ".ipynb_checkpoints").mkdir(parents=True)
    with pytest.raises(DataFormatError, match="no class sub-folders and no labels.csv"):
        datasets.from_image_folder(root)


# --- labels that skip values ---------------------------------------------------------------------------------


def test_npz_labels_with_a_stray_value_are_refused_naming_the_gap(tmp_path):
    path = tmp_path / "digits.npz"
    labels = np.array(list(range(10)) * 3 + [99])
    np.savez(path, images=digit_images(len(labels)), labels=labels)
    with pytest.raises(
        DataFormatError, match=r"labels take 11 distinct values in 0\.\.99: classes 10\.\.98 have no"
    ):
        datasets.from_npz(path)
    named = datasets.from_npz  # the fix the message names: class names make the labels mean what they say
    np.savez(
        path, images=digit_images(len(labels)), labels=labels, classes=np.array([str(i) for i in range(100)])
    )
    assert named(path).n_classes == 100


def test_a_missing_class_in_a_wider_label_set_is_a_warning(tmp_path):
    path = tmp_path / "letters.npz"
    labels = np.array([k for k in range(26) if k != 17] * 2)
    np.savez(path, images=digit_images(len(labels)), labels=labels)
    with pytest.warns(UserWarning, match="class 17 has no image"):
        assert datasets.from_npz(path).n_classes == 26


def test_labels_counted_from_one_are_named(tmp_path):
    path = tmp_path / "onebased.npz"
    np.savez(path, images=digit_images(20), labels=np.arange(20) % 10 + 1)
    with pytest.warns(UserWarning, match=r"class 0 has no image: labels 1\.\.10 look counted from 1"):
        datasets.from_npz(path)


def test_manifest_and_csv_labels_follow_the_same_rule(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    for i, image in enumerate(digit_images(3)):
        Image.fromarray(image).save(root / f"{i}.png")
    (root / "labels.csv").write_text("filename,label\n0.png,0\n1.png,1\n2.png,42\n")
    with pytest.raises(
        DataFormatError, match=r"labels\.csv: labels take 3 distinct values in 0\.\.42: .*line 4"
    ):
        datasets.from_image_folder(root)
    csv = tmp_path / "stray.csv"
    csvfile.write_csv(csv, digit_images(11), np.array([*range(10), 99]))
    with pytest.raises(DataFormatError, match=r"stray\.csv: labels take 11 distinct values .*line 12"):
        datasets.from_csv(csv)


def test_digit_subsets_keep_ten_classes_without_a_warning(tmp_path):
    path = tmp_path / "low.npz"
    np.savez(path, images=digit_images(10), labels=np.arange(10) % 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert datasets.from_npz(path).n_classes == 10


# --- data info -----------------------------------------------------------------------------------------------


def test_data_info_reports_the_ink_polarity(tmp_path, capsys):
    path = tmp_path / "scans.npz"
    np.savez(path, images=255 - digit_images(20), labels=np.arange(20) % 10)
    code, out, _ = run(capsys, "data", "info", path)
    assert code == 0
    assert (
        "scans ink: dark-on-light (dark ink on a light background, the reverse of MNIST): background 255"
        in out
    )
    summary = datasets.summary(path)
    assert summary.ink["scans"].polarity == "dark-on-light"
