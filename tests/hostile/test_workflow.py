"""Options and interruptions: wrong values are named before any work, nothing a user has is lost."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mnistlab import datasets, models, runs
from mnistlab.cli.main import main


def run(capsys, *args):
    code = main(list(args))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model", "mlp", "--limit", "0"], "--limit 0; expected an integer >= 1"),
        (["train", "--model", "mlp", "--limit", "-5"], "--limit -5; expected an integer >= 1"),
        (["train", "--model", "mlp", "--epochs", "0"], "epochs=0; expected an integer >= 1"),
        (["train", "--model", "mlp", "--set", "batch_size=-3"], "batch_size=-3; expected an integer >= 1"),
        (["train", "--model", "mlp", "--set", "batch_size=0"], "batch_size=0; expected an integer >= 1"),
        (["train", "--model", "mlp", "--set", "width=0"], "width=0; expected an integer >= 1"),
        (["train", "--model", "mlp", "--set", "lr=abc"], "lr='abc'; expected a number > 0"),
        (["train", "--model", "mlp", "--threads", "-1"], "threads=-1; expected an integer >= 1"),
        (["detect", "--models", ","], "no models to study"),
        (["detect", "--target-precision", "1.5"], "--target-precision 1.5; expected a number > 0 and <= 1"),
        (["denoise", "--noise", "-50"], "--noise -50; expected an integer >= 1 and <= 255"),
        (["multilabel", "--limit", "-1"], "--limit -1"),
    ],
)
def test_bad_options_are_named_before_any_data_is_read(capsys, tmp_home, monkeypatch, args, message):
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")  # reading data would fail differently
    code, err = run(capsys, *args)
    assert code == 1 and message in err and "Traceback" not in err, err


def test_out_is_checked_before_training(capsys, tmp_home, monkeypatch, tmp_path, blobs):
    monkeypatch.setenv("MNISTLAB_OFFLINE", "1")
    (tmp_path / "a-file").write_text("x")
    code, err = run(capsys, "train", "--model", "mlp", "--out", str(tmp_path / "a-file"))
    assert code == 1 and "a-file: is a file" in err
    X, y = blobs(60)
    runs.save(
        tmp_path / "old", models.create("logreg").fit(X, y), model="logreg", data="toy", classes=list("abc")
    )
    code, err = run(capsys, "train", "--model", "mlp", "--out", str(tmp_path / "old"))
    assert code == 1 and "already holds a run; choose another --out, or --overwrite" in err
    assert (tmp_path / "old" / "model.skops").exists(), "the old run is untouched"
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, err = run(capsys, "train", "--model", "mlp", "--out", str(locked / "run"))
        assert code == 1 and "cannot write the run there" in err


def test_an_existing_submission_is_not_overwritten(capsys, tmp_path, blobs):
    X, y = blobs(60)
    runs.save(
        tmp_path / "run", models.create("logreg").fit(X, y), model="logreg", data="toy", classes=list("abc")
    )
    (tmp_path / "test.csv").write_text("\n".join(",".join(map(str, img.ravel())) for img in X[:3]) + "\n")
    (tmp_path / "submission.csv").write_text("precious")
    args = ["predict", str(tmp_path / "run"), "--csv", str(tmp_path / "test.csv")]
    code, err = run(capsys, *args, "--submission", str(tmp_path / "submission.csv"))
    assert code == 1 and "exists; choose another --submission PATH, or --overwrite" in err
    assert (tmp_path / "submission.csv").read_text() == "precious"
    code, err = run(capsys, *args, "--submission", str(tmp_path))
    assert code == 1 and "is a folder; the submission is a file" in err
    assert run(capsys, *args, "--submission", str(tmp_path / "submission.csv"), "--overwrite")[0] == 0
    assert (tmp_path / "submission.csv").read_text().startswith("ImageId,Label")


@pytest.mark.slow
def test_sigterm_during_training_keeps_the_history(tmp_path):
    code = (
        "import logging, sys, numpy as np\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
        "from mnistlab import models\n"
        "rng = np.random.default_rng(0)\n"
        "X, y = rng.integers(0, 255, (4000, 28, 28)).astype(np.uint8), np.arange(4000) % 3\n"
        "clf = models.create('mlp', epochs=1000, batch_size=8, threads=1, verbose=1).fit(X, y)\n"
        "print(clf.interrupted_, len(clf.history_))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for line in child.stderr:  # wait for the first epoch to end
        if line.startswith("epoch") or "epoch   1/" in line:
            break
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0, "stopped as Ctrl-C stops training, not killed"
    interrupted, epochs = out.split()
    assert interrupted == "True" and int(epochs) >= 1


def test_leftovers_of_a_killed_fetch_are_removed(tmp_home, http_server, monkeypatch):
    import hashlib

    from mnistlab.datasets.idx import idx_bytes
    from mnistlab.datasets.registry import REGISTRY, SPLIT_FILES, DatasetInfo, FileSpec, HttpMirror

    raw = {
        name: idx_bytes(np.zeros((2, 28, 28) if "images" in name else 2, np.uint8))
        for pair in SPLIT_FILES.values()
        for name in pair
    }
    specs = tuple(FileSpec(n, hashlib.sha256(b).hexdigest(), f"{n}.gz") for n, b in raw.items())
    info = DatasetInfo(
        name="toy",
        description="toy",
        classes=["a", "b"],
        split_sizes={"train": 2, "test": 2},
        files=specs,
        mirrors=(HttpMirror(f"{http_server.base_url}/a/"),),
        license="-",
        citation="-",
        homepage="-",
        kind="objects",
    )
    monkeypatch.setitem(REGISTRY, "toy", info)
    for name, body in raw.items():
        http_server.serve(f"/a/{name}.gz", gzip.compress(body))
    folder = tmp_home / "toy"
    (folder / ".npm-abc123" / "unpacked").mkdir(parents=True)
    (folder / ".npm-abc123" / "unpacked" / "big.json").write_bytes(b"x" * 1000)
    (folder / ".download-xyz").mkdir()
    (folder / ".train-images-idx3-ubyte.123-abcd.tmp").write_bytes(b"half")
    datasets.load("toy")
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == [".lock"]


def test_two_data_sets_never_share_an_export_folder(tmp_path, small_dataset):
    from mnistlab.datasets import Dataset
    from mnistlab.errors import DataFormatError

    datasets.export(small_dataset, tmp_path, "npz")
    other = Dataset(small_dataset.images, small_dataset.labels, ["x", "y", "z"], "other", "train")
    with pytest.raises(DataFormatError, match="already holds data set 'toy'"):
        datasets.export(other, tmp_path, "csv")
    assert json.loads((tmp_path / "dataset.json").read_text())["classes"] == small_dataset.classes


def test_a_stale_onnx_export_is_never_served(tmp_path, blobs, fast):
    pytest.importorskip("onnxruntime")
    from mnistlab.serve import load_onnx

    X, y = blobs()
    first = models.create("mlp", **fast, seed=1).fit(X, y)
    runs.save(tmp_path / "run", first, model="mlp", data="toy", classes=list("abc"))
    np.testing.assert_allclose(
        load_onnx(tmp_path / "run").predict_proba(X), first.predict_proba(X), atol=1e-5
    )
    second = models.create("mlp", **fast, seed=2).fit(X, y)
    runs.save(tmp_path / "run", second, model="mlp", data="toy", classes=list("abc"))
    os.utime(tmp_path / "run" / "weights.safetensors", (0, 0))  # older than the export: mtime cannot tell
    time.sleep(0.01)
    np.testing.assert_allclose(
        load_onnx(tmp_path / "run").predict_proba(X), second.predict_proba(X), atol=1e-5
    )


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cv", "--model", "naive-bayes", "--folds", "1", "--limit", "300"], "--folds 1; expected 2.."),
        (["multilabel", "--limit", "3"], "3 training images; the 5-nearest-neighbour model needs at least 5"),
        (
            ["data", "show", "mnist", "--out", "x.png", "--n", "0"],
            "--n 0; expected an integer >= 1 and <= 400",
        ),
        (["data", "show", "mnist", "--out", "x.png", "--per-class", "100000"], "per_class=100000; expected"),
        (["evaluate", "nowhere", "--top", "-5"], "--top -5; expected an integer >= 1"),
    ],
)
def test_bad_options_with_real_data(capsys, args, message):
    code, err = run(capsys, *args)
    assert code == 1 and message in err and "Traceback" not in err, err


def test_ctrl_c_while_the_command_line_starts_exits_quietly(monkeypatch, capsys):
    import types

    from mnistlab import cli

    class Interrupted(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt

    monkeypatch.setitem(sys.modules, "mnistlab.cli.main", Interrupted("mnistlab.cli.main"))
    with pytest.raises(SystemExit) as stop:
        cli.entry()
    assert stop.value.code == 130 and capsys.readouterr().err.strip() == "interrupted"


def test_an_unwritable_cache_is_named(tmp_home, monkeypatch):
    from pathlib import Path

    from mnistlab.errors import DataNotAvailableError

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)  # as a read-only cache would (root ignores file modes)
    with pytest.raises(
        DataNotAvailableError, match="cannot write to the cache \\(Permission denied\\); set MNISTLAB_HOME"
    ):
        datasets.fetch("mnist")
