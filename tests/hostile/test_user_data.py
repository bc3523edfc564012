"""Data files a user has (issue 37): labels that are not class indices, hold-outs that cannot be made, CSV files
whose line count is far larger than their data, links out of a class folder, and class names that look the same
but are different Unicode text. Each is one clear error (or the same answer whatever the bytes), never a
traceback, a crash or a silently wrong data set."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.errors import DataFormatError, ParameterError


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
            "test_fraction=0.2 holds out 4 of 20 images, fewer than its 10",
        ),
        (list(range(10)) * 2, 0.6, ParameterError, "test_fraction=0.6 leaves 8 of 20 images to train on"),
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
    assert code == 1 and err.count("\n") == 1 and "--test-fraction 0.2 holds out 4 of 20 images" in err, err


def test_a_hold_out_that_can_be_made_still_is(small_dataset):
    train, test = datasets.sources.split_off_test(small_dataset, 0.2)
    assert (len(train), len(test), test.class_counts().tolist()) == (24, 6, [2, 2, 2])
    with pytest.raises(ParameterError, match="val_fraction=1.5; expected a number between 0 and 1"):
        datasets.train_val_split(small_dataset, 1.5)
