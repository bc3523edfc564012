"""Review decisions and the cleaned copy they make: decisions saved as they are made, checked against the data's
content hash, applied to a copy (the original untouched), every bad file or entry refused with its line."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.datasets import Dataset
from mnistlab.datasets.fixes import (
    apply_fixes,
    read_decisions,
    record_decision,
    start_decisions,
    write_fixed,
)
from mnistlab.errors import DataFormatError, ParameterError

CLASSES = ["zero", "one", "two"]


def toy(n: int = 12, seed: int = 0, name: str = "toy") -> dict[str, Dataset]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = np.arange(n) % 3
    return {
        "train": Dataset(images, labels, CLASSES, name, "train"),
        "test": Dataset(images[: n // 2].copy(), labels[: n // 2].copy(), CLASSES, name, "test"),
    }


@pytest.fixture
def decisions(tmp_path):
    path = tmp_path / "decisions.jsonl"
    start_decisions(path, toy())
    return path


def test_decisions_make_a_cleaned_copy_and_leave_the_original(decisions):
    splits = toy()
    before = {name: (ds.images.copy(), ds.labels.copy()) for name, ds in splits.items()}
    record_decision(decisions, "train", 4, "relabel", label="two", reason="a two, written small")
    record_decision(decisions, "train", 7, "drop", reason="not a digit")
    record_decision(decisions, "test", 0, "keep")
    fixed, record = apply_fixes(splits, decisions)
    assert len(fixed["train"]) == 11 and fixed["train"].labels[4] == 2
    assert np.array_equal(fixed["train"].images[7], splits["train"].images[8])  # order kept, 7 left out
    assert np.array_equal(fixed["test"].labels, splits["test"].labels)
    assert record["counts"] == {"keep": 1, "relabel": 1, "drop": 1, "superseded": 0}
    relabel = next(c for c in record["changes"] if c["action"] == "relabel")
    assert relabel == {
        "split": "train",
        "index": 4,
        "action": "relabel",
        "old_label": "one",
        "new_label": "two",
        "reason": "a two, written small",
    }
    assert record["before"]["train"]["sha256"] == datasets.fingerprint(splits["train"])
    assert record["after"]["train"] == {"sha256": datasets.fingerprint(fixed["train"]), "size": 11}
    for name, ds in splits.items():  # the original arrays are untouched
        assert np.array_equal(ds.images, before[name][0]) and np.array_equal(ds.labels, before[name][1])


def test_the_last_decision_about_an_image_wins(decisions):
    record_decision(decisions, "train", 4, "drop")
    record_decision(decisions, "train", 4, "relabel", label="zero")  # changed their mind
    record_decision(decisions, "train", 4, "keep")  # and again
    decided, superseded = read_decisions(decisions, toy())
    assert decided["train", 4].action == "keep" and superseded == 2
    fixed, record = apply_fixes(toy(), decisions)
    assert len(fixed["train"]) == 12 and record["counts"]["superseded"] == 2


def test_each_decision_is_on_disk_when_record_returns(decisions):
    record_decision(decisions, "train", 1, "drop")
    lines = decisions.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["action"] == "drop"


def test_a_line_cut_short_by_a_crash_is_not_a_decision(decisions):
    record_decision(decisions, "train", 1, "drop")
    with open(decisions, "a") as f:
        f.write('{"split": "train", "index": 2, "act')  # the process died mid-write
    decided, _ = read_decisions(decisions, toy())
    assert list(decided) == [("train", 1)]


def _decide_every_image(path: str, action: str, start, rounds: int) -> None:
    """One writer (a review page in its own process): ``rounds`` passes over the 12 training images."""
    start.wait(timeout=60)  # both writers begin together, so their appends interleave (60 s: a hang guard)
    for _ in range(rounds):
        for index in range(12):
            record_decision(path, "train", index, action, label="zero" if action == "relabel" else None)


def test_two_processes_writing_one_file_keep_every_line(decisions):
    """Two writers in two processes (two review pages) append to one file at once: every line whole, none lost,
    and for each image the decision written last in the file wins."""
    import multiprocessing

    context = multiprocessing.get_context("fork")  # the child only appends lines: no imports, no threads
    start = context.Barrier(2)
    rounds = 20
    writers = [
        context.Process(target=_decide_every_image, args=(str(decisions), action, start, rounds))
        for action in ("drop", "relabel")
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [writer.exitcode for writer in writers] == [0, 0]
    lines = [json.loads(line) for line in decisions.read_text().splitlines()[1:]]  # each one whole JSON
    assert len(lines) == 2 * rounds * 12
    assert sum(line["action"] == "drop" for line in lines) == rounds * 12
    last = {line["index"]: line["action"] for line in lines}
    decided, superseded = read_decisions(decisions, toy())
    assert superseded == len(lines) - 12
    assert {index: decided["train", index].action for index in range(12)} == last


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("valid", 99, "drop"), "split 'valid'"),
        (("train", 12, "drop"), "index 12; expected 0..11"),
        (("train", -1, "drop"), "index -1"),
        (("train", True, "drop"), "index True"),
        (("train", 1, "delete"), "action 'delete'; expected one of keep, relabel, drop"),
        (("train", 1, "relabel"), "label None; expected one of zero, one, two"),
    ],
)
def test_a_bad_decision_is_refused_before_it_is_written(decisions, args, message):
    size = decisions.stat().st_size
    with pytest.raises(ParameterError, match=message):
        record_decision(decisions, *args)
    assert decisions.stat().st_size == size


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"split": "train", "index": 40, "action": "drop"}', "line 2: index 40"),
        ('{"split": "train", "index": 1, "action": "relabel", "label": "seven"}', "line 2: label 'seven'"),
        ("[1, 2]", "line 2: expected a JSON object"),
        ("not json\n", "line 2: not a JSON object"),
        ('{"split": "train", "index": 1, "action": "drop", "reason": 5}', "line 2: reason must be text"),
    ],
)
def test_a_hand_edited_file_names_the_bad_line(decisions, line, message):
    with open(decisions, "a") as f:
        f.write(line + "\n")
    with pytest.raises((ParameterError, DataFormatError), match=message):
        apply_fixes(toy(), decisions)


def test_decisions_for_another_version_or_data_set_are_refused(decisions, tmp_path):
    record_decision(decisions, "train", 1, "drop")
    changed = toy()
    changed["train"].images[3, 0, 0] ^= 1  # one pixel of one image: another version of the data
    with pytest.raises(DataFormatError, match="another version of 'toy'/train"):
        apply_fixes(changed, decisions)
    with pytest.raises(DataFormatError, match="data set 'toy', not 'other'"):
        apply_fixes(toy(name="other"), decisions)
    with pytest.raises(DataFormatError, match="another version"):
        start_decisions(decisions, changed)  # resuming a review of other data: refused, file kept
    assert len(decisions.read_text().splitlines()) == 2
    start_decisions(decisions, toy())  # the same data: resumed, nothing changed
    assert len(decisions.read_text().splitlines()) == 2


@pytest.mark.parametrize("kind", ["fifo", "symlink", "missing", "not decisions"])
def test_special_or_foreign_files_are_refused(tmp_path, decisions, kind):
    path = tmp_path / "other.jsonl"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        path.symlink_to(decisions)
    elif kind == "not decisions":
        path.write_text('{"hello": 1}\n')
    expected = {
        "fifo": "not a regular file",
        "symlink": "a symbolic link",
        "missing": "no decisions file",
        "not decisions": "not a mnistlab decisions file",
    }[kind]
    # (a link to a real decisions file: reading follows it, appending never does)
    with pytest.raises((DataFormatError, ParameterError), match=expected):
        record_decision(path, "train", 1, "drop")


def test_the_command_line_writes_a_cleaned_export_with_its_record(tmp_path, capsys):
    source = tmp_path / "source"
    data_file = datasets.export(toy()["train"], source, "npz")
    original = data_file.read_bytes()
    loaded = datasets.load_splits(data_file)
    path = tmp_path / "decisions.jsonl"
    start_decisions(path, loaded)
    record_decision(path, "train", 0, "relabel", label="one", reason="looks like a one")
    record_decision(path, "train", 5, "drop")
    out = tmp_path / "clean"
    args = ["data", "fix", str(data_file), "--decisions", str(path), "--format", "npz", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "1 relabelled, 1 dropped" in printed and "fixes.json" in printed
    cleaned = datasets.load(out / "train.npz")
    assert len(cleaned) == 11 and cleaned.labels[0] == 1
    assert json.loads((out / "fixes.json").read_text())["changes"][0]["reason"] == "looks like a one"
    assert data_file.read_bytes() == original
    # a decisions file for other data: one line naming it, no traceback, nothing written
    other = tmp_path / "other.jsonl"
    start_decisions(other, toy(name="other"))
    assert main([*args[:3], "--decisions", str(other), "--format", "npz", "--out", str(tmp_path / "x")]) != 0
    err = capsys.readouterr().err
    assert "not 'toy'" in err and "Traceback" not in err and not (tmp_path / "x").exists()


def test_write_fixed_writes_any_export_format(tmp_path):
    source = datasets.export(toy()["train"], tmp_path / "source", "npz")
    path = tmp_path / "decisions.jsonl"
    start_decisions(path, datasets.load_splits(source))
    record_decision(path, "train", 2, "relabel", label="zero")
    written, _ = write_fixed(source, path, tmp_path / "csv", "csv")
    assert datasets.load(written[0]).labels[2] == 0


def test_the_cleaned_copy_never_replaces_the_original(tmp_path, tmp_home):
    """An export's folder holds dataset.json: writing the copy there would replace train.npz in place."""
    source = datasets.export(toy()["train"], tmp_path / "source", "npz")
    original = source.read_bytes()
    path = tmp_path / "decisions.jsonl"
    start_decisions(path, datasets.load_splits(source))
    record_decision(path, "train", 0, "drop")
    for out in (source.parent, source.parent / "clean", tmp_home / "clean"):
        with pytest.raises(ParameterError, match="where the original data lives"):
            write_fixed(source, path, out, "npz")
    assert source.read_bytes() == original
