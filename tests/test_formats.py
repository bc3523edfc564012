"""Round trips of every format, and every kind of bad input with a message naming file, row and field."""

import gzip
import shutil

import numpy as np
import pytest
from PIL import Image

from mnistlab import datasets
from mnistlab.datasets.idx import write_idx
from mnistlab.errors import DataFormatError

HEADER = "label," + ",".join(f"pixel{i}" for i in range(784))


def csv_row(label, pixels):
    return ",".join(str(v) for v in ([label] if label is not None else []) + list(pixels))


@pytest.fixture(params=["c", "numpy"])
def csv_parser(request, monkeypatch):
    """Every CSV test runs through the C loop and through the numpy parser used where it was not built."""
    from mnistlab.datasets import csvnumbers

    if request.param == "numpy":
        monkeypatch.setattr(csvnumbers, "_csvparse", None)
    elif csvnumbers._csvparse is None:
        pytest.skip("the C extension was not built (no compiler at install time)")
    return request.param


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler, so no extension to check")
def test_csv_c_extension_was_built():
    from mnistlab.datasets import csvnumbers

    assert csvnumbers._csvparse is not None, "pip install -e . should have built mnistlab.datasets._csvparse"


@pytest.mark.parametrize("fmt", ["csv", "idx", "png", "npz"])
def test_export_round_trip_is_exact(tmp_path, small_dataset, fmt, csv_parser):
    target = datasets.export(small_dataset, tmp_path, fmt)
    reader = {
        "csv": datasets.from_csv,
        "png": datasets.from_image_folder,
        "npz": datasets.from_npz,
        "idx": lambda p: datasets.from_idx(p, p.with_name(p.name.replace("images-idx3", "labels-idx1"))),
    }[fmt]
    back = reader(target)
    np.testing.assert_array_equal(back.images, small_dataset.images)
    np.testing.assert_array_equal(back.labels, small_dataset.labels)
    assert back.classes == small_dataset.classes
    assert back.name == "toy" and back.split == "train"


def test_csv_variants_header_offsets_and_unlabelled(tmp_path, small_dataset, csv_parser):
    flat = small_dataset.flat()
    one_based = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
    for name, header in [("zero.csv", HEADER), ("one.csv", one_based), ("none.csv", None)]:
        lines = ([header] if header else []) + [
            csv_row(y, x) for y, x in zip(small_dataset.labels, flat, strict=True)
        ]
        (tmp_path / name).write_text("\r\n".join(lines) + "\r\n\n")
        ds = datasets.from_csv(tmp_path / name)
        np.testing.assert_array_equal(ds.images, small_dataset.images)
        np.testing.assert_array_equal(ds.labels, small_dataset.labels)
    test_header = ",".join(f"pixel{i}" for i in range(784))
    (tmp_path / "test.csv").write_text(test_header + "\n" + "\n".join(csv_row(None, x) for x in flat))
    unlabelled = datasets.from_csv(tmp_path / "test.csv")
    assert unlabelled.labels is None
    np.testing.assert_array_equal(unlabelled.images, small_dataset.images)


def test_csv_parser_handles_many_chunks(tmp_path, monkeypatch, csv_parser):
    from mnistlab.datasets import csvfile, csvnumbers

    monkeypatch.setattr(csvnumbers, "_CHUNK_BYTES", 5000)  # forces a chunk boundary every few rows
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 50)
    csvfile.write_csv(tmp_path / "a.csv", images, labels)
    back_images, back_labels = csvfile.read_csv(tmp_path / "a.csv")
    np.testing.assert_array_equal(back_images, images)
    np.testing.assert_array_equal(back_labels, labels)


def test_the_c_loop_reads_well_formed_files_alone(tmp_path, monkeypatch, small_dataset):
    """Without this, a C loop that rejected every chunk would pass every test through the numpy parser."""
    from mnistlab.datasets import csvnumbers

    if csvnumbers._csvparse is None:
        pytest.skip("the C extension was not built (no compiler at install time)")
    datasets.export(small_dataset, tmp_path, "csv")

    def refuse(*args):
        raise AssertionError("the numpy parser was asked to read a well-formed chunk")

    monkeypatch.setattr(csvnumbers, "_parse_chunk", refuse)
    np.testing.assert_array_equal(datasets.from_csv(tmp_path / "train.csv").images, small_dataset.images)


def write_csv_lines(tmp_path, rows, header=HEADER):
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(([header] if header else []) + rows) + "\n")
    return path


GOOD = csv_row(3, [0] * 784)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([GOOD, csv_row(1, [0] * 783)], r"bad.csv: line 3 has 784 fields, expected 785"),
        ([GOOD, GOOD + ",7"], r"line 3 has 786 fields, expected 785"),
        (
            [GOOD, csv_row(2, [0] * 10 + ["1.5"] + [0] * 773)],
            r"line 3, pixel10: '1.5' is not an integer 0..255",
        ),
        ([csv_row(2, [0] * 5 + ["nan"] + [0] * 778)], r"line 2, pixel5: 'nan' is not an integer 0..255"),
        ([csv_row(2, [0] * 5 + ["-3"] + [0] * 778)], r"line 2, pixel5: '-3' is not an integer"),
        ([csv_row(2, [0] * 783 + [256])], r"line 2, pixel783: value 256 is outside 0..255"),
        ([GOOD, csv_row("x", [0] * 784)], r"line 3, label: 'x' is not a non-negative integer"),
        ([GOOD, csv_row(1, [0] * 3 + [""] + [0] * 780)], r"line 3, pixel3: field is empty"),
        ([], r"no data rows after the header"),
    ],
)
def test_bad_csv_rows_are_named(tmp_path, rows, message, csv_parser):
    with pytest.raises(DataFormatError, match=message):
        datasets.from_csv(write_csv_lines(tmp_path, rows))


def test_unusual_but_valid_csv_fields(tmp_path, csv_parser):
    """Labels beyond one byte, zero-padded pixels and a last line without newline: the C loop hands these to
    the careful parser or reads them itself; either way the values are right."""
    rows = [csv_row(300, [7] * 784), csv_row(4, ["007"] * 783 + ["0255"])]
    path = tmp_path / "odd.csv"
    path.write_text(HEADER + "\n" + "\r\n".join(rows))
    ds = datasets.from_csv(path, classes=[str(k) for k in range(301)])  # named: 299 empty classes are meant
    assert ds.labels.tolist() == [300, 4] and len(ds.classes) == 301
    assert ds.images[0].min() == ds.images[0].max() == 7
    assert ds.images[1].ravel()[:-1].tolist() == [7] * 783 and ds.images[1].ravel()[-1] == 255
    path.write_text(HEADER + "\n" + csv_row(1, [0] * 784) + "\n" + csv_row(123456789, [0] * 784) + "\n")
    with pytest.raises(DataFormatError, match="odd.csv: label 123456789 of line 3 is not a class index"):
        datasets.from_csv(path)
    path.write_text(HEADER + "\n" + csv_row(1234567890, [0] * 784) + "\n")
    with pytest.raises(DataFormatError, match="line 2, label: field is a number too large"):
        datasets.from_csv(path)
    path.write_text(HEADER + "\n" + csv_row(1, [0] * 784) + "\r\r\n" + csv_row(1, [0] * 784) + "\n")
    with pytest.raises(DataFormatError, match="line 2, pixel783"):
        datasets.from_csv(path)


def test_bad_csv_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    with pytest.raises(DataFormatError, match="empty.csv: file is empty"):
        datasets.from_csv(empty)
    with pytest.raises(DataFormatError, match="header has 11 columns"):
        datasets.from_csv(write_csv_lines(tmp_path, [GOOD], header=",".join(["label"] + ["p"] * 10)))
    with pytest.raises(DataFormatError, match="header column 3 is 'pixelX', expected 'pixel1'"):
        names = HEADER.split(",")
        names[2] = "pixelX"
        datasets.from_csv(write_csv_lines(tmp_path, [GOOD], header=",".join(names)))
    with pytest.raises(DataFormatError, match="line 1 has 10 columns"):
        datasets.from_csv(write_csv_lines(tmp_path, ["1,2,3,4,5,6,7,8,9,0"], header=None))
    with pytest.raises(DataFormatError, match="cannot read"):
        datasets.from_csv(tmp_path / "missing.csv")


def test_csv_label_outside_given_classes(tmp_path):
    path = write_csv_lines(tmp_path, [GOOD, csv_row(7, [0] * 784)])
    with pytest.raises(DataFormatError, match=r"bad.csv: label 7 of row 2 is outside the 4 classes"):
        datasets.from_csv(path, classes=["a", "b", "c", "d"])


def test_idx_bad_inputs(tmp_path):
    images = np.zeros((3, 28, 28), np.uint8)
    good = tmp_path / "images-idx3-ubyte"
    write_idx(good, images)
    raw = good.read_bytes()
    cases = {
        "magic": (b"\x00\x00\x09\x03" + raw[4:], "bad magic number 0x00000903"),
        "truncated": (raw[:-100], r"truncated: 2268 bytes, the header \(3, 28, 28\) promises 2368"),
        "empty": (b"", "file is empty"),
        "short": (b"\x00\x00", "shorter than an IDX header"),
    }
    for name, (payload, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(payload)
        with pytest.raises(DataFormatError, match=message):
            datasets.from_idx(path)
    labels = tmp_path / "labels-idx1-ubyte"
    write_idx(labels, np.zeros(3, np.uint8))
    with pytest.raises(DataFormatError, match="1 dimensions, expected images"):
        datasets.from_idx(labels)
    write_idx(tmp_path / "few-labels", np.zeros(2, np.uint8))
    with pytest.raises(DataFormatError, match="2 labels for 3 images"):
        datasets.from_idx(good, tmp_path / "few-labels")
    write_idx(tmp_path / "wide", np.zeros((2, 28, 30), np.uint8))
    with pytest.raises(DataFormatError, match=r"shape \(N, 28, 28\)"):
        datasets.from_idx(tmp_path / "wide")
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataFormatError, match="bad.gz: not a readable gzip file"):
        datasets.from_idx(tmp_path / "bad.gz")


def test_idx_gz_reads(tmp_path, small_dataset):
    write_idx(tmp_path / "i.gz", small_dataset.images)
    write_idx(tmp_path / "l.gz", small_dataset.labels)
    assert gzip.decompress((tmp_path / "i.gz").read_bytes())[:4] == b"\x00\x00\x08\x03"
    ds = datasets.from_idx(tmp_path / "i.gz", tmp_path / "l.gz")
    np.testing.assert_array_equal(ds.images, small_dataset.images)


def test_image_folder_by_class_rgb_and_resize(tmp_path):
    rng = np.random.default_rng(1)
    for cls in ["cat", "dog"]:
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (28, 28, 3), dtype=np.uint8), "RGB").save(
                tmp_path / cls / f"{i}.png"
            )
    ds = datasets.from_image_folder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    expected = np.asarray(Image.open(tmp_path / "dog" / "2.png").convert("L"))
    np.testing.assert_array_equal(ds.images[5], expected)
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(tmp_path / "dog" / "big.jpg")
    with pytest.raises(
        DataFormatError, match=r"big.jpg: image is 30x40, expected 28x28; .* preprocess='mnist'"
    ):
        datasets.from_image_folder(tmp_path)
    assert len(datasets.from_image_folder(tmp_path, preprocess="resize")) == 7
    with pytest.warns(DeprecationWarning, match="preprocess='resize'"):
        assert len(datasets.from_image_folder(tmp_path, resize=True)) == 7


def test_image_folder_bad_inputs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataFormatError, match="broken.png: not a readable image"):
        datasets.from_image_folder(tmp_path)
    with pytest.raises(DataFormatError, match="no class sub-folders"):
        datasets.from_image_folder(tmp_path / "a")
    manifest_dir = tmp_path / "m"
    manifest_dir.mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(manifest_dir / "x.png")
    (manifest_dir / "labels.csv").write_text("filename,label\nx.png,Coat\n")
    with pytest.raises(DataFormatError, match=r"line 2: label 'Coat' is not one of the classes \['0', '1'\]"):
        datasets.from_image_folder(manifest_dir, classes=["0", "1"])
    (manifest_dir / "labels.csv").write_text("filename,label\nmissing.png,1\n")
    with pytest.raises(DataFormatError, match="missing.png: image file not found"):
        datasets.from_image_folder(manifest_dir)
    (manifest_dir / "labels.csv").write_text("name,class\nx.png,1\n")
    with pytest.raises(DataFormatError, match="expected a header 'filename,label'"):
        datasets.from_image_folder(manifest_dir)
    (manifest_dir / "labels.csv").write_text("filename,label\nx.png\n")
    with pytest.raises(DataFormatError, match="line 2: expected 'filename,label'"):
        datasets.from_image_folder(manifest_dir)


@pytest.mark.parametrize("name", ["../outside.png", "{outside}", "link.png", "sub/../../outside.png"])
def test_manifest_refuses_images_outside_its_folder(tmp_path, name):
    """A manifest someone hands over must not read files beside or above its folder: ../, absolute paths, and
    links inside the folder that point out of it."""
    folder = tmp_path / "m"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(np.full((28, 28), 7, np.uint8)).save(tmp_path / "outside.png")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(folder / "inside.png")
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(folder / "sub" / "deeper.png")
    (folder / "link.png").symlink_to(tmp_path / "outside.png")
    name = name.format(outside=tmp_path / "outside.png")
    (folder / "labels.csv").write_text(f"filename,label\ninside.png,0\nsub/deeper.png,0\n{name},1\n")
    with pytest.raises(
        DataFormatError, match=r"labels.csv: line 4: .* is outside .*; a manifest names images inside"
    ):
        datasets.from_image_folder(folder)
    (folder / "labels.csv").write_text("filename,label\ninside.png,0\nsub/deeper.png,1\n")
    assert len(datasets.from_image_folder(folder)) == 2, "files in sub-folders are inside"


def test_manifest_with_class_names_keeps_order(tmp_path):
    for i, value in enumerate([10, 20, 30]):
        Image.fromarray(np.full((28, 28), value, np.uint8)).save(tmp_path / f"img{i}.png")
    (tmp_path / "labels.csv").write_text("filename,label\nimg2.png,Bag\nimg0.png,Coat\nimg1.png,Bag\n")
    ds = datasets.from_image_folder(tmp_path)
    assert ds.classes == ["Bag", "Coat"]
    assert ds.labels.tolist() == [0, 1, 0]
    assert ds.images[:, 0, 0].tolist() == [30, 10, 20]


def test_npz_bad_inputs(tmp_path):
    np.savez(tmp_path / "no_images.npz", pixels=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DataFormatError, match="no 'images' array"):
        datasets.from_npz(tmp_path / "no_images.npz")
    np.savez(tmp_path / "range.npz", images=np.full((1, 28, 28), 300, np.int32))
    with pytest.raises(DataFormatError, match=r"'images' must hold whole numbers 0..255 \(found 300..300\)"):
        datasets.from_npz(tmp_path / "range.npz")
    np.savez(tmp_path / "obj.npz", images=np.array([None], dtype=object))
    with pytest.raises(DataFormatError, match="obj.npz: 'images' holds Python objects"):
        datasets.from_npz(tmp_path / "obj.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataFormatError, match="junk.npz: not a readable .npz"):
        datasets.from_npz(tmp_path / "junk.npz")
