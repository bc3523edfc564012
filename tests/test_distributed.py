"""Training on several processes (torchrun, PyTorch DDP over gloo on loopback) and checkpoints that let a killed or
restarted job continue: the same result as one uninterrupted process, one run written, clear errors otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from mnistlab.errors import DataFormatError, ParameterError
from mnistlab.models import TorchClassifier
from mnistlab.training import Callback
from mnistlab.training.distributed import ProcessGroup, launched


def _data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is which half is brighter: learnable in a few epochs."""
    X = np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return X, (X[:, :, :14].mean((1, 2)) > X[:, :, 14:].mean((1, 2))).astype(int)


class InterruptAt(Callback):
    """Ctrl-C as epoch ``epoch`` begins: the epochs before it are finished and checkpointed."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_begin(self, state) -> None:
        if state.epoch == self.epoch:
            raise KeyboardInterrupt


RECIPE = dict(
    width=8,
    epochs=6,
    threads=1,
    validation_split=0.2,
    early_stopping=10,
    schedule="onecycle",
    augment="shift=2",
)


@pytest.mark.filterwarnings("ignore:cnn trains only")
def test_a_training_resumed_from_its_checkpoint_is_the_uninterrupted_training(tmp_path):
    X, y = _data()
    whole = TorchClassifier("cnn", **RECIPE).fit(X, y)
    checkpoint = tmp_path / "run.ckpt"
    stopped = TorchClassifier("cnn", checkpoint=checkpoint, callbacks=[InterruptAt(4)], **RECIPE).fit(X, y)
    assert stopped.interrupted_ and len(stopped.history_) == 3 and checkpoint.is_file()
    resumed = TorchClassifier("cnn", checkpoint=checkpoint, **RECIPE).fit(X, y)
    # the schedule, the batches, the augmentation, dropout and the best weights all continue where they were
    assert [row["val_loss"] for row in resumed.history_] == [row["val_loss"] for row in whole.history_]
    assert len(resumed.step_history_) == len(whole.step_history_)
    assert resumed.best_epoch_ == whole.best_epoch_
    np.testing.assert_array_equal(resumed.predict_proba(X), whole.predict_proba(X))


@pytest.mark.filterwarnings("ignore:softmax trains only")
def test_a_checkpoint_of_another_training_is_refused_naming_it(tmp_path):
    X, y = _data()
    checkpoint = tmp_path / "run.ckpt"
    TorchClassifier("softmax", epochs=2, threads=1, checkpoint=checkpoint).fit(X, y)
    with pytest.raises(DataFormatError, match=r"run\.ckpt: this checkpoint was written by another training"):
        TorchClassifier("softmax", epochs=2, lr=0.01, threads=1, checkpoint=checkpoint).fit(X, y)
    with pytest.raises(DataFormatError, match="another training"):  # other data
        TorchClassifier("softmax", epochs=2, threads=1, checkpoint=checkpoint).fit(X[::-1], y[::-1])


@pytest.mark.filterwarnings("ignore:softmax trains only")
def test_a_broken_checkpoint_file_is_a_clear_error(tmp_path):
    X, y = _data(100)
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(DataFormatError, match=r"garbage\.ckpt: not a readable mnistlab checkpoint"):
        TorchClassifier("softmax", epochs=1, threads=1, checkpoint=garbage).fit(X, y)
    stranger = tmp_path / "tensor.ckpt"
    torch.save(torch.zeros(3), stranger)
    with pytest.raises(DataFormatError, match=r"tensor\.ckpt: not a mnistlab checkpoint"):
        TorchClassifier("softmax", epochs=1, threads=1, checkpoint=stranger).fit(X, y)
    fifo = tmp_path / "fifo.ckpt"
    os.mkfifo(fifo)
    with pytest.raises(DataFormatError, match=r"fifo\.ckpt: not a regular file"):
        TorchClassifier("softmax", epochs=1, threads=1, checkpoint=fifo).fit(X, y)
    with pytest.raises(ParameterError, match="checkpoint"):
        TorchClassifier("softmax", checkpoint=3).fit(X, y)


def test_each_process_takes_its_share_of_every_batch():
    order = torch.arange(10)
    shares = [ProcessGroup(rank, 2, 2).shard(lambda n, g: order[:n])(10, None) for rank in (0, 1)]
    # together, each pair of local batches of 2 is exactly one batch of 4 that one process would take
    assert shares[0].tolist() == [0, 2, 4, 6, 8] and shares[1].tolist() == [1, 3, 5, 7, 9]
    odd = [ProcessGroup(rank, 2, 2).shard(lambda n, g: order[:n])(5, None) for rank in (0, 1)]
    assert [len(share) for share in odd] == [3, 3]  # padded: no process runs a step the others do not
    with pytest.raises(ParameterError, match="batch_size=100; expected a multiple of the 3 processes"):
        ProcessGroup(0, 3, 3).local_batch(100)


def test_torchrun_environment_is_read_and_checked(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert launched() is None
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("RANK", "0")
    assert launched() is None  # one process: the plain loop
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert launched() == ProcessGroup(2, 4, 2)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ParameterError, match="RANK=4 and WORLD_SIZE=4"):
        launched()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ParameterError, match="WORLD_SIZE='two' is not a whole number"):
        launched()


def _torchrun(
    args: list[str], cwd: Path, env: dict | None = None, restarts: int = 0
) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        f"--max-restarts={restarts}", *args,
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    environment.pop("WORLD_SIZE", None)
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900)


@pytest.fixture
def npz_data(tmp_path) -> Path:
    X, y = _data(2000, seed=1)
    path = tmp_path / "halves.npz"
    np.savez(path, images=X, labels=y)
    return path


TRAIN = ["--model", "softmax", "--epochs", "8", "--test-fraction", "0.2", "--seed", "3"]


@pytest.mark.slow
def test_two_processes_train_what_one_does_and_write_one_run(tmp_path, npz_data):
    one = subprocess.run(
        [sys.executable, "-m", "mnistlab", "train", "--data", str(npz_data), *TRAIN, "--out", "one"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    two = _torchrun(["-m", "mnistlab", "train", "--data", str(npz_data), *TRAIN, "--out", "two"], tmp_path)
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("run saved in two") == 1  # rank 0 reports; rank 1 trains and says nothing
    assert two.stderr.count("test accuracy") == 1 and two.stderr.count("epoch   8/8") == 1
    runs = {name: json.loads((tmp_path / name / "history.json").read_text()) for name in ("one", "two")}
    # softmax has no dropout: the same batches, the gradients averaged, the same steps up to float rounding
    for a, b in zip(runs["one"], runs["two"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-4)
    metrics = [json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("one", "two")]
    assert metrics[0]["test_accuracy"] == pytest.approx(metrics[1]["test_accuracy"], abs=0.005)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["halves.npz", "one", "two"]


DYING = textwrap.dedent(
    """
    import json, logging, os, sys
    from pathlib import Path
    from mnistlab.models import TorchClassifier
    from mnistlab.training import Callback, distributed
    import numpy as np

    class DieOnce(Callback):  # rank 1 dies as epoch 4 begins, the first time only (a lost machine)
        def on_epoch_begin(self, state):
            marker = Path("died")
            if state.epoch == 4 and os.environ["RANK"] == "1" and not marker.exists():
                marker.touch()
                os._exit(1)

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data = np.load(sys.argv[1])
    clf = TorchClassifier("cnn-fast", epochs=6, threads=1, validation_split=0.2, checkpoint="job.ckpt",
                          callbacks=[DieOnce()]).fit(data["images"], data["labels"])
    if distributed.is_writer():
        Path("history.json").write_text(json.dumps([round(r["val_loss"], 6) for r in clf.history_]))
    """
)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_a_job_whose_process_dies_restarts_and_continues_from_its_checkpoint(tmp_path, npz_data):
    (tmp_path / "job.py").write_text(DYING)
    result = _torchrun(["job.py", str(npz_data)], tmp_path, restarts=1)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "died").exists()  # a process did die, and torchrun restarted the job
    assert "resumed from job.ckpt after epoch 3" in result.stderr
    resumed = json.loads((tmp_path / "history.json").read_text())
    assert len(resumed) == 6
    # the same job never interrupted: the same history (cnn-fast's dropout differs per process, so the
    # comparison is within a tolerance, and both runs use two processes)
    (tmp_path / "died").touch()
    (tmp_path / "job.ckpt").unlink()
    again = _torchrun(["job.py", str(npz_data)], tmp_path)
    assert again.returncode == 0, again.stderr
    whole = json.loads((tmp_path / "history.json").read_text())
    assert resumed == pytest.approx(whole, abs=1e-4)


@pytest.mark.slow
def test_two_processes_stream_from_shards_what_one_process_streams(tmp_path):
    from mnistlab import datasets
    from mnistlab.datasets.shards import export_split

    X, y = _data(2000, seed=4)
    classes = ["right", "left"]
    export_split(
        datasets.Dataset(X[:1600], y[:1600], classes, "halves", "train"), tmp_path / "shards", shard_rows=300
    )
    export_split(datasets.Dataset(X[1600:], y[1600:], classes, "halves", "test"), tmp_path / "shards")
    args = ["--data", "shards", "--model", "softmax", "--epochs", "6", "--seed", "3"]
    one = subprocess.run(
        [sys.executable, "-m", "mnistlab", "train", *args, "--out", "one"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert one.returncode == 0, one.stderr
    two = _torchrun(["-m", "mnistlab", "train", *args, "--out", "two"], tmp_path)
    assert two.returncode == 0, two.stderr
    runs = {name: json.loads((tmp_path / name / "history.json").read_text()) for name in ("one", "two")}
    # each process takes its rows of every batch the stream gives: together, one process's batches
    for a, b in zip(runs["one"], runs["two"], strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-4)
