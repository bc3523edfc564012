"""Sweep files that ask for too much or the wrong types, workers that die, two sweeps on one folder, trials
stopped halfway through saving."""

from __future__ import annotations

import fcntl
import os
import signal
from pathlib import Path

import pytest

from mnistlab import datasets
from mnistlab.errors import MnistlabError, ParameterError
from mnistlab.workflows import sweep as sweep_module
from mnistlab.workflows import sweep_plan
from mnistlab.workflows.sweep import read_sweep, run_sweep


@pytest.fixture
def data(tmp_path, tmp_home, blobs) -> str:
    """A small data set registered with its own test split (what a sweep trains on)."""
    X, y = blobs(120)
    for split, part in (("train", slice(0, 90)), ("test", slice(90, 120))):
        dataset = datasets.Dataset(X[part], y[part], ["a", "b", "c"], "toy", split)
        datasets.export(dataset, tmp_path / "data", "npz")
    datasets.register("toy", tmp_path / "data" / "train.npz", tmp_path / "data" / "test.npz")
    return "toy"


def write(tmp_path: Path, body: str, data: str = "mnist") -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(f'name = "s"\nout = "{(tmp_path / "out").as_posix()}"\ndata = ["{data}"]\n{body}')
    return path


def test_a_huge_grid_is_counted_and_refused_before_it_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_plan, "_expand", lambda *args: pytest.fail("the grid was expanded"))
    values = "[" + ", ".join(map(str, range(10))) + "]"
    grid = ", ".join(f"p{i} = {values}" for i in range(6))  # 10**6 combinations
    path = write(tmp_path, f'[[models]]\nname = "knn"\ngrid = {{ {grid.replace("p0", "n_neighbors")} }}\n')
    path.write_text(
        path.read_text()
        .replace("p1 =", "leaf_size =")
        .replace("p2 =", "p =")
        .replace("p3 =", "n_jobs =")
        .replace("p4 =", "weights_x =")
        .replace(", p5 = " + values, "")
    )
    text = path.read_text().replace(", weights_x = " + values, "")
    path.write_text(text)
    with pytest.raises(ParameterError, match=r"10,000 trials .* more than max_trials=1000"):
        read_sweep(path)
    assert not (tmp_path / "out").exists()


def test_a_sample_of_a_vast_grid_is_drawn_without_building_it(tmp_path, monkeypatch):
    """Only the 2 drawn combinations of the 1,000 are built and checked (each check builds a model)."""
    values = "[" + ", ".join(map(str, range(1, 11))) + "]"
    grid = ", ".join(f"{p} = {values}" for p in ("n_neighbors", "leaf_size", "p"))
    big = ", ".join(f"{p} = {values}" for p in ("n_neighbors", "leaf_size"))
    path = write(tmp_path, f'[[models]]\nname = "knn"\ngrid = {{ {grid} }}\nsample = 2\n')
    checked = []
    create = sweep_plan.models.create
    monkeypatch.setattr(sweep_plan.models, "create", lambda *a, **k: checked.append(a) or create(*a, **k))
    plan = read_sweep(path)
    assert len(plan.trials) == 2 and len(checked) == 2
    assert big


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('validation_fraction = "abc"\n[[models]]\nname = "knn"\n', "validation_fraction='abc'"),
        (
            '[[models]]\nname = "knn"\nsample = 1\nsample_seed = {}\ngrid = { n_neighbors = [1, 2] }\n',
            "sample_seed={}",
        ),
        ('seeds = [true, 0, 0]\n[[models]]\nname = "knn"\n', "seeds=\\[True, 0, 0\\]"),
        ('seeds = [0, 0]\n[[models]]\nname = "knn"\n', "repeats a seed"),
        ("limit = true\n[[models]]\nname = 'knn'\n", "limit=True"),
        ("[[models]]\nname = 'knn'\nx = " + "[" * 5000 + "]" * 5000 + "\n", "not a readable TOML sweep file"),
    ],
)
def test_wrong_types_are_one_line_errors_before_anything_runs(tmp_path, body, message):
    with pytest.raises(MnistlabError, match=message) as caught:
        run_sweep(write(tmp_path, body))
    assert "\n" not in str(caught.value) and not (tmp_path / "out").exists()


def test_two_sweeps_on_one_folder_do_not_both_run(tmp_path, data):
    path = write(tmp_path, '[[models]]\nname = "naive-bayes"\n', data)
    (tmp_path / "out").mkdir()
    with open(tmp_path / "out" / ".sweep.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running sweep holds it
        with pytest.raises(MnistlabError, match="another sweep is running in this folder"):
            run_sweep(path)
    assert run_sweep(path).ran == 1  # released: it runs


def test_a_trial_stopped_between_its_metrics_and_its_config_is_run_again(tmp_path, data):
    path = write(tmp_path, '[[models]]\nname = "naive-bayes"\n[[models]]\nname = "logreg"\n', data)
    first = run_sweep(path)
    assert first.ran == 2
    half = Path(first.rows[0]["folder"])
    (half / "config.json").unlink()  # a crash after metrics.json, before config.json
    again = run_sweep(path)
    assert again.ran == 1 and (half / "config.json").is_file()


def _dies_on_logreg(trial, args):
    """A worker that is killed (as by the OOM killer) while training the logreg trial."""
    if trial.model == "logreg":
        (args[0] / ".running").mkdir(exist_ok=True)
        (args[0] / ".running" / trial.key).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return trial, sweep_module.run_trial(trial, *args)


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_a_killed_worker_is_a_failed_trial_and_the_sweep_goes_on(tmp_path, data, monkeypatch):
    monkeypatch.setattr(sweep_module, "_keyed", _dies_on_logreg)
    body = '[[models]]\nname = "logreg"\n[[models]]\nname = "naive-bayes"\n[[models]]\nname = "knn"\n'
    result = run_sweep(write(tmp_path, body, data), jobs=2)
    status = {row["model"]: row["status"] for row in result.rows}
    assert status["logreg"] == "failed" and "WorkerDied" in next(
        r["error"] for r in result.rows if r["model"] == "logreg"
    )
    errors = [(r["model"], r["status"], r["error"][:300]) for r in result.rows]
    assert status["knn"] == "ok" and status["naive-bayes"] == "ok", errors


def test_a_network_too_large_for_this_machine_is_refused_before_training(tmp_path, blobs, monkeypatch):
    import torch

    from mnistlab import models
    from mnistlab.models import networks
    from mnistlab.models.networks import available_memory, training_bytes

    assert training_bytes("cnn", 10, 4096, 784, 1024) > available_memory()  # ~320 GiB
    path = write(tmp_path, '[[models]]\nname = "cnn"\ngrid = { width = [4096], batch_size = [1024] }\n')
    with pytest.raises(ParameterError, match=r"needs about .* GiB to train; this machine has"):
        read_sweep(path)
    X, y = blobs(2000)
    build = networks.build

    def measured_only(*args):  # on the meta device it is only measured: nothing is allocated
        if torch.get_default_device().type != "meta":
            pytest.fail("the network was built before the refusal")
        return build(*args)

    monkeypatch.setattr(networks, "build", measured_only)
    with pytest.raises(ParameterError, match="choose a smaller width or batch_size"):
        models.create("cnn", width=4096, batch_size=1024, epochs=1).fit(X, y)


def test_a_full_disk_while_writing_the_tables_keeps_the_old_ones(tmp_path, data, monkeypatch):
    import errno

    from mnistlab import fileio

    path = write(tmp_path, '[[models]]\nname = "naive-bayes"\n', data)
    run_sweep(path)
    before = (tmp_path / "out" / "results.csv").read_bytes()

    def no_space(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", no_space)
    with pytest.raises(OSError, match="No space"):
        run_sweep(path)
    monkeypatch.undo()
    assert (tmp_path / "out" / "results.csv").read_bytes() == before
    assert not [p for p in (tmp_path / "out").glob(".*.tmp")]
    assert run_sweep(path).ran == 0  # the lock was released, the finished trial still counts


def test_reused_worker_processes_read_the_sweep_s_data_home(tmp_path, data, monkeypatch):
    """joblib keeps its worker processes between calls, with the environment they started with: a sweep must not
    read another MNISTLAB_HOME than its own (it failed to find a registered data set, now and then, in CI)."""
    from joblib import Parallel, delayed

    home = os.environ["MNISTLAB_HOME"]
    monkeypatch.setenv("MNISTLAB_HOME", str(tmp_path / "elsewhere"))
    Parallel(n_jobs=2)(delayed(os.getpid)() for _ in range(4))  # the pool starts under another home
    monkeypatch.setenv("MNISTLAB_HOME", home)
    body = '[[models]]\nname = "naive-bayes"\n[[models]]\nname = "logreg"\n[[models]]\nname = "knn"\n'
    result = run_sweep(write(tmp_path, body, data), jobs=2)
    assert [row["status"] for row in result.rows] == ["ok"] * 3, [row["error"][:200] for row in result.rows]
