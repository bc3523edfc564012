"""The command line: thin commands with readable output and one-line errors."""

import numpy as np
import pytest
from PIL import Image

from mnistlab import datasets
from mnistlab.cli.main import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.realdata
def test_data_info_mnist_shows_official_counts(capsys):
    code, out, _ = run(capsys, "data", "info", "mnist")
    assert code == 0
    assert "             5    5421     892" in out
    assert "         total   60000   10000" in out
    assert out.count("sha256 ok") == 4
    assert "train pixels: mean 33.318, std 78.567" in out


@pytest.mark.realdata
def test_data_show_eda_and_export(capsys, tmp_path):
    code, _out, _ = run(
        capsys, "data", "show", "fashion-mnist-kaggle", "--out", str(tmp_path / "g.png"), "--per-class", "2"
    )
    assert code == 0 and Image.open(tmp_path / "g.png").size[0] > 200
    code, _, _ = run(capsys, "data", "eda", "mnist", "--out", str(tmp_path / "rep"))
    assert code == 0 and len(list((tmp_path / "rep" / "mnist").glob("*.png"))) == 4
    code, _, _ = run(
        capsys, "data", "export", "mnist", "--format", "npz", "--out", str(tmp_path / "x"), "--split", "test"
    )
    assert code == 0
    back = datasets.from_npz(tmp_path / "x" / "test.npz")
    np.testing.assert_array_equal(back.images, datasets.load("mnist", "test").images)


def test_data_list_names_every_data_set(capsys, tmp_home):
    code, out, _ = run(capsys, "data", "list")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == datasets.available()
    assert "not cached" in out


def test_errors_are_one_line_without_traceback(capsys, tmp_home, monkeypatch):
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    code, _out, err = run(capsys, "data", "info", "mnist")
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: mnist: ") and "MNISTLAB_OFFLINE=1" in lines[-1]
    assert "Traceback" not in err
    code, _, err = run(capsys, "data", "fetch", "no-such-set")
    assert code == 1 and err.strip() == (
        "error: unknown data set 'no-such-set'; known: mnist, fashion-mnist-kaggle, fashion-mnist."
    )


def test_version_is_the_installed_packages(capsys):
    from importlib.metadata import version

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"mnistlab {version('mnistlab')}"


def test_usage_errors_exit_2(capsys):
    code, _, err = run(capsys, "data", "show", "mnist")
    assert code == 2 and "Missing option '--out'" in err


def test_a_bug_keeps_its_traceback_and_debug_shows_user_errors_in_full(capsys, tmp_home, monkeypatch):
    from mnistlab import workflows

    def broken(*args, **kwargs):
        raise ValueError("a bug deep inside training")

    monkeypatch.setattr(workflows, "train_model", broken)
    with pytest.raises(ValueError, match="a bug deep inside training"):
        main(["train", "--model", "mlp", "--limit", "10"])  # not turned into "error: ..."
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    code, _, err = run(capsys, "--debug", "data", "info", "mnist")
    assert (
        code == 1
        and "Traceback (most recent call last)" in err
        and err.strip().splitlines()[-1].startswith("error: ")
    )


def test_parameter_mistakes_fail_before_any_data_is_loaded(capsys, tmp_home, monkeypatch):
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")  # no data on this machine: a data error would say so instead
    code, _, err = run(capsys, "train", "--model", "mlp", "--set", "epochz=3")
    assert code == 1 and "model 'mlp' has no parameter 'epochz'" in err
    code, _, err = run(capsys, "train", "--model", "cnn", "--set", "augment=shift=1,flip")
    assert code == 1 and "horizontal flips turn digits" in err
    code, _, err = run(capsys, "train", "--model", "mlp", "--set", "lr")
    assert code == 1 and "--set 'lr': expected KEY=VALUE" in err


def test_data_list_reads_cache_state_from_the_structured_status(capsys, tmp_home, monkeypatch):
    from mnistlab.datasets import FileStatus, cache

    monkeypatch.setattr(
        cache, "check_file", lambda folder, spec, rehash=False: FileStatus(spec.name, True, True, "odd")
    )
    code, out, _ = run(capsys, "data", "list")
    assert code == 0 and all(" cached " in line for line in out.splitlines())
