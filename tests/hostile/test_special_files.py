"""Every file mnistlab opens must be a regular file of bounded size: a FIFO never hangs it, a link to /dev/zero
never eats the memory, whatever the file's name or role."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from mnistlab import datasets, runs
from mnistlab.errors import MnistlabError

# A guard against a hang only, not a speed bound: a first load_run imports PyTorch, which takes many seconds on a
# loaded machine; a FIFO or /dev/zero that is opened would block or read for ever.
HANG_GUARD_S = 120


def _within(seconds, call):
    """Run ``call`` in a thread; fail if it has not returned (a hang) after ``seconds``."""
    outcome = {}

    def target():
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "hung on a special file"
    return outcome


@pytest.fixture
def run_folder(tmp_path, blobs):
    from mnistlab import models

    X, y = blobs(60)
    runs.save(
        tmp_path / "run",
        models.create("naive-bayes").fit(X, y),
        model="naive-bayes",
        data="toy",
        classes=["a", "b", "c"],
    )
    return tmp_path / "run"


def _special(path, kind):
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
@pytest.mark.parametrize("name", ["config.json", "metrics.json", "history.json"])
def test_run_files_that_are_not_regular_files_are_refused(run_folder, kind, name):
    _special(run_folder / name, kind)
    outcome = _within(HANG_GUARD_S, lambda: runs.load_run(run_folder))
    assert isinstance(outcome.get("error"), MnistlabError), outcome
    assert name in str(outcome["error"]) and "not a regular file" in str(outcome["error"])


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
@pytest.mark.parametrize(
    "name", ["data.csv", "data.npz", "train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"]
)
def test_data_files_that_are_not_regular_files_are_refused(tmp_path, kind, name):
    if "idx3" in name:
        labels = tmp_path / name.replace("images-idx3", "labels-idx1")
        labels.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x00")
    _special(tmp_path / name, kind)
    outcome = _within(HANG_GUARD_S, lambda: datasets.load(tmp_path / name))
    assert isinstance(outcome.get("error"), MnistlabError), outcome
    assert "not a regular file" in str(outcome["error"])


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_image_folders_with_special_files_are_refused(tmp_path, kind):
    from PIL import Image

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "a" / "0.png")
    _special(tmp_path / "b" / "1.png", kind)
    outcome = _within(HANG_GUARD_S, lambda: datasets.load(tmp_path))
    assert isinstance(outcome.get("error"), MnistlabError) and "1.png" in str(outcome["error"])
    manifest = tmp_path / "m"
    manifest.mkdir()
    _special(manifest / "labels.csv", kind)
    outcome = _within(HANG_GUARD_S, lambda: datasets.load(manifest))
    assert isinstance(outcome.get("error"), MnistlabError), outcome


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_sweep_files_and_the_data_set_registry_are_bounded(tmp_path, tmp_home, kind):
    from mnistlab.workflows.sweep_plan import read_sweep

    _special(tmp_path / "sweep.toml", kind)
    outcome = _within(HANG_GUARD_S, lambda: read_sweep(tmp_path / "sweep.toml"))
    assert isinstance(outcome.get("error"), MnistlabError), outcome
    tmp_home.mkdir(parents=True, exist_ok=True)
    _special(tmp_home / "datasets.toml", kind)
    outcome = _within(HANG_GUARD_S, lambda: datasets.user_datasets())  # not a file: no registry (and no hang)
    assert outcome.get("value") == {} or isinstance(outcome.get("error"), MnistlabError), outcome


def test_a_huge_json_file_is_refused_before_it_is_read(run_folder):
    with open(run_folder / "history.json", "w") as f:
        f.write("[" + " " * (65 << 20) + "]")  # 65 MB of blanks: valid JSON, larger than any run writes
    with pytest.raises(MnistlabError, match="history.json: 68,157,442 bytes"):
        runs.load_run(run_folder)
