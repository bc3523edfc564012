"""Data files a user has (issue 37): labels that are not class indices, hold-outs that cannot be made, CSV files
whose line count is far larger than their data, links out of a class folder, and class names that look the same
but are different Unicode text. Each is one clear error (or the same answer whatever the bytes), never a
traceback, a crash or a silently wrong data set."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.datasets import Dataset, csvnumbers
from mnistlab.errors import DataFormatError, MnistlabError, ParameterError


def _npz(path, labels, classes=None):
    labels = np.asarray(labels)
    extra = {"classes": np.array(classes)} if classes is not None else {}
    np.savez(path, images=np.zeros((len(labels), 28, 28), np.uint8), labels=labels, **extra)
    return path


# --- .npz labels --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("classes", [None, ["a", "b", "c"]])
def test_negative_npz_labels_are_refused_naming_the_row(tmp_path, classes):
    path = _npz(tmp_path / "neg.npz", [0, 1, -1, 2], classes)
    with pytest.raises(DataFormatError, match=r"neg.npz: 'labels' row 3 is -1: labels are class indices"):
        datasets.load(path)


@pytest.mark.parametrize(
    ("labels", "hint"),
    [
        (np.zeros((4, 3), np.int64), r"expected \(N,\): one class index per image$"),
        (np.eye(3, dtype=np.int64)[[0, 1, 2, 0]], r"one-hot rows: save labels.argmax\(axis=1\)"),
        (np.zeros((4, 1), np.int64), r"has shape \(4, 1\), expected \(N,\)"),
        (np.zeros((2, 2, 1), np.int64), r"has shape \(2, 2, 1\)"),
    ],
)
def test_npz_labels_that_are_not_one_index_per_image_are_refused(tmp_path, labels, hint):
    path = tmp_path / "multi.npz"
    np.savez(path, images=np.zeros((len(labels), 28, 28), np.uint8), labels=labels)
    with pytest.raises(DataFormatError, match=hint):
        datasets.load(path)


def test_a_uint64_label_beyond_int64_is_not_wrapped_into_a_negative(tmp_path):
    path = _npz(tmp_path / "huge.npz", np.array([0, 2**64 - 1, 1], np.uint64), ["a", "b"])
    with pytest.raises(DataFormatError, match=r"'labels' row 2 is 18446744073709551615, not a class index"):
        datasets.load(path)


def test_negative_labels_from_any_reader_are_one_error():
    with pytest.raises(DataFormatError, match="toy: label -3 of line 2 is negative"):
        datasets.dataset.index_class_names(np.array([1, -3, 0]), "toy")


# --- --test-fraction ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "fraction", "error", "message"),
    [
        ([], 0.2, DataFormatError, r"no images, so nothing to hold out \(test_fraction=0.2\)"),
        (
            [0] * 20,
            0.2,
            DataFormatError,
            "every image is of class '0'; a classifier needs images of two or more",
        ),
        ([3] * 20, 0.2, DataFormatError, "every image is of class '3'"),
        (
            list(range(10)) * 2,
            0.2,
            ParameterError,
            "test_fraction=0.2; expected 0.5 or more; it holds out 4 of 20 images, fewer than its 10",
        ),
        (
            list(range(10)) * 2,
            0.6,
            ParameterError,
            "test_fraction=0.6; expected 0.5 or less; it leaves 8 of 20 images to train on",
        ),
        (
            [0] * 10 + [1] * 10 + [2],
            0.2,
            DataFormatError,
            "class '2' has 1 image; a stratified test_fraction=0.2",
        ),
    ],
)
def test_a_test_fraction_that_cannot_be_held_out_is_one_error_naming_it(
    tmp_path, labels, fraction, error, message
):
    path = _npz(tmp_path / "d.npz", np.array(labels, np.int64))
    with pytest.raises(error, match=message):
        datasets.train_and_test(path, test_fraction=fraction)


def test_the_command_line_names_the_flag_of_a_hold_out_that_cannot_be_made(tmp_path, capsys):
    path = _npz(tmp_path / "d.npz", np.array(list(range(10)) * 2, np.int64))
    code = main(
        [
            "train",
            "--data",
            str(path),
            "--model",
            "logreg",
            "--test-fraction",
            "0.2",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    err = capsys.readouterr().err
    assert (
        code == 1
        and err.count("\n") == 1
        and "--test-fraction 0.2; expected 0.5 or more; it holds out 4 of 20 images" in err
    ), err


def test_a_hold_out_that_can_be_made_still_is(small_dataset):
    train, test = datasets.splits.split_off_test(small_dataset, 0.2)
    assert (len(train), len(test), test.class_counts().tolist()) == (24, 6, [2, 2, 2])
    with pytest.raises(ParameterError, match="val_fraction=1.5; expected a number between 0 and 1"):
        datasets.train_val_split(small_dataset, 1.5)


# --- CSV memory: it grows with the data read, never with a line count ----------------------------------------

HEADER = "label," + ",".join(f"pixel{i}" for i in range(784)) + "\n"
ROW = "3," + ",".join(["0"] * 784) + "\n"
MILLIONS = 2_000_000  # lines: preallocating a row of 784 pixels for each would take 1.5 GB (6 GB as int32)


def _peak_bytes(call):
    """(what ``call`` raised or returned, the peak of Python and numpy allocations while it ran)."""
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            outcome = call()
        except MnistlabError as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "\n" * MILLIONS + ROW, "line 2 is blank; expected 785 fields"),  # Kaggle's layout
        (HEADER + ROW + "\t\n" * MILLIONS, "line 3 is blank"),  # not trailing: tabs are not stripped
        (HEADER + "1\n" * MILLIONS, "line 2 has 1 fields, expected 785"),
        (ROW + "1\n" * MILLIONS, "line 2 has 1 fields, expected 785"),  # no header
        ("id," + HEADER + "1," + ROW + "\n" * MILLIONS + "2," + ROW, "line 3 is blank; expected 786 fields"),
        (HEADER + ROW.replace(",0", ",0.0") + " \n" * MILLIONS + ROW, "line 3 is blank"),  # floats: loadtxt
        (
            "file," + HEADER + "a.png," + ROW + "\n" * MILLIONS + "b.png," + ROW,
            "line 3 is blank",
        ),  # a text column
        (HEADER + "," * 784 + "\n" + ROW, "line 2, label: field is empty"),
    ],
)
def test_millions_of_short_lines_are_refused_before_memory_is_taken_for_them(tmp_path, text, message):
    path = tmp_path / "lines.csv"
    path.write_text(text)
    drop = ["file"] if text.startswith("file,") else None
    outcome, peak = _peak_bytes(lambda: datasets.from_csv(path, drop_columns=drop))
    assert peak < 64 << 20, f"{peak >> 20} MB for a {path.stat().st_size >> 20} MB file"
    assert isinstance(outcome, DataFormatError) and message in str(outcome), outcome


def test_trailing_blank_lines_are_still_fine_and_cost_nothing(tmp_path):
    path = tmp_path / "trailing.csv"
    path.write_text(HEADER + ROW * 3 + "\n" * MILLIONS)
    outcome, peak = _peak_bytes(lambda: datasets.from_csv(path))
    assert len(outcome) == 3 and peak < 64 << 20
    path.write_text(HEADER + "\n" * MILLIONS)
    with pytest.raises(DataFormatError, match="no data rows after the header"):
        datasets.from_csv(path)


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    """12,000 images in Kaggle's layout (22 MB of text, 9.4 MB of pixels)."""
    from mnistlab.datasets.csvfile import write_csv

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12_000, 28, 28), dtype=np.uint8)
    images[:, :4] = 0  # a background for the ink profile
    path = tmp_path_factory.mktemp("big") / "train.csv"
    write_csv(path, images, np.arange(12_000) % 10)
    return path, images


def test_data_info_takes_memory_for_the_images_not_multiples_of_them(big_csv):
    path, images = big_csv
    summary, peak = _peak_bytes(lambda: datasets.summary(path))
    assert summary.sizes == {"train": 12_000} and summary.pixel_stats["train"][0] > 100
    # The images themselves, and chunk-sized temporaries; before, a histogram of int64 copies of every pixel
    # (8 bytes each) and a float copy of 10,000 images for the ink profile (8 bytes each, twice).
    # Chunk-sized temporaries: the numpy parser's (the C loop's are a few MB) stay under 64 MB whatever the size.
    assert peak < 2 * images.nbytes + (64 << 20), f"{peak >> 20} MB for {images.nbytes >> 20} MB of images"


def test_the_statistics_from_the_histogram_are_the_exact_ones(big_csv):
    _, images = big_csv
    ds = Dataset(images, np.arange(len(images)) % 10, [str(k) for k in range(10)])
    flat = images.astype(np.float64)
    assert ds.pixel_stats() == pytest.approx((flat.mean(), flat.std()), rel=1e-12)
    profile = datasets.ink_profile(images)
    sample = images[np.linspace(0, len(images) - 1, 10_000).astype(np.int64)].astype(np.float64)
    assert profile.ink_fraction == np.mean(np.abs(sample - profile.background) > 64)
    assert profile.mean_pixel == pytest.approx(sample.mean(), rel=1e-12)


@pytest.mark.skipif(
    csvnumbers._csvparse is None,
    reason="without the C loop, the numpy parser's chunk temporaries (~50 MB) dominate",
)
def test_reading_a_csv_does_not_keep_the_whole_file_in_memory(big_csv, run_measured):
    """Resident memory (not only Python's allocations): the mapped file's pages are let go as they are parsed,
    so the peak above the interpreter's own is the pixels and a few chunks, less than the file itself."""
    path, _ = big_csv
    code = (
        "from mnistlab import datasets\n"
        "base = next(int(l.split()[1]) // 1024 for l in open('/proc/self/status') if l.startswith('VmRSS'))\n"
        f"print(base, len(datasets.from_csv({str(path)!r})))"
    )
    (line,), peak = run_measured(code)
    base, rows = map(int, line.split())
    assert rows == 12_000
    assert peak - base < (path.stat().st_size >> 20), (peak, base, path.stat().st_size >> 20)


# --- links out of an image folder: one rule for class folders and manifests -----------------------------------


def _png(path, value=0):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((28, 28), value, np.uint8)).save(path)
    return path


@pytest.fixture
def digits(tmp_path):
    """``digits/{0,1}/*.png`` and, beside it (outside), ``private/secret.png``."""
    for k in (0, 1):
        _png(tmp_path / "digits" / str(k) / "a.png", 10 * k)
    _png(tmp_path / "private" / "secret.png", 255)
    return tmp_path / "digits"


def test_an_image_link_out_of_a_class_folder_is_refused(digits):
    (digits / "1" / "b.png").symlink_to(digits.parent / "private" / "secret.png")
    with pytest.raises(DataFormatError, match=r"1/b.png is a link to .*private/secret.png, outside .*digits"):
        datasets.load(digits)


def test_a_class_folder_that_links_out_is_refused(digits):
    (digits / "2").symlink_to(digits.parent / "private")
    with pytest.raises(DataFormatError, match=r"class folder '2' is a link to .*private, outside"):
        datasets.load(digits)


def test_a_link_in_a_loop_is_refused_not_a_traceback(digits):
    (digits / "1" / "loop.png").symlink_to(digits / "1" / "loop.png")
    with pytest.raises(MnistlabError, match="loop.png"):
        datasets.load(digits)


def test_links_that_stay_inside_the_folder_are_read(digits):
    (digits / "1" / "b.png").symlink_to(digits / "0" / "a.png")  # relative or absolute: inside either way
    (digits / "2").symlink_to("0")
    ds = datasets.load(digits)
    assert ds.classes == ["0", "1", "2"] and ds.class_counts().tolist() == [1, 2, 1]


def test_the_manifest_layout_keeps_the_same_rule(digits):
    (digits / "labels.csv").write_text("filename,label\n0/a.png,0\n../private/secret.png,1\n")
    with pytest.raises(DataFormatError, match=r"line 3: '../private/secret.png' is outside"):
        datasets.load(digits)
    (digits / "out.png").symlink_to(digits.parent / "private" / "secret.png")
    (digits / "labels.csv").write_text("filename,label\n0/a.png,0\nout.png,1\n")
    with pytest.raises(DataFormatError, match=r"line 3: 'out.png' is outside"):
        datasets.load(digits)


def test_a_manifest_with_millions_of_blank_lines_fails_at_the_first(digits):
    (digits / "labels.csv").write_text("filename,label\n0/a.png,0\n" + "\n" * MILLIONS + "1/a.png,1\n")
    outcome, peak = _peak_bytes(lambda: datasets.load(digits))
    assert peak < 16 << 20, f"{peak >> 20} MB"
    assert isinstance(outcome, DataFormatError) and "line 3: expected 'filename,label'" in str(outcome)


# --- class names that look the same are the same class (NFC), or refused ----------------------------------------

NFC, NFD = (
    "caf\u00e9",
    "cafe\u0301",
)  # "café" composed (Linux, Windows) and decomposed (file names from macOS)


def test_two_spellings_of_one_name_are_one_class_across_files(tmp_path):
    for root, name in ((tmp_path / "train", NFC), (tmp_path / "test", NFD)):
        for k, cls in enumerate((name, "tea")):
            for i in range(3):
                _png(root / cls / f"{i}.png", 40 * k + i)
    parts = datasets.train_and_test(tmp_path / "train", test=tmp_path / "test")
    assert parts.train.classes == parts.test.classes == [NFC, "tea"]
    assert parts.test.class_counts().tolist() == [3, 3]
    assert datasets.load(tmp_path / "test", classes=[NFC, "tea"]).classes == [NFC, "tea"]
    assert datasets.load(tmp_path / "train", classes=[NFD, "tea"]).class_counts().tolist() == [3, 3]


def test_two_folders_of_one_name_in_two_forms_are_refused(tmp_path):
    for name in (NFC, NFD):
        _png(tmp_path / "d" / name / "0.png")
    with pytest.raises(
        DataFormatError,
        match=r"class names '(caf\\xe9|cafe\\u0301)' and '(caf\\xe9|cafe\\u0301)' .* look the same",
    ):
        datasets.load(tmp_path / "d")


def test_manifest_and_csv_labels_in_either_form_are_one_class(tmp_path):
    folder = tmp_path / "m"
    for i in range(4):
        _png(folder / f"{i}.png", i)
    (folder / "labels.csv").write_text(f"filename,label\n0.png,{NFC}\n1.png,{NFD}\n2.png,tea\n3.png,{NFD}\n")
    ds = datasets.load(folder)
    assert ds.classes == [NFC, "tea"] and ds.labels.tolist() == [0, 0, 1, 0]
    path = tmp_path / "named.csv"
    pixels = ",".join(["0"] * 784)
    path.write_text(
        "label,"
        + ",".join(f"pixel{i}" for i in range(784))
        + "\n"
        + "".join(f"{name},{pixels}\n" for name in (NFD, "tea", NFC))
    )
    ds = datasets.load(path)
    assert ds.classes == [NFC, "tea"] and ds.labels.tolist() == [0, 1, 0]
    assert datasets.load(path, classes=["tea", NFD]).labels.tolist() == [1, 0, 1]


def test_npz_and_given_class_names_are_kept_composed_and_lookalikes_refused(tmp_path):
    path = _npz(tmp_path / "d.npz", [0, 1], [NFD, "tea"])
    assert datasets.load(path).classes == [NFC, "tea"]
    path = _npz(tmp_path / "twice.npz", [0, 1], [NFD, NFC])
    with pytest.raises(DataFormatError, match="look the same: they differ only in Unicode form"):
        datasets.load(path)
    with pytest.raises(DataFormatError, match=r"class names 'A' and '\\uff21'"):
        Dataset(np.zeros((2, 28, 28), np.uint8), np.array([0, 1]), ["A", "\uff21"])  # full-width A
    with pytest.raises(ParameterError, match="classes='tea,coffee'; expected a list of class names"):
        datasets.load(path, classes="tea,coffee")


def test_the_registry_names_in_either_form_are_one_class(tmp_home, tmp_path):
    path = _npz(tmp_path / "d.npz", [0, 1, 0, 1], ["x", "y"])
    registry = tmp_home / "datasets.toml"
    registry.parent.mkdir(parents=True)
    registry.write_text(f'[datasets.drinks]\ntrain = "{path}"\nclasses = ["{NFD}", "tea"]\n')
    assert datasets.load("drinks").classes[:2] == [NFC, "tea"]
    registry.write_text(f'[datasets.drinks]\ntrain = "{path}"\nclasses = ["{NFD}", "{NFC}"]\n')
    with pytest.raises(
        DataFormatError, match=r"datasets.toml: \[datasets.drinks\] classes: class names .* look"
    ):
        datasets.user_datasets()


def test_a_relabel_decision_typed_in_the_other_form_lands_on_the_class(tmp_path):
    from mnistlab.datasets.fixes import apply_fixes, record_decision, start_decisions

    ds = Dataset(np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 0, 1]), [NFC, "tea"], "drinks")
    decisions = tmp_path / "decisions.jsonl"
    start_decisions(decisions, {"train": ds})
    record_decision(decisions, "train", 1, "relabel", label=NFD, reason="it is coffee")
    assert f'"label": "{NFC}"' in decisions.read_text(encoding="utf-8").replace("\\u00e9", "\u00e9")
    fixed, _ = apply_fixes({"train": ds}, decisions)
    assert fixed["train"].labels.tolist() == [0, 0, 0, 1]


def test_npz_class_names_stored_as_bytes_are_their_text(tmp_path):
    path = tmp_path / "bytes.npz"
    np.savez(
        path,
        images=np.zeros((2, 28, 28), np.uint8),
        labels=np.array([0, 1]),
        classes=np.array([b"cat", b"dog"]),
    )
    assert datasets.load(path).classes == ["cat", "dog"]  # not "b'cat'"


@pytest.mark.parametrize("twin", ["cat ", "cat\u00a0", " cat"])
def test_class_folders_that_differ_only_in_spaces_are_refused(tmp_path, twin):
    for name in ("cat", twin):
        _png(tmp_path / "d" / name / "0.png")
    with pytest.raises(DataFormatError, match="look the same.* or in spaces"):
        datasets.load(tmp_path / "d")


def test_a_csv_with_a_text_column_is_read_a_chunk_at_a_time(big_csv, tmp_path):
    """Class names as labels and a file-name column: once a copy of the text, a float of every field and a
    float copy of the pixels (20 times the pixels); now integers and the pixels, a chunk of lines at a time."""
    path, images = big_csv
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    named = tmp_path / "named.csv"
    with open(path) as source, open(named, "w") as out:
        out.write("file," + source.readline())
        for row, line in enumerate(source):
            label, rest = line.split(",", 1)
            out.write(f"img{row}.png,{names[int(label)]},{rest}")
    table, peak = _peak_bytes(lambda: datasets.from_csv(named, drop_columns=["file"]))
    assert table.classes == sorted(names) and np.array_equal(table.images, images)
    assert peak < 6 * images.nbytes + (32 << 20), f"{peak >> 20} MB for {images.nbytes >> 20} MB of images"
