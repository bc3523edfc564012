"""Your own data through the whole workflow from the command line: Kaggle CSVs, PNG folders with a manifest,
npz files; the test data touched once; run folders that remember (and check) their data."""

import json

import pytest

from mnistlab import datasets
from mnistlab.cli.main import main

pytestmark = pytest.mark.realdata


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def kaggle_digits(tmp_path_factory):
    """A digit-recognizer layout pair made from real MNIST: train.csv (labelled), test.csv (no labels)."""
    root = tmp_path_factory.mktemp("kaggle")
    datasets.export(datasets.load("mnist", "train").subset(slice(0, 3000)), root, "kaggle-csv")
    datasets.export(datasets.load("mnist", "test").subset(slice(0, 500)), root, "kaggle-csv")
    (root / "dataset.json").unlink()  # as downloaded from Kaggle: no metadata
    return root


def test_kaggle_digit_recognizer_route(kaggle_digits, tmp_path, capsys):
    header = (kaggle_digits / "test.csv").read_text().splitlines()[0]
    assert header.startswith("pixel0,") and not header.startswith("label")
    out = tmp_path / "softmax"
    code, stdout, err = run(
        capsys,
        "train",
        "--data",
        kaggle_digits / "train.csv",
        "--model",
        "softmax",
        "--test-fraction",
        "0.2",
        "--set",
        "epochs=5",
        "--set",
        "lr=0.003",
        "--seed",
        "0",
        "--out",
        out,
    )
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 2400 and metrics["n_test"] == 600 and metrics["test_accuracy"] > 0.8
    assert "0.2 of" in metrics["splits"]["test"] and "used once" in metrics["splits"]["test"]
    history = json.loads((out / "history.json").read_text())
    assert "val_loss" in history[0], "the recipe's validation hold-out comes from the training part"
    source = json.loads((out / "config.json").read_text())["data_source"]
    assert source["train"]["rows"] == 3000 and source["test"]["fraction"] == 0.2
    code, stdout, _ = run(capsys, "evaluate", out)
    assert code == 0 and stdout.startswith(f"accuracy {metrics['test_accuracy']:.4f}"), "the same 600 images"
    submission = tmp_path / "submission.csv"
    code, stdout, _ = run(
        capsys, "predict", out, "--csv", kaggle_digits / "test.csv", "--submission", submission
    )
    lines = submission.read_text().splitlines()
    assert code == 0 and lines[0] == "ImageId,Label" and len(lines) == 501 and lines[1].startswith("1,")
    code, _, err = run(capsys, "evaluate", out, "--test", kaggle_digits / "test.csv")
    assert code == 1 and "has no labels, so it cannot be scored" in err


def test_a_changed_data_file_is_refused_at_evaluate(kaggle_digits, tmp_path, capsys):
    data = tmp_path / "train.csv"
    data.write_bytes((kaggle_digits / "train.csv").read_bytes())
    out = tmp_path / "run"
    assert (
        run(
            capsys, "train", "--data", data, "--model", "naive-bayes", "--test-fraction", "0.2", "--out", out
        )[0]
        == 0
    )
    lines = data.read_text().splitlines()
    lines[5] = lines[5][:-1] + ("1" if lines[5][-1] == "0" else "0")  # one pixel of one row
    data.write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, "evaluate", out)
    assert code == 1 and "its test data changed since" in err


def test_png_folders_with_a_manifest_and_class_names(tmp_path, capsys):
    """The Kaggle Fashion-MNIST CNN tutorial's route: images written as PNG files with a filename,label table."""
    fashion = {
        split: datasets.load("fashion-mnist-kaggle", split).subset(slice(0, n))
        for split, n in (("train", 1500), ("test", 300))
    }
    for ds in fashion.values():
        datasets.export(ds, tmp_path / "png", "png")
    out = tmp_path / "run"
    code, _, err = run(
        capsys,
        "train",
        "--data",
        tmp_path / "png" / "train",
        "--test",
        tmp_path / "png" / "test",
        "--model",
        "mlp",
        "--epochs",
        "2",
        "--out",
        out,
    )
    assert code == 0, err
    config = json.loads((out / "config.json").read_text())
    assert config["classes"][0] == "T-shirt/top" and config["data_source"]["test"]["rows"] == 300
    code, stdout, _ = run(capsys, "evaluate", out)
    assert code == 0 and "Ankle boot" in stdout


def test_npz_train_and_test_files(tmp_path, capsys):
    for split, n in (("train", 1200), ("test", 200)):
        datasets.export(datasets.load("mnist", split).subset(slice(0, n)), tmp_path, "npz")
    code, stdout, err = run(
        capsys,
        "train",
        "--data",
        tmp_path / "train.npz",
        "--test",
        tmp_path / "test.npz",
        "--model",
        "logreg",
        "--out",
        tmp_path / "run",
    )
    assert code == 0 and float(stdout.split()[2]) > 0.8, err


def test_default_validation_holdout_is_in_the_history(kaggle_digits, tmp_path, capsys):
    code, _, err = run(
        capsys,
        "train",
        "--data",
        kaggle_digits / "train.csv",
        "--test-fraction",
        "0.2",
        "--model",
        "mlp",
        "--epochs",
        "1",
        "--out",
        tmp_path / "run",
    )
    assert code == 0, err
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert {"val_loss", "val_accuracy"} <= set(history[0])
    splits = json.loads((tmp_path / "run" / "metrics.json").read_text())["splits"]
    assert splits["validation"].startswith("0.1 of the training data")


def test_validation_never_overlaps_the_test_data(kaggle_digits):
    parts = datasets.train_and_test(kaggle_digits / "train.csv", test_fraction=0.2, seed=0)
    train, validation = datasets.train_val_split(parts.train, 0.1, seed=0)
    test_rows = {img.tobytes() for img in parts.test.images}
    assert not any(img.tobytes() in test_rows for img in validation.images)
    assert len(train) + len(validation) + len(parts.test) == 3000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--data", "no/such/train.csv"],
            "no registered data set of that name and no such file or folder; expected",
        ),
        (["--data", "{empty}", "--test-fraction", "0.2"], "no class sub-folders and no labels.csv"),
        (["--data", "{train}"], "data from a file needs test data: --test PATH"),
        (
            ["--data", "{train}", "--test-fraction", "1.5"],
            "--test-fraction 1.5; expected a number between 0 and 1",
        ),
        (["--data", "{train}", "--test", "{train}", "--test-fraction", "0.2"], "not both"),
        (["--data", "{train}", "--test", "{fashion}"], "differ from the training data's"),
    ],
)
def test_bad_data_options_write_nothing(kaggle_digits, tmp_path, capsys, args, message):
    (tmp_path / "empty").mkdir()
    fashion = tmp_path / "fashion"
    datasets.export(datasets.load("fashion-mnist-kaggle", "test").subset(slice(0, 20)), fashion, "csv")
    paths = {
        "empty": tmp_path / "empty",
        "train": kaggle_digits / "train.csv",
        "fashion": fashion / "test.csv",
    }
    args = [a.format(**paths) for a in args]
    code, _, err = run(capsys, "train", "--model", "naive-bayes", "--out", tmp_path / "run", *args)
    assert code == 1 and message in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists(), "nothing written"


def test_a_test_class_the_model_never_saw_is_named(tmp_path, capsys):
    ds = datasets.load("mnist", "train").subset(slice(0, 600))
    keep = ds.labels < 9
    datasets.export(
        datasets.Dataset(ds.images[keep], ds.labels[keep], ds.classes, "digits-no-9", "train", kind="digits"),
        tmp_path,
        "npz",
    )
    (tmp_path / "dataset.json").unlink()
    datasets.export(datasets.load("mnist", "test").subset(slice(0, 100)), tmp_path / "t", "npz")
    assert (
        run(
            capsys,
            "train",
            "--data",
            tmp_path / "train.npz",
            "--test-fraction",
            "0.2",
            "--model",
            "naive-bayes",
            "--out",
            tmp_path / "run",
        )[0]
        == 0
    )
    code, _, err = run(capsys, "evaluate", tmp_path / "run", "--test", tmp_path / "t" / "test.npz")
    assert code == 1 and "class '9' never appeared in training" in err
