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
from mnistlab.datasets import csvfile, csvnumbers
from mnistlab.errors import DataFormatError, ParameterError

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


@pytest.mark.parametrize(("train", "test"), [("Training", "Testing"), ("train", "val")])
def test_other_split_names_are_splits_too(tmp_path, train, test):
    root = tmp_path / "mydata"
    class_folders(root / train, {"0": 2, "1": 2})
    class_folders(root / test, {"0": 1, "1": 1})
    with pytest.raises(DataFormatError, match=f"--data .*{train} --test .*{test}"):
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


# --- CSV layouts ---------------------------------------------------------------------------------------------

PIXELS = [f"pixel{i}" for i in range(784)]


@pytest.fixture(params=["c", "numpy"])
def csv_parser(request, monkeypatch):
    """The layouts read the same through the C loop and through the numpy parser used where it was not built."""
    if request.param == "numpy":
        monkeypatch.setattr(csvnumbers, "_csvparse", None)
    elif csvnumbers._csvparse is None:
        pytest.skip("the C extension was not built (no compiler at install time)")
    return request.param


def write_table(path, header, rows):
    """A CSV of ``rows`` (lists of values) under ``header`` (a list of names, or None for no header line)."""
    lines = ([",".join(header)] if header is not None else []) + [",".join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def image_rows(n: int = 12):
    images, labels = digit_images(n), np.arange(n) % 10
    return images, labels, [list(image.ravel()) for image in images]


def test_the_label_as_the_last_column_of_a_headerless_file(csv_parser, tmp_path):
    images, labels, rows = image_rows()
    path = write_table(tmp_path / "last.csv", None, [[*r, k] for r, k in zip(rows, labels, strict=True)])
    ds = datasets.from_csv(path)
    assert ds.labels.tolist() == labels.tolist()
    assert np.array_equal(ds.images, images)
    table = csvfile.read_csv_table(path, label_column="first")  # named: the user's word wins
    assert table.labels.tolist() == [0] * len(labels)


def test_the_label_last_by_its_name_and_an_id_column_by_its_name(csv_parser, tmp_path):
    images, labels, rows = image_rows()
    path = write_table(
        tmp_path / "ids.csv",
        ["ImageId", *PIXELS, "label"],
        [[100 + i, *r, k] for i, (r, k) in enumerate(zip(rows, labels, strict=True))],
    )
    table = csvfile.read_csv_table(path)
    assert table.dropped == ["ImageId"] and table.label == "label"
    assert table.labels.tolist() == labels.tolist() and np.array_equal(table.images, images)


def test_a_headerless_id_column_counting_the_rows_is_left_out(csv_parser, tmp_path):
    images, labels, rows = image_rows()
    path = write_table(
        tmp_path / "ids.csv", None, [[i, k, *r] for i, (r, k) in enumerate(zip(rows, labels, strict=True))]
    )
    ds = datasets.from_csv(path)
    assert ds.labels.tolist() == labels.tolist() and np.array_equal(ds.images, images)


def test_pandas_index_column_and_numbered_header(tmp_path):
    images, labels, rows = image_rows()
    path = write_table(
        tmp_path / "pandas.csv",
        ["", *map(str, range(784)), "target"],
        [[i, *r, k] for i, (r, k) in enumerate(zip(rows, labels, strict=True))],
    )
    ds = datasets.from_csv(path, label_column="target")
    assert ds.labels.tolist() == labels.tolist() and np.array_equal(ds.images, images)


def test_named_label_and_dropped_text_columns(tmp_path):
    images, labels, rows = image_rows()
    path = write_table(
        tmp_path / "named.csv",
        ["file", "digit", *[f"r{i // 28}c{i % 28}" for i in range(784)]],
        [[f"scan{i}.png", k, *r] for i, (r, k) in enumerate(zip(rows, labels, strict=True))],
    )
    ds = datasets.from_csv(path, label_column="digit", drop_columns=["file"])
    assert ds.labels.tolist() == labels.tolist() and np.array_equal(ds.images, images)
    # A string is a comma-separated list everywhere, datasets.load too (it once became the letters f, i, l, e).
    loaded = datasets.load(path, label_column="digit", drop_columns="file")
    assert np.array_equal(loaded.images, images)
    with pytest.raises(
        DataFormatError, match=r"named\.csv: label_column='Digits' is not a column .*did you mean 'digit'"
    ):
        datasets.from_csv(path, label_column="Digits", drop_columns=["file"])
    with pytest.raises(
        DataFormatError, match=r"drop_columns='name' is not a column of the header \('file', 'digit'"
    ):
        datasets.from_csv(path, label_column="digit", drop_columns=["name"])


def test_a_first_row_of_numbers_is_data_never_a_header(tmp_path):
    images, labels, rows = image_rows(3)
    path = write_table(tmp_path / "plain.csv", None, [[k, *r] for r, k in zip(rows, labels, strict=True)])
    assert len(datasets.from_csv(path)) == 3
    floats = write_table(
        tmp_path / "floats.csv",
        None,
        [[k, *(np.asarray(r) / 255).round(4)] for r, k in zip(rows, labels, strict=True)],
    )
    with pytest.raises(
        DataFormatError,
        match=r"floats\.csv: pixels are floats in 0\.\.1 \(line 1, pixel.*save the images \* 255",
    ):
        datasets.from_csv(floats)
    whole = write_table(
        tmp_path / "whole.csv",
        None,
        [[f"{k}.0", *(f"{v}.0" for v in r)] for r, k in zip(rows, labels, strict=True)],
    )
    assert np.array_equal(datasets.from_csv(whole).images, images)


def test_floats_under_a_kaggle_header_get_the_scale_hint(tmp_path):
    _, labels, rows = image_rows(3)
    path = write_table(
        tmp_path / "scaled.csv",
        ["label", *PIXELS],
        [[k, *(np.asarray(r) / 255)] for r, k in zip(rows, labels, strict=True)],
    )
    with pytest.raises(DataFormatError, match=r"save the images \* 255"):
        datasets.from_csv(path)


ZEROS = [0] * 784


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (
            None,
            [[0, 3, *ZEROS], [1, 3, *ZEROS], [2, 3, *[0] * 500, "x", *[0] * 283]],
            r"line 3, column 503: 'x' is not a number",
        ),
        (
            None,
            [[3, *ZEROS], [3, *[0] * 500, "x", *[0] * 283]],
            r"line 2, pixel500: 'x' is not an integer 0\.\.255",
        ),
        (
            ["label", *PIXELS],
            [[3, *[0] * 500, "x", *[0] * 283]],
            r"line 2, pixel500: 'x' is not an integer 0\.\.255",
        ),
        (
            None,
            [[3, *ZEROS], [3, *[0] * 500, "0.5", *[0] * 283]],
            r"line 2, pixel500: '0\.5' is not an integer 0\.\.255 \(pixels in 0\.\.1\?",
        ),
        (["id", "index"], [[1, 2]], r"header has 2 columns, expected 785"),
        (
            ["label", *PIXELS, "source"],
            [[3, *ZEROS, 7]],
            r"header has 786 columns: the label 'label', 785 others.*'source'",
        ),
        (None, [[3, 1, *ZEROS]], r"line 1 has 786 columns, expected 785 .*label_column="),
        (["label", *PIXELS], [[-1, *ZEROS]], r"line 2, label: '-1' is not a non-negative integer"),
        (["label", *PIXELS], [[2.5, *ZEROS]], r"line 2, label: 2\.5 is not a non-negative integer"),
        (["label", *PIXELS], [[2.0, 300.0, *[0] * 783]], r"line 2, pixel0: value 300 is outside 0\.\.255"),
        (["label", *PIXELS], [[2.0, "nan", *[0] * 783]], r"line 2, pixel0: nan is not a pixel 0\.\.255"),
        (
            ["label", *PIXELS],
            [[2.0, 3.5, *[0] * 783]],
            r"line 2, pixel0: 3\.5 is not a whole number 0\.\.255",
        ),
        (["file", "label", *PIXELS], [["a.png", 2, *ZEROS]], r"line 2, file: 'a\.png' is not a number"),
    ],
    ids=[
        "headerless-text",
        "kaggle-text",
        "header-text",
        "float-among-ints",
        "all-ids",
        "extra-column",
        "headerless-786",
        "negative-label",
        "float-label",
        "float-over-255",
        "nan",
        "fraction",
        "text-column",
    ],
)
def test_bad_cells_are_named_by_file_line_and_column(csv_parser, tmp_path, header, rows, message):
    path = write_table(tmp_path / "bad.csv", header, rows)
    with pytest.raises(DataFormatError, match=f"bad.csv: .*{message}"):
        datasets.from_csv(path)


def test_a_label_column_name_for_a_headerless_file_is_refused(tmp_path):
    _, labels, rows = image_rows(3)
    path = write_table(tmp_path / "plain.csv", None, [[k, *r] for r, k in zip(rows, labels, strict=True)])
    with pytest.raises(DataFormatError, match=r"has no header, so label_column='label' names no column"):
        datasets.from_csv(path, label_column="label")
    assert datasets.from_csv(path, label_column="1").labels.tolist() == labels.tolist()


def test_binary_pixels_are_warned_about(tmp_path):
    _, labels, rows = image_rows(3)
    path = write_table(
        tmp_path / "bw.csv",
        ["label", *PIXELS],
        [[k, *(np.asarray(r) > 128).astype(int)] for r, k in zip(rows, labels, strict=True)],
    )
    with pytest.warns(UserWarning, match="every pixel is 0 or 1"):
        datasets.from_csv(path)


def test_the_csv_layout_in_dataset_json_and_on_the_command_line(tmp_path, capsys):
    _, labels, rows = image_rows(20)
    path = write_table(
        tmp_path / "digits.csv",
        ["name", *[f"p{i}" for i in range(784)], "y"],
        [[f"s{i}", *r, k] for i, (r, k) in enumerate(zip(rows, labels, strict=True))],
    )
    code, out, err = run(capsys, "data", "info", path, "--label-column", "y", "--drop-columns", "name")
    assert code == 0, err
    counts = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.strip()[:1].isdigit()}
    assert counts == {str(k): "2" for k in range(10)}
    code, _, err = run(capsys, "data", "info", path, "--label-column", "why")
    assert code == 1 and err.count("\n") == 1
    assert "--label-column why is not a column of the header ('name', 'p0'" in err
    code, _, err = run(capsys, "data", "info", "mnist", "--label-column", "y")
    assert code == 1 and "--label-column applies to CSV files; mnist is registered data" in err
    (tmp_path / "dataset.json").write_text('{"csv": {"label_column": "y", "drop_columns": ["name"]}}')
    assert datasets.load(path).labels.tolist() == labels.tolist()


def test_a_test_folder_without_some_class_folder_is_scored_against_the_training_classes(tmp_path):
    train = class_folders(tmp_path / "train", {"bird": 3, "cat": 3, "dog": 3})
    test = class_folders(tmp_path / "test", {"cat": 2, "dog": 1})
    (test / "bird").mkdir()  # made for symmetry, never filled: not a class of the test folder
    with pytest.warns(UserWarning, match="'bird' holds no"):
        parts = datasets.train_and_test(train, test=test)
    assert parts.test.classes == ["bird", "cat", "dog"]
    assert parts.test.labels.tolist() == [1, 1, 2]


def test_the_command_line_reads_a_folder_with_stray_entries_and_warns(tmp_path, capsys):
    root = class_folders(tmp_path / "digits", {"0": 3, "1": 3})
    (root / ".ipynb_checkpoints").mkdir()
    (root / "checkpoints").mkdir()
    with pytest.warns(UserWarning, match="'checkpoints' holds no PNG, JPEG or BMP image and is not a class"):
        code, out, _ = run(capsys, "data", "info", root)
    assert code == 0
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["0"], ["1"], ["checkpoints"])]
    assert rows == [["0", "3"], ["1", "3"]]


def test_a_label_column_of_class_names(csv_parser, tmp_path):
    images, labels, rows = image_rows(9)
    names = np.array(["cat", "dog", "bird"])[labels % 3]
    path = write_table(
        tmp_path / "pets.csv", ["label", *PIXELS], [[n, *r] for n, r in zip(names, rows, strict=True)]
    )
    ds = datasets.from_csv(path)
    assert ds.classes == ["bird", "cat", "dog"]
    assert [ds.classes[k] for k in ds.labels] == names.tolist() and np.array_equal(ds.images, images)
    given = datasets.from_csv(path, classes=["cat", "dog", "bird", "fish"])  # the user's order wins
    assert [given.classes[k] for k in given.labels] == names.tolist()
    with pytest.raises(
        DataFormatError, match=r"pets\.csv: line 2, label: label 'cat' is not one of the classes"
    ):
        datasets.from_csv(path, classes=["dog", "bird"])
    text = path.read_text()
    path.write_text(text.replace("\ndog,", "\n3,", 1))
    with pytest.raises(
        DataFormatError, match=r"line 3, label: '3' is a number, but line 2's label 'cat' is a class"
    ):
        datasets.from_csv(path)
    path.write_text(text.replace("\ndog,", "\n,", 1))
    with pytest.raises(DataFormatError, match=r"line \d+, label: field is empty \(no class name\)"):
        datasets.from_csv(path)


# --- the practitioner's path through the command line --------------------------------------------------------


@pytest.fixture(scope="module")
def small_digits():
    """scikit-learn's 8x8 digits, upscaled to 24x24 and padded to 28x28 (pixels 0..240): a realistic small set."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.pad(np.kron(digits.images, np.ones((3, 3))) * 15, ((0, 0), (2, 2), (2, 2))).astype(np.uint8)
    return images, digits.target


def test_a_messy_folder_and_an_id_csv_train_a_ten_class_model(small_digits, tmp_path, capsys):
    import json

    images, labels = small_digits
    folder = tmp_path / "folder"
    for i in range(400):
        (folder / str(labels[i])).mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i]).save(folder / str(labels[i]) / f"{i}.png")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / "README.txt").write_text("digits I wrote")
    test = write_table(
        tmp_path / "test.csv",
        ["ImageId", *PIXELS, "label"],
        [[j + 1, *images[i].ravel(), labels[i]] for j, i in enumerate(range(400, 600))],
    )
    code, _, err = run(
        capsys, "train", "--data", folder, "--test", test, "--model", "naive-bayes", "--out", tmp_path / "run"
    )
    assert code == 0, err
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["classes"] == [str(k) for k in range(10)]  # not 11: the checkpoint folder is no class
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_test"] == 200 and metrics["test_accuracy"] > 0.6


def test_a_headerless_label_first_file_is_not_turned_around_by_a_label_like_corner(tmp_path):
    _, _, rows = image_rows(6)
    labels = np.array([3, 5, 3, 5, 3, 5])  # a subset of the digits: not 0..K-1
    rows = [[*r[:-1], i % 2] for i, r in enumerate(rows)]  # the corner pixel alternates 0, 1: label-like
    path = write_table(tmp_path / "first.csv", None, [[k, *r] for r, k in zip(rows, labels, strict=True)])
    ds = datasets.from_csv(path)
    assert ds.labels.tolist() == labels.tolist()


def test_train_and_test_reads_both_csvs_with_the_layout_and_records_it(tmp_path):
    _, labels, rows = image_rows(20)
    header = ["file", *PIXELS, "digit"]
    table = [[f"s{i}.png", *r, k] for i, (r, k) in enumerate(zip(rows, labels, strict=True))]
    train = write_table(tmp_path / "train.csv", header, table)
    test = write_table(tmp_path / "test.csv", header, table[:10])
    parts = datasets.train_and_test(train, test=test, label_column="digit", drop_columns=["file"])
    assert parts.test.labels.tolist() == labels[:10].tolist()
    assert parts.provenance["test"]["label_column"] == "digit"
    assert parts.provenance["train"]["drop_columns"] == ["file"]
    with pytest.raises(ParameterError, match="`label_column` applies to CSV files; mnist is registered data"):
        datasets.train_and_test("mnist", label_column="digit")
