"""Data-set health: duplicates, leakage, conflicting labels, label errors, odd images."""

import json
import re

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.datasets import Dataset
from mnistlab.quality import exact_duplicates, near_duplicates, odd_images, suspected_label_errors


def test_exact_duplicates_are_grouped_with_their_labels():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    images[7] = images[2]
    images[9] = images[2]
    images[5] = images[1]
    groups = exact_duplicates(images, np.array([0, 1, 2, 3, 4, 9, 6, 2, 8, 2]))
    assert [(g.indices, g.conflicting, g.pairs) for g in groups] == [([1, 5], True, 1), ([2, 7, 9], False, 3)]


def test_near_duplicates_relative_to_each_class():
    """A slightly changed copy is found; a tight class of look-alikes (thin "1"s) does not flood the list."""
    rng = np.random.default_rng(1)
    spread = rng.integers(0, 256, (60, 28, 28)).astype(np.uint8)  # class 0: far apart
    base = np.zeros((28, 28), np.uint8)
    base[4:24, 13:15] = 200
    ones = np.clip(base[None] + rng.integers(0, 40, (60, 28, 28)), 0, 255).astype(np.uint8)  # class 1: alike
    images = np.concatenate([spread, ones])
    images[5] = np.clip(images[3].astype(int) + 1, 0, 255)  # a near copy inside class 0
    labels = np.repeat([0, 1], 60)
    pairs = near_duplicates(images, labels, near_ratio=0.2)
    assert [(i, j) for i, j, _ in pairs] == [(3, 5)]


def test_flipped_labels_are_suspected(blobs):
    _, y = blobs(300)
    proba = np.eye(3)[y] * 0.9 + 0.05
    flipped = np.array([10, 50, 200])
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + 1) % 3
    assert sorted(suspected_label_errors(proba, noisy).tolist()) == flipped.tolist()


def test_odd_images():
    images = np.zeros((4, 28, 28), np.uint8)
    images[1] = 255
    images[2] = 7
    images[3, 0, 0] = 1
    ds = Dataset(images, np.array([0, 1, 0, 1]), ["a", "b"])
    assert odd_images(ds) == {"empty": [0], "saturated": [1], "constant": [2]}


def test_health_of_a_file_end_to_end(tmp_path, blobs, capsys):
    X, y = blobs(240)
    X[100] = X[3]  # a duplicate inside train
    noisy = y.copy()
    noisy[[20, 77]] = (y[[20, 77]] + 1) % 3  # two wrong labels
    datasets.export(Dataset(X, noisy, ["left", "middle", "right"], "bands", "train"), tmp_path / "d", "npz")
    code = main(
        [
            "health",
            str(tmp_path / "d" / "train.npz"),
            "--model",
            "logreg",
            "--folds",
            "3",
            "--skip",
            "near",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "exact duplicate pairs: train 1" in out, out
    report = json.loads((tmp_path / "out" / "health.json").read_text())
    assert report["suspected_label_errors"]["train"] >= 2
    # every check scores the data set (share of images not flagged); the command line ends with the table
    scores = report["scores"]
    assert scores["exact_duplicate_pairs"] == pytest.approx(1 - 1 / 240)
    assert scores["suspected_label_errors"] == pytest.approx(
        1 - report["suspected_label_errors"]["train"] / 240
    )
    # every check but the one about image-folder files (an npz has none) scores the data set, and says what
    # its score is
    meta = {"images", "scores", "score_meanings", "context", "warnings", "no_verdict"}
    assert set(scores) == set(report) - meta - {"original_files"} == set(report["score_meanings"])
    # the judge named, with its out-of-fold accuracy, beside the counts (health.json and the command line)
    judge = report["context"]["suspected_label_errors"]["judge"]
    assert judge["model"] == "logreg" and judge["chosen"] == "named by the user" and judge["verdict"]
    assert f"judge logreg, out-of-fold accuracy {judge['out_of_fold_accuracy']:.3f}" in out
    assert "data-set score" in out and re.search(rf"exact_duplicate_pairs +{1 - 1 / 240:.4f}", out), out
    findings = (tmp_path / "out" / "findings.csv").read_text()
    assert "suspected label error,train,20," in findings and "suspected label error,train,77," in findings
    assert (tmp_path / "out" / "duplicates.png").exists() and (
        tmp_path / "out" / "label_errors_train.png"
    ).exists()


def test_bad_inputs_are_named(tmp_path, capsys, blobs):
    X, y = blobs(30)
    datasets.export(Dataset(X, np.zeros(30, int), ["only"], "one", "train"), tmp_path / "one", "npz")
    datasets.export(Dataset(X, y, ["a", "b", "c"], "three", "train"), tmp_path / "three", "npz")
    for args, message in [
        (["health", str(tmp_path / "one" / "train.npz")], "one class only"),
        (["health", str(tmp_path / "nothing.csv")], "no such file or folder"),
        (
            ["health", str(tmp_path / "three" / "train.npz"), "--model", "sgd"],
            "model 'sgd' gives no probabilities",
        ),
        (
            ["health", str(tmp_path / "three" / "train.npz"), "--near-ratio", "2"],
            "--near-ratio 2.0; expected",
        ),
    ]:
        code = main(args)
        assert code == 1 and message in capsys.readouterr().err, args


@pytest.mark.realdata
def test_fashion_mnist_kaggle_duplicates_as_documented():
    from mnistlab.workflows import health

    report = health("fashion-mnist-kaggle", skip="label,groups,near")
    assert report.duplicate_pairs() == {"train": 43, "test": 1, "across": 10, "across conflicting": 1}
