"""Naming your own data once (``datasets.register``) and using the name everywhere."""

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.datasets import Dataset
from mnistlab.errors import DataFormatError, ParameterError


@pytest.fixture
def files(tmp_path, blobs):
    X, y = blobs(120)
    datasets.export(
        Dataset(X[:90], y[:90], ["left", "middle", "right"], "bands", "train"), tmp_path / "d", "csv"
    )
    datasets.export(
        Dataset(X[90:], y[90:], ["left", "middle", "right"], "bands", "test"), tmp_path / "d", "csv"
    )
    return tmp_path / "d"


def test_a_registered_name_works_like_a_built_in_one(tmp_home, files, tmp_path, capsys):
    entry = datasets.register("bands", files / "train.csv", test=files / "test.csv")
    assert entry["train_sha256"] == datasets.fingerprint(datasets.from_csv(files / "train.csv"))
    assert '[datasets."bands"]' in (tmp_home / "datasets.toml").read_text()
    parts = datasets.train_and_test("bands")
    assert (len(parts.train), len(parts.test)) == (90, 30) and parts.train.classes == [
        "left",
        "middle",
        "right",
    ]
    assert main(["train", "--data", "bands", "--model", "logreg", "--out", str(tmp_path / "run")]) == 0
    assert "test accuracy 1.0000" in capsys.readouterr().out
    assert main(["data", "list"]) == 0 and "bands" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "run")]) == 0 and "middle" in capsys.readouterr().out


def test_a_registered_file_that_changed_is_refused(tmp_home, files):
    datasets.register("bands", files / "train.csv")
    text = (files / "train.csv").read_text().splitlines()
    text[1] = "2" + text[1][1:]  # one label changed
    (files / "train.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DataFormatError, match="its content changed since it was registered as 'bands'"):
        datasets.train_and_test("bands", test_fraction=0.2)


def test_registration_mistakes(tmp_home, files):
    with pytest.raises(ParameterError, match="not a built-in name"):
        datasets.register("mnist", files / "train.csv")
    with pytest.raises(ParameterError, match="expected lowercase letters"):
        datasets.register("My Data", files / "train.csv")
    datasets.register("bands", files / "train.csv")
    with pytest.raises(ParameterError, match="registered without test data; give test=PATH or test_fraction"):
        datasets.load("bands", "test")
    (tmp_home / "datasets.toml").write_text("[datasets.x\n")
    with pytest.raises(DataFormatError, match="datasets.toml: not valid TOML"):
        datasets.load("anything")
    assert np.all(datasets.from_csv(files / "train.csv").labels < 3)
