"""Run and sweep files edited by hand or damaged: each field of ``config.json``, ``metrics.json``,
``history.json``, a side evaluation's ``metrics.json`` and a sweep's ``sweep.json`` given a value of the wrong type
(a string, a list, an object, null, a list nested 500 deep). ``mnistlab runs`` lists the sound runs and names the
damaged one with its reason; ``mnistlab report`` and a resumed sweep give a one-line error naming the file and the
field, or work; none gives a traceback."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import pytest

from mnistlab import datasets
from mnistlab.cli.main import main
from mnistlab.errors import MnistlabError
from tests.hostile.conftest import replace_field

DEEP: list = []
for _ in range(500):
    DEEP = [DEEP]
WRONG = {"string": "x", "list": [1], "object": {"a": 1}, "null": None, "nested": DEEP}
SIDE = "evaluations/test.npz/metrics.json"

# (run, file, field): the fields commands read, at every level a reader goes into.
FIELDS = [
    *(
        (run, "config.json", field)
        for run in ("logreg", "mlp")
        for field in [
            ("data",),
            ("model",),
            ("classes",),
            ("classes", 0),
            ("classes_",),
            ("seed",),
            ("n_features_in",),
            ("data_source",),
            ("data_source", "train"),
            ("data_source", "test", "spec"),
            ("data_source", "test", "rows"),
            ("data_source", "test", "fraction"),
            ("data_source", "test", "path"),
            ("ink",),
            ("ink", "polarity"),
            ("machine",),
            ("machine", "cpu"),
            ("machine", "cpu_flags"),
            ("machine", "cores"),
            ("versions",),
            ("versions", "numpy"),
            ("saved",),
        ]
    ),
    ("logreg", "config.json", ("skops_signature",)),
    ("logreg", "config.json", ("params",)),
    ("mlp", "config.json", ("params",)),
    ("mlp", "config.json", ("params", "epochs")),
    ("mlp", "config.json", ("temperature",)),
    *(
        (run, "metrics.json", field)
        for run in ("logreg", "mlp")
        for field in [
            (),
            ("test_accuracy",),
            ("n_test",),
            ("train_seconds",),
            ("splits",),
            ("overrides",),
            ("evaluation",),
            ("evaluation", "accuracy"),
            ("evaluation", "log_loss"),
            ("evaluation", "report"),
            ("evaluation", "report", "macro avg"),
            ("evaluation", "report", "0"),
            ("evaluation", "confusion_matrix"),
            ("evaluation", "most_confused"),
            ("evaluation", "top_losses"),
            ("evaluation", "calibration"),
            ("evaluation", "calibration", "ece"),
        ]
    ),
    ("mlp", "metrics.json", ("epochs",)),
    ("mlp", "metrics.json", ("interrupted",)),
    ("mlp", "metrics.json", ("epochs_completed",)),
    ("mlp", "metrics.json", ("evaluation", "calibration", "before")),
    ("mlp", "metrics.json", ("evaluation", "calibration", "temperature")),
    ("mlp", "metrics.json", ("evaluation", "conformal")),
    ("mlp", "metrics.json", ("evaluation", "conformal", "sets")),
    ("mlp", "metrics.json", ("evaluation", "conformal", "sets", "0.1 split")),
    ("mlp", "metrics.json", ("robustness",)),
    ("mlp", "metrics.json", ("robustness", "mean")),
    ("mlp", "metrics.json", ("robustness", "corruptions")),
    ("mlp", "metrics.json", ("robustness", "worst")),
    ("mlp", "history.json", ()),
    ("mlp", "history.json", (0,)),
    ("mlp", "history.json", (0, "train_loss")),
    ("mlp", SIDE, ()),
    ("mlp", SIDE, ("data",)),
    ("mlp", SIDE, ("data", "rows")),
    ("mlp", SIDE, ("evaluation", "accuracy")),
    ("mlp", SIDE, ("figures",)),
]


@pytest.fixture(scope="module")
def made(tmp_path_factory, blobs):
    """An evaluated logreg run and an evaluated mlp run (calibrated, with conformal sets, robustness and a side
    evaluation), trained on .npz files so that a report can read their test data again."""
    from mnistlab.workflows import evaluate_run, robustness, train_model

    root = tmp_path_factory.mktemp("tampered")
    X, y = blobs(150)
    for split, part in (("train", slice(0, 120)), ("test", slice(120, 150))):
        datasets.export(
            datasets.Dataset(X[part], y[part], ["a", "b", "c"], "toy", split), root / "data", "npz"
        )
    train, test = str(root / "data" / "train.npz"), str(root / "data" / "test.npz")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNISTLAB_HOME", str(root / "home"))
        train_model(train, "logreg", test=test, out=root / "logreg", verbose=0)
        train_model(train, "mlp", test=test, params={"epochs": 2, "threads": 1}, out=root / "mlp", verbose=0)
        for run in ("logreg", "mlp"):
            evaluate_run(root / run)
        robustness(root / "mlp", corruptions=["shot_noise"])
        evaluate_run(root / "mlp", test=test)
    assert (root / "mlp" / SIDE).is_file()
    return root


def _tampered(made: Path, tmp_path: Path, run: str, name: str, field: tuple, value) -> Path:
    """A folder of two runs: a sound copy of logreg ('good') and a copy of ``run`` with ``field`` of ``name``
    replaced by ``value`` ('bad')."""
    shutil.copytree(made / "logreg", tmp_path / "runs" / "good")
    bad = shutil.copytree(made / run, tmp_path / "runs" / "bad")
    document = json.loads((bad / name).read_text())
    (bad / name).write_text(json.dumps(replace_field(document, field, value)))
    return bad


def _one_line_error(err: str, *names: str) -> None:
    lines = [line for line in err.splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert any(name in lines[0] for name in names), err


@pytest.mark.parametrize("kind", list(WRONG))
@pytest.mark.parametrize(
    ("run", "name", "field"), FIELDS, ids=lambda v: "/".join(map(str, v)) if isinstance(v, tuple) else v
)
def test_runs_lists_the_sound_runs_and_names_the_damaged_one(made, tmp_path, capsys, run, name, field, kind):
    bad = _tampered(made, tmp_path, run, name, field, WRONG[kind])
    assert main(["runs", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out.splitlines()
    [good_row] = [line for line in out if str(tmp_path / "runs" / "good") in line]
    [bad_row] = [line for line in out if str(bad) in line]
    assert "damaged" not in good_row and "logreg" in good_row
    if "damaged" in bad_row:
        reason = bad_row.split("damaged: ", 1)[1]
        assert reason.startswith(f"{bad}/") and len(reason) < 400, reason
        assert field == () or str(field[0]) in reason or "classes" in reason or name == "history.json", reason


# Two reports per case take seconds each: the whole matrix (every field x every kind, ~500 cases, most of an hour on
# 2 cores) runs with MNISTLAB_FULL_MATRIX=1; by default one case in 13, spread over every file and every kind (the
# `runs` listing above covers every case).
REPORT_CASES = [
    (run, name, field, kind)
    for position, ((run, name, field), kind) in enumerate((case, kind) for case in FIELDS for kind in WRONG)
    if os.environ.get("MNISTLAB_FULL_MATRIX") == "1" or position % 13 == 0
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("run", "name", "field", "kind"),
    REPORT_CASES,
    ids=lambda v: "/".join(map(str, v)) if isinstance(v, tuple) else str(v),
)
def test_report_of_a_damaged_run_is_a_one_line_error_or_works(made, tmp_path, capsys, run, name, field, kind):
    bad = _tampered(made, tmp_path, run, name, field, WRONG[kind])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["report", str(bad)])
    err = capsys.readouterr().err
    if name == SIDE:  # the run is sound; the damaged side evaluation is left out of its page, with a warning
        assert code == 0, err
        left_out = [str(w.message) for w in caught if "side evaluation left out" in str(w.message)]
        assert all(message.startswith(f"side evaluation left out: {bad / SIDE}: ") for message in left_out)
        # a side evaluation without its data or its run's identity belongs to no model: left out silently
        unowned = (field and WRONG[kind] is None) or field == ("data",) or (field == () and kind == "object")
        assert left_out or unowned, "a damaged file, no warning"
    elif code != 0:
        assert code == 1
        _one_line_error(err, name, "config.json", "weights", "model.skops", "not evaluated yet")
    with warnings.catch_warnings(
        record=True
    ) as caught:  # a folder of runs: the damaged one never hides the other
        warnings.simplefilter("always")
        assert (
            main(["report", "--compare", str(tmp_path / "runs"), "--out", str(tmp_path / "board.html")]) == 0
        )
    left_out = [str(w.message) for w in caught if "left out of the leaderboard" in str(w.message)]
    assert len(left_out) == (code != 0) and (tmp_path / "board.html").is_file(), left_out
    assert all(str(bad) in message and "\n" not in message for message in left_out)


def test_a_report_of_good_runs_is_unchanged_by_the_checks(made, tmp_path, capsys):
    """The reference: the sound runs, as made, report and list without a warning."""
    shutil.copytree(made / "mlp", tmp_path / "mlp")
    assert main(["report", str(tmp_path / "mlp")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["runs", str(tmp_path)]) == 0
    assert "damaged" not in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------------- sweeps


@pytest.fixture(scope="module")
def swept(tmp_path_factory, blobs):
    """A finished one-trial sweep on a small registered data set (its home: ``swept.parent / "home"``)."""
    from mnistlab.workflows.sweep import run_sweep

    root = tmp_path_factory.mktemp("sweep")
    X, y = blobs(120)
    for split, part in (("train", slice(0, 90)), ("test", slice(90, 120))):
        datasets.export(
            datasets.Dataset(X[part], y[part], ["a", "b", "c"], "toy", split), root / "data", "npz"
        )
    plan = root / "sweep.toml"
    plan.write_text(
        f'name = "s"\nout = "{(root / "out").as_posix()}"\ndata = ["toy"]\n[[models]]\nname = "naive-bayes"\n'
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNISTLAB_HOME", str(root / "home"))
        datasets.register("toy", root / "data" / "train.npz", root / "data" / "test.npz")
        result = run_sweep(plan)
    assert result.ran == 1 and result.rows[0]["status"] == "ok", result.rows
    return plan


@pytest.fixture
def sweep_home(swept, monkeypatch):
    monkeypatch.setenv("MNISTLAB_HOME", str(swept.parent / "home"))


SWEEP_FIELDS = [(), ("identity",), ("identity", "name"), ("identity", "limit"), ("trials",), ("references",)]


@pytest.mark.parametrize("kind", list(WRONG))
@pytest.mark.parametrize("field", SWEEP_FIELDS, ids=lambda f: "/".join(f) or "whole")
def test_a_damaged_sweep_json_is_a_one_line_error_naming_it(swept, sweep_home, tmp_path, capsys, field, kind):
    out = shutil.copytree(swept.parent / "out", tmp_path / "out")
    document = json.loads((out / "sweep.json").read_text())
    (out / "sweep.json").write_text(json.dumps(replace_field(document, field, WRONG[kind])))
    code = main(["sweep", str(swept), "--out", str(out)])
    printed, err = capsys.readouterr()
    changed_identity = field in ((), ("identity",), ("identity", "name")) or (
        field == ("identity", "limit") and kind != "null"  # the sweep's limit is null: unchanged
    )
    if changed_identity:
        assert code == 1
        _one_line_error(err, "sweep.json", "holds another sweep")
    else:  # what a resumed sweep does not read: the same sweep, nothing to train again
        assert code == 0, (err, printed)


@pytest.mark.parametrize(
    ("name", "field"), [("config.json", ("classes",)), ("metrics.json", ("test_accuracy",))]
)
@pytest.mark.parametrize("kind", ["string", "nested"])
def test_a_damaged_trial_is_trained_again(swept, sweep_home, tmp_path, name, field, kind):
    from mnistlab.workflows.sweep import run_sweep

    out = shutil.copytree(swept.parent / "out", tmp_path / "out")
    [trial] = (out / "trials").iterdir()
    document = json.loads((trial / name).read_text())
    (trial / name).write_text(json.dumps(replace_field(document, field, WRONG[kind])))
    result = run_sweep(swept, out=out)
    assert result.ran == 1 and result.rows[0]["status"] == "ok"
    assert isinstance(json.loads((trial / "metrics.json").read_text())["test_accuracy"], float)


def test_a_sweep_json_of_another_sweep_is_still_told_apart(swept, sweep_home, tmp_path):
    from mnistlab.workflows.sweep import run_sweep

    out = shutil.copytree(swept.parent / "out", tmp_path / "out")
    document = json.loads((out / "sweep.json").read_text())
    document["identity"]["name"] = "other"
    (out / "sweep.json").write_text(json.dumps(document))
    with pytest.raises(MnistlabError, match="holds another sweep \\('other'\\)"):
        run_sweep(swept, out=out)
