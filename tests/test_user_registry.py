"""Naming your own data once (``datasets.register``) and using the name everywhere."""

import os

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.datasets import Dataset
from mnistlab.errors import DataFormatError, DataNotAvailableError, ParameterError


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


# A damaged registry is one line naming the file, the entry and the field; never a traceback, never "no
# registry" (which the next register() would overwrite, losing the user's entries).
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[datasets.mine]\ntrain = 5\n", r"\[datasets.mine\] train = 5: expected a path"),
        ("[datasets.mine]\ntrain = ['a.csv']\n", r"\[datasets.mine\] train = \['a.csv'\]: expected a path"),
        (
            "[datasets.mine]\ntrain = 'a.csv'\ntest = true\n",
            r"\[datasets.mine\] test = true: expected a path",
        ),
        ("[datasets.mine]\ntrain = ''\n", r"\[datasets.mine\] train = '': expected a path"),
        ("[datasets.mine]\ntrain = 'a.csv'\nclasses = 'cat'\n", r"classes = 'cat': expected a list of class"),
        (
            "[datasets.mine]\ntrain = 'a.csv'\nclasses = [0, 1]\n",
            r"classes = \[0, 1\]: expected a list of class",
        ),
        ("[datasets.mine]\ntrain = 'a.csv'\nclasses = ['a', 'a']\n", "class name 'a' is given twice"),
        ("[datasets.mine]\ntrain = 'a.csv'\nkind = 'faces'\n", r"kind = 'faces': expected one of 'digits'"),
        (
            "[datasets.mine]\ntrain = 'a.csv'\ntrain_sha256 = 7\n",
            r"train_sha256 = 7: expected 64 lowercase hex",
        ),
        ("[datasets.mine]\ntrain = 'a.csv'\ntset = 'b.csv'\n", r"\[datasets.mine\]: unknown field 'tset'"),
        ("[datasets.mine]\ntest = 'a.csv'\n", r"\[datasets.mine\]: no train field"),
        (
            "[datasets]\nmine = 'a.csv'\n",
            r"\[datasets.mine\]: expected a table with train = 'PATH', got text",
        ),
        ("datasets = 3\n", "'datasets' must hold \\[datasets.NAME\\] tables, got a number"),
        (
            "[dataset.mine]\ntrain = 'a.csv'\n",
            "unknown table 'dataset'; expected \\[datasets.NAME\\] tables only",
        ),
        (
            "[datasets.mnist]\ntrain = 'a.csv'\n",
            r"\[datasets.mnist\]: expected lowercase letters.*not a built-in",
        ),
        ("[datasets.\"My Data\"]\ntrain = 'a.csv'\n", r'\[datasets."My Data"\]: expected lowercase letters'),
    ],
)
def test_a_damaged_registry_is_one_error_naming_the_field_and_is_never_overwritten(
    tmp_home, files, capsys, text, message
):
    registry = tmp_home / "datasets.toml"
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_text(text)
    with pytest.raises(DataFormatError, match=f"datasets.toml: .*{message}"):
        datasets.user_datasets()
    with pytest.raises(DataFormatError, match=message):
        datasets.register("bands", files / "train.csv")
    assert registry.read_text() == text  # the user's own file, as it was
    assert main(["data", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "dangling-link"])
def test_a_registry_that_is_not_a_regular_file_is_refused_not_read_as_empty(tmp_home, files, kind):
    registry = tmp_home / "datasets.toml"
    registry.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(registry)  # a blocking open would wait for a writer forever (pytest-timeout ends that)
    elif kind == "dev-zero":
        registry.symlink_to("/dev/zero")
    elif kind == "folder":
        registry.mkdir()
    else:
        registry.symlink_to(tmp_home / "moved-away.toml")
    with pytest.raises(DataFormatError, match="datasets.toml: "):
        datasets.user_datasets()
    with pytest.raises(DataFormatError, match="datasets.toml: "):
        datasets.register("bands", files / "train.csv")
    assert os.path.lexists(registry) and (registry.is_symlink() or kind in ("fifo", "folder"))


def test_a_registry_linked_from_elsewhere_is_written_through_the_link(tmp_home, tmp_path, files):
    dotfiles = tmp_path / "dotfiles" / "datasets.toml"
    dotfiles.parent.mkdir()
    dotfiles.write_text("[datasets.old]\ntrain = 'somewhere.csv'\n")
    tmp_home.mkdir(parents=True, exist_ok=True)
    (tmp_home / "datasets.toml").symlink_to(dotfiles)
    datasets.register("bands", files / "train.csv")
    assert (tmp_home / "datasets.toml").is_symlink()
    assert set(datasets.user_datasets()) == {"old", "bands"}
    assert '[datasets."bands"]' in dotfiles.read_text()


def test_registered_paths_and_names_read_back_exactly_whatever_their_characters(tmp_home, tmp_path, files):
    odd = tmp_path / 'quote " back \\ tab \t del \x7f emoji \U0001f600 e\u0301'
    odd.mkdir()
    (odd / "train.csv").write_bytes((files / "train.csv").read_bytes())
    entry = datasets.register("bands", odd / "train.csv", classes=["left", "middle", "right"])
    assert datasets.user_datasets()["bands"] == entry
    assert len(datasets.load("bands")) == 90


def test_a_registry_path_is_a_path_never_a_name(tmp_home, files):
    registry = tmp_home / "datasets.toml"
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_text("[datasets.loop]\ntrain = 'loop'\n[datasets.alias]\ntrain = 'mnist'\n")
    for name in ("loop", "alias"):  # read as files named so (relative to the registry's folder): not found
        with pytest.raises(DataNotAvailableError, match="no such file or folder"):
            datasets.load(name)
    registry.write_text("[datasets.near]\ntrain = 'd/train.csv'\n")
    (tmp_home / "d").symlink_to(files)
    assert len(datasets.load("near")) == 90  # relative to the registry's folder, not the working one


def test_register_refuses_a_class_string(tmp_home, files):
    with pytest.raises(ParameterError, match="classes='abc'; expected a list of class names"):
        datasets.register("bands", files / "train.csv", classes="abc")
    assert not (tmp_home / "datasets.toml").exists()


def test_a_damaged_registry_blocks_names_not_paths(tmp_home, files):
    registry = tmp_home / "datasets.toml"
    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_text("[datasets.mine]\ntrain = 5\n")
    assert len(datasets.load(files / "train.csv")) == 90  # a path is never a name: the registry is not read
    with pytest.raises(DataFormatError, match=r"\[datasets.mine\] train = 5"):
        datasets.load("mine")
