"""Nothing a user has is overwritten without asking, and nothing is lost to a full disk, a read-only home or a
stop: runs, exports and the cache."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from mnistlab import datasets, models, runs
from mnistlab.cli.main import main
from mnistlab.errors import MnistlabError, RunError


def digest(folder: Path) -> dict:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


@pytest.fixture
def toy(tmp_path, blobs) -> str:
    X, y = blobs(90)
    datasets.export(datasets.Dataset(X, y, ["a", "b", "c"], "toy", "train"), tmp_path / "data", "npz")
    return str(tmp_path / "data" / "train.npz")


def train(toy, out, model="naive-bayes", *extra):
    return main(
        ["train", "--data", toy, "--model", model, "--test-fraction", "0.3", "--out", str(out), *extra]
    )


def test_a_folder_with_a_user_s_own_results_is_not_written_over(toy, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "metrics.json").write_text('{"my": "notes"}')
    assert train(toy, mine) == 1
    assert "holds metrics.json but no run" in capsys.readouterr().err
    assert (mine / "metrics.json").read_text() == '{"my": "notes"}'
    assert train(toy, mine, "naive-bayes", "--overwrite") == 0  # asked: replaced
    assert runs.load_run(mine).metrics["test_accuracy"] > 0


def test_export_never_replaces_a_file_it_did_not_write(toy, tmp_path, capsys):
    out = tmp_path / "export"
    out.mkdir()
    (out / "train.csv").write_text("my own file\n")
    assert main(["data", "export", toy, "--format", "csv", "--out", str(out)]) == 1
    assert "was not written by an export" in capsys.readouterr().err
    assert (out / "train.csv").read_text() == "my own file\n"
    assert main(["data", "export", toy, "--format", "csv", "--out", str(out), "--overwrite"]) == 0
    assert main(["data", "export", toy, "--format", "csv", "--out", str(out)]) == 0  # its own file: fine


def test_overwriting_a_pytorch_run_with_a_scikit_learn_one_leaves_no_old_weights(toy, tmp_path):
    pytest.importorskip("onnxruntime")
    from mnistlab.serve import load_onnx

    out = tmp_path / "run"
    assert train(toy, out, "mlp", "--epochs", "1") == 0
    load_onnx(out)  # model.onnx and its signature beside the weights
    assert (out / "weights.safetensors").exists() and (out / "model.onnx").exists()
    assert train(toy, out, "naive-bayes", "--overwrite") == 0
    left = {p.name for p in out.iterdir()}
    assert {"weights.safetensors", "model.onnx", "model.onnx.sig"}.isdisjoint(left) and "model.skops" in left
    assert runs.load_run(out).config["kind"] == "sklearn"
    pytest.importorskip("fastapi")
    from mnistlab.serve.app import create_app

    create_app(out)  # serve takes the new run (it refused the mixed folder before)


@pytest.mark.parametrize("kind", ["torch", "sklearn"])
def test_a_full_disk_while_saving_keeps_the_old_run(toy, tmp_path, blobs, disk_full, kind):
    import skops.io

    from mnistlab.runs import store

    out = tmp_path / "run"
    X, y = blobs(60)
    model = "mlp" if kind == "torch" else "naive-bayes"
    params = {"epochs": 1, "threads": 1} if kind == "torch" else {}
    runs.save(out, models.create(model, **params).fit(X, y), model=model, data="toy", classes=["a", "b", "c"])
    before = digest(out)
    if kind == "torch":
        disk_full(store, "save_tensors")
    else:
        disk_full(skops.io, "dump")
    with pytest.raises(RunError, match="No space left on device.*keeps what it held"):
        runs.save(
            out, models.create(model, **params).fit(X, y), model=model, data="toy", classes=["a", "b", "c"]
        )
    assert digest(out) == before and not list(out.glob(".*.tmp"))


def test_a_full_disk_during_an_export_keeps_the_old_files(toy, tmp_path, disk_full):
    from PIL import Image

    train_set = datasets.load(toy)
    out = tmp_path / "export"
    npz = datasets.export(train_set, out, "npz")
    png = datasets.export(train_set, out, "png")
    before_npz, before_png = npz.read_bytes(), sorted(p.name for p in png.iterdir())
    disk_full(np, "savez_compressed")
    with pytest.raises(OSError, match="No space"):
        datasets.export(train_set, out, "npz")
    assert npz.read_bytes() == before_npz  # np.savez_compressed wrote in place and destroyed it
    disk_full(Image.Image, "save")
    with pytest.raises(OSError, match="No space"):
        datasets.export(train_set, out, "png")
    assert sorted(p.name for p in png.iterdir()) == before_png and (png / "labels.csv").is_file()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    assert datasets.load(png).images.shape == train_set.images.shape


def test_a_read_only_home_fails_before_training_a_scikit_learn_run(toy, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("MNISTLAB_HOME", str(blocker / "home"))  # nothing can be created under it
    assert train(toy, tmp_path / "run", "naive-bayes") == 1
    err = capsys.readouterr().err
    assert "cannot create this machine's key" in err and "MNISTLAB_HOME" in err
    assert not (tmp_path / "run").exists()


def test_a_verification_that_cannot_be_recorded_is_no_error(tmp_path, monkeypatch):
    from mnistlab.datasets import cache

    (tmp_path / "f").write_bytes(b"x")

    def read_only(*_args, **_kwargs):
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(cache, "write_json", read_only)
    cache._record_verified(tmp_path, "f", "0" * 64)  # logged, not raised


def test_a_stopped_training_is_marked_interrupted_in_the_run(toy, tmp_path, monkeypatch):
    from mnistlab.training import loop
    from mnistlab.workflows import evaluate_run, report_run, train_model

    real = loop.train

    def stopped(*args, **kwargs):  # as SIGTERM does: the loop ends early and says so
        result = real(*args, **kwargs)
        result.interrupted = True
        return result

    monkeypatch.setattr("mnistlab.models.torch_classifier.train", stopped)
    train_model(
        toy, "mlp", test_fraction=0.3, params={"epochs": 2, "threads": 1}, out=tmp_path / "run", verbose=0
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["interrupted"] is True and metrics["epochs_completed"] == 2
    evaluate_run(tmp_path / "run")
    assert "Training was interrupted after 2 epochs" in report_run(tmp_path / "run").read_text()


def test_a_full_disk_in_evaluate_and_report_keeps_what_was_there(toy, tmp_path, monkeypatch):
    """Every other file mnistlab writes goes through fileio.atomic_write: when the last step (the rename) fails
    as on a full disk, the old file stays whole and no temporary file is left. (The sweep's tables, the same way:
    hostile/test_sweeps.py::test_a_full_disk_while_writing_the_tables_keeps_the_old_ones.)"""
    import errno
    import os

    from mnistlab import fileio
    from mnistlab.workflows import evaluate_run, report_run, train_model

    out = tmp_path / "run"
    train_model(toy, "naive-bayes", test_fraction=0.3, out=out, verbose=0)
    evaluate_run(out)
    page = report_run(out)
    before, page_before = digest(out), page.read_bytes()

    def no_space(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", no_space)
    for work in (lambda: evaluate_run(out), lambda: report_run(out)):
        with pytest.raises((OSError, MnistlabError), match="No space"):
            work()
    assert main(["evaluate", str(out)]) == 1  # the command line: one line, no traceback
    monkeypatch.setattr(fileio.os, "replace", os.replace)
    assert digest(out) == before and page.read_bytes() == page_before
    assert not [p for p in out.rglob(".*") if p.name.endswith(".tmp")]


def test_a_new_run_folder_is_not_left_empty_by_a_full_disk(toy, tmp_path, blobs, disk_full):
    import skops.io

    disk_full(skops.io, "dump")
    X, y = blobs(60)
    with pytest.raises(RunError, match="No space left"):
        runs.save(
            tmp_path / "new",
            models.create("naive-bayes").fit(X, y),
            model="naive-bayes",
            data="toy",
            classes=["a", "b", "c"],
        )
    assert not (tmp_path / "new").exists()
