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

N_TRAIN, N_OTHER = 400, 200
LEAKED = 3  # test images also filed among the training images, as happens when folders are copied around


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
    for i in range(LEAKED):
        Image.fromarray(other.images[i]).save(folder / classes[other.labels[i]] / f"copied{i}.png")
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
    assert len(ds) == N_TRAIN + LEAKED and ds.class_counts().min() > 0
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


def predicted_accuracy(stdout: str, data) -> float:
    """The share of ``predict``'s lines whose top class is the image's folder (its label)."""
    lines = [line for line in stdout.splitlines() if ".png: " in line]
    assert len(lines) == len(data), stdout[-2000:]
    right = [line.split("/")[-2] == line.split(": ", 1)[1].split(" ", 1)[0] for line in lines]
    return sum(right) / len(right)


def train_with_defaults(capsys, data, test, out) -> tuple[dict, list[str]]:
    """``mnistlab train`` with cnn-fast's recipe as it comes (seed 0): the run's metrics and the warnings said."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err = run(
            capsys,
            "train",
            "--data",
            data,
            "--test",
            test,
            "--model",
            "cnn-fast",
            "--seed",
            "0",
            "--out",
            out,
        )
    assert code == 0, err
    return json.loads((out / "metrics.json").read_text()), [str(w.message) for w in caught]


def test_the_practitioners_path(own_data, tmp_path, capsys):
    """Train with the recipe's defaults, evaluate on a second folder, health with --test, predict the PNGs."""
    out = tmp_path / "run"
    metrics, said = train_with_defaults(capsys, own_data["folder"], own_data["second"], out)
    # The recipe sizes its schedule by the data: ~200 optimizer steps, not 2 (one epoch of 403 images).
    assert metrics["optimizer_steps"] >= 100 and metrics["test_accuracy"] > 0.9, metrics
    assert not any("too few to trust" in text for text in said)
    record = (out / "metrics.json").read_bytes(), (out / "config.json").read_bytes()

    # Scored on other data: its own folder, the run's record untouched.
    code, stdout, err = run(capsys, "evaluate", out, "--test", own_data["csv"], "--label-column", "digit")
    assert code == 0, err
    side = json.loads((out / "evaluations" / "second.csv" / "metrics.json").read_text())
    assert side["test_accuracy"] == pytest.approx(metrics["test_accuracy"]), "the CSV holds the same digits"
    assert side["data"]["label_column"] == "digit" and side["data"]["rows"] == N_OTHER
    assert ((out / "metrics.json").read_bytes(), (out / "config.json").read_bytes()) == record

    # predict on the same PNGs reads them as stored: the same answers as evaluate.
    pngs = sorted(own_data["second"].rglob("*.png"))
    code, stdout, err = run(capsys, "predict", out, *pngs, "--top", "1")
    assert code == 0, err
    assert "read as stored" in stdout and "MNIST way" not in stdout
    assert predicted_accuracy(stdout, pngs) == pytest.approx(metrics["test_accuracy"])

    # health on the user's own two folders: leakage found, no order verdict from reading class folders, the
    # judge named with its out-of-fold accuracy next to the label-error count.
    report = tmp_path / "health"
    code, stdout, err = run(
        capsys, "health", own_data["folder"], "--test", own_data["second"], "--out", report
    )
    assert code == 0, err
    found = json.loads((report / "health.json").read_text())
    assert "order comes from reading class folders" in stdout and "non_iid_order" in found["no_verdict"]
    judge = found["context"]["suspected_label_errors"]["judge"]
    assert judge["verdict"] and judge["out_of_fold_accuracy"] > 0.85
    assert f"out-of-fold accuracy {judge['out_of_fold_accuracy']:.3f}" in stdout
    # few clean real digits called mislabelled: 5-6 of 403 measured since issue 36 (odd-shaped 7, 4, 1, 3, 2 the
    # 400-image judge is sure of: its own mistakes; the calibrated filter takes them, the old rule took <= 3)
    assert sum(found["suspected_label_errors"].values()) <= 8, "clean real digits are not called mislabelled"
    assert found["exact_duplicate_pairs"] == {"across": LEAKED}, found["exact_duplicate_pairs"]


def test_a_white_paper_model_reads_white_paper_and_warns_on_the_other_polarity(own_data, tmp_path, capsys):
    out = tmp_path / "white"
    metrics, _ = train_with_defaults(capsys, own_data["white"], own_data["white_second"], out)
    assert json.loads((out / "config.json").read_text())["ink"]["polarity"] == "dark-on-light"
    assert metrics["test_accuracy"] > 0.9
    pngs = sorted(own_data["white_second"].rglob("*.png"))
    code, stdout, err = run(capsys, "predict", out, *pngs, "--top", "1")
    assert code == 0, err
    assert predicted_accuracy(stdout, pngs) == pytest.approx(metrics["test_accuracy"]), (
        "not inverted to MNIST's"
    )
    # The same digits in MNIST's polarity, read as stored: scored, with a warning naming the fix.
    with pytest.warns(
        UserWarning, match=r"light-on-dark .* but the model was trained on dark-on-light"
    ) as said:
        code, stdout, err = run(capsys, "evaluate", out, "--test", own_data["second"])
    assert code == 0, err
    assert "invert" in str(said[0].message), "the warning names the fix"
