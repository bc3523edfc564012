"""The practitioner's path end to end on a small MNIST-shaped data set of their own (issue 35).

A few hundred real MNIST digits written the way people's own data arrives: a class folder with a hidden
sub-folder and stray files, a second folder to score on, a white-background copy and a CSV with an id column.
Each step (load, train with the default recipe, evaluate on the second folder, health with ``--test``, predict
on the same PNGs) must give right numbers or the named warning, never a silent wrong answer.
"""

import json
import warnings

import numpy as np
import pytest
from PIL import Image

from mnistlab import datasets
from mnistlab.cli.main import main

pytestmark = pytest.mark.realdata

N_TRAIN, N_OTHER = 600, 300


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def write_class_folder(root, images, labels, classes, prefix: str = "img"):
    """``root/<class>/<prefix>NNNN.png``, as a user's scans are filed."""
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        Image.fromarray(image).save(root / classes[label] / f"{prefix}{i:04d}.png")
    return root


@pytest.fixture(scope="module")
def own_data(tmp_path_factory):
    """Folders and a CSV made from real MNIST digits (a stratified sample of each split)."""
    root = tmp_path_factory.mktemp("own")
    train, other = datasets.load("mnist", "train"), datasets.load("mnist", "test")
    train = train.subset(datasets.stratified_sample(train.labels, N_TRAIN, seed=1))
    other = other.subset(datasets.stratified_sample(other.labels, N_OTHER, seed=2))
    classes = train.classes
    folder = write_class_folder(root / "digits", train.images, train.labels, classes)
    (folder / ".ipynb_checkpoints").mkdir()  # what Jupyter leaves behind: never a class
    (folder / "README.txt").write_text("scanned at the office, 2026\n")
    (folder / "3" / "notes.txt").write_text("a stray file among the images\n")
    second = write_class_folder(root / "second", other.images, other.labels, classes)
    white = write_class_folder(root / "white", 255 - train.images, train.labels, classes)
    white_second = write_class_folder(root / "white-second", 255 - other.images, other.labels, classes)
    # A CSV laid out another way: an id column first, the label last.
    pixels = other.images.reshape(len(other.images), -1)
    header = ",".join(["id", *(f"p{i}" for i in range(784)), "digit"])
    rows = [
        ",".join(map(str, [1000 + i, *row, label]))
        for i, (row, label) in enumerate(zip(pixels, other.labels, strict=True))
    ]
    csv = root / "second.csv"
    csv.write_text("\n".join([header, *rows]) + "\n")
    return dict(
        root=root, folder=folder, second=second, white=white, white_second=white_second, csv=csv, other=other
    )


def test_the_folder_reads_as_ten_classes_and_names_what_it_left_out(own_data):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = datasets.load(own_data["folder"])
    assert ds.classes == [str(k) for k in range(10)], "no phantom class from .ipynb_checkpoints"
    assert len(ds) == N_TRAIN and ds.class_counts().min() > 0
    said = " ".join(str(w.message) for w in caught)
    assert "3/notes.txt" in said, (
        "a stray file among the images is named (a README beside the folders is not)"
    )


def test_the_csv_with_an_id_column_reads_the_same_digits(own_data):
    ds = datasets.load(own_data["csv"], label_column="digit")
    assert np.array_equal(ds.images, own_data["other"].images)
    assert np.array_equal(ds.labels, own_data["other"].labels)


def test_a_csv_named_columns_are_recorded_and_read_again(own_data, tmp_path, capsys):
    """train --label-column reads a CSV whose label column has another name; evaluate reads it the same way."""
    out = tmp_path / "run"
    code, _, err = run(
        capsys,
        "train",
        "--data",
        own_data["csv"],
        "--label-column",
        "digit",
        "--test-fraction",
        "0.25",
        "--model",
        "naive-bayes",
        "--out",
        out,
    )
    assert code == 0, err
    source = json.loads((out / "config.json").read_text())["data_source"]
    assert source["train"]["label_column"] == "digit"
    code, stdout, err = run(capsys, "evaluate", out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert code == 0 and stdout.startswith(f"accuracy {metrics['test_accuracy']:.4f}"), err
