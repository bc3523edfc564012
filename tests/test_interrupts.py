"""Ctrl-C and SIGTERM in loops of fits: one ``train`` stops and keeps its best weights, but a loop of fits (cv,
a sweep, the label-error judge) stops altogether, keeping what finished; before, the loop went on with the next
fit and only ``kill -9`` could stop the command."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mnistlab import datasets, models
from mnistlab.parallel import in_loop_of_fits, loop_of_fits
from mnistlab.training import loop

# 3 epochs of a few images: few optimizer steps on purpose (the fits must be short, their warning says so)
pytestmark = pytest.mark.filterwarnings("ignore:.*too few to trust:UserWarning")


def interrupt_on_epoch(monkeypatch, fit: int, epoch: int = 2) -> list[int]:
    """Raise KeyboardInterrupt (as Ctrl-C does) in the given epoch of the given fit; returns the fits started."""
    real, started = loop._train_epoch, []

    def epoch_of(*args):
        if args[0].epoch == 1:
            started.append(len(started) + 1)
        if len(started) == fit and args[0].epoch == epoch:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(loop, "_train_epoch", epoch_of)
    return started


def test_one_fit_keeps_its_weights_but_a_loop_of_fits_stops(monkeypatch, blobs):
    X, y = blobs(120)
    started = interrupt_on_epoch(monkeypatch, fit=1)
    alone = models.create("mlp", epochs=3, batch_size=32, threads=1, validation_split=0).fit(X, y)
    assert alone.interrupted_ and len(alone.history_) == 1, "one fit: stopped, kept"
    started.clear()
    with pytest.raises(KeyboardInterrupt), loop_of_fits():
        for _ in range(3):
            models.create("mlp", epochs=3, batch_size=32, threads=1, validation_split=0).fit(X, y)
    assert started == [1], "no fit starts after the interrupted one"


def test_sigterm_inside_a_loop_of_fits_is_an_interrupt_and_the_handler_comes_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), loop_of_fits():
        assert in_loop_of_fits()
        os.kill(os.getpid(), signal.SIGTERM)
        pytest.fail("SIGTERM was not an interrupt")  # the handler runs as soon as os.kill returns
    assert signal.getsignal(signal.SIGTERM) is before and not in_loop_of_fits()


def test_cross_validation_called_from_python_stops_too(monkeypatch, blobs):
    """The library's own loops follow the rule, not only the commands: a caller of cross_validate_model gets the
    interrupt, not the scores of folds trained after it."""
    from mnistlab.evaluation import cross_validate_model

    X, y = blobs(150)
    started = interrupt_on_epoch(monkeypatch, fit=1)
    estimator = models.create("mlp", epochs=3, batch_size=32, threads=1, validation_split=0, verbose=0)
    with pytest.raises(KeyboardInterrupt):
        cross_validate_model(estimator, X, y, 3)
    assert started == [1]


def test_an_interrupted_judge_stops_the_label_check(monkeypatch, blobs):
    """The judge's folds are a loop of fits: a half-trained judge must never judge the labels."""
    from mnistlab import quality
    from mnistlab.quality import predictions

    X, y = blobs(150)
    started = interrupt_on_epoch(monkeypatch, fit=1)
    monkeypatch.setattr(
        predictions,
        "_estimator",
        lambda model, dataset, seed: models.create("mlp", epochs=3, batch_size=32, threads=1, verbose=0),
    )
    with pytest.raises(KeyboardInterrupt):
        predictions.judged(quality.CheckedData({"train": datasets.Dataset(X, y, ["a", "b", "c"])}), "mlp", 3)
    assert started == [1]


# ------------------------------------------------------------------------------------ the command line


# The child restores Ctrl-C's handler: a shell starts background jobs (nohup, `make test &`) with SIGINT ignored,
# and Python then keeps it ignored, so a test run in the background would never see the interrupt it sends.
CHILD = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
from mnistlab.training import loop

real, started = loop._train_epoch, []

def epoch_of(*args):
    if args[0].epoch == 1:
        started.append(len(started) + 1)
        print(f"fit {{len(started)}}", flush=True)
    if len(started) == {stop_at} and args[0].epoch == 2:
        print("waiting for the signal", flush=True)
        time.sleep(300)  # the signal ends the wait; 300 s is a guard against a hang only
    return real(*args)

loop._train_epoch = epoch_of
from mnistlab.cli.main import main
sys.exit(main({args!r}))
"""


def interrupted_command(args: list[str], stop_at: int, signum: int) -> tuple[int, list[int], str]:
    """Run ``mnistlab ARGS`` in a child process, send ``signum`` once its fit number ``stop_at`` is in its second
    epoch (the child says so; no sleeping here), and return its exit status, the fits it started, its stderr."""
    code = textwrap.dedent(CHILD.format(stop_at=stop_at, args=args))
    # stderr goes to a file, not a pipe: a pipe nobody reads while stdout is read line by line fills up (64 KB of
    # progress and warnings) and blocks the child, and the test with it
    with tempfile.TemporaryFile("w+") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        lines = []
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("waiting for the signal"):
                child.send_signal(signum)
            elif line.startswith("fit ") and int(line.split()[1]) > stop_at:
                child.kill()  # the loop went on after the interrupt: that is the failure, seen without waiting
                break
        out, _ = child.communicate(timeout=600)  # a guard against a hang only
        stderr.seek(0)
        err = stderr.read()
    lines += out.splitlines()
    fits = [int(line.split()[1]) for line in lines if line.startswith("fit ")]
    return child.returncode, fits, err


@pytest.fixture
def npz(tmp_path, blobs) -> Path:
    X, y = blobs(150)
    datasets.export(datasets.Dataset(X, y, ["a", "b", "c"], "bands", "train"), tmp_path / "data", "npz")
    return tmp_path / "data" / "train.npz"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cv_stops_at_the_interrupted_fold_and_reports_nothing(npz, signum):
    status, fits, err = interrupted_command(
        ["cv", "--data", str(npz), "--model", "mlp", "--folds", "3"], stop_at=1, signum=signum
    )
    assert status == 130 and "interrupted" in err, err[-2000:]
    assert fits == [1], "the folds after the interrupted one never started"
    assert "fold accuracy" not in err


def test_a_sweep_stops_and_keeps_its_finished_trials(tmp_path, tmp_home, blobs):
    from mnistlab.workflows.sweep import run_sweep

    X, y = blobs(150)
    for split, part in (("train", slice(0, 120)), ("test", slice(120, 150))):
        datasets.export(
            datasets.Dataset(X[part], y[part], ["a", "b", "c"], "toy", split), tmp_path / "data", "npz"
        )
    datasets.register("toy", tmp_path / "data" / "train.npz", tmp_path / "data" / "test.npz")
    out = tmp_path / "out"
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        f'name = "s"\nout = "{out.as_posix()}"\ndata = ["toy"]\nseeds = [0, 1, 2]\n'
        '[[models]]\nname = "mlp"\ngrid = { epochs = [3], batch_size = [32] }\n'
    )
    status, fits, err = interrupted_command(["sweep", str(sweep)], stop_at=2, signum=signal.SIGINT)
    assert status == 130 and "interrupted" in err, err[-2000:]
    assert fits == [1, 2], "the third trial never started"
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["ok"], "the finished trial is kept, the interrupted one is not"
    finished = Path(rows[0]["folder"])
    saved = sorted(p.parent for p in (out / "trials").glob("*/config.json"))
    assert saved == [finished] and not any((out / ".running").iterdir())
    mtime = (finished / "metrics.json").stat().st_mtime_ns
    resumed = run_sweep(sweep)
    assert resumed.ran == 2 and (finished / "metrics.json").stat().st_mtime_ns == mtime
    assert np.all([r["status"] == "ok" for r in resumed.rows])
