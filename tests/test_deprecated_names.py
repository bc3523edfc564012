"""Old names keep working, warn once per process where they are used, stay out of the listings and are listed as
deprecated in the documentation: the model name ``cnn-seed`` (now ``cnn-kaggle``) and the modules
``mnistlab.experiment`` and ``mnistlab.sweep`` (now in ``mnistlab.workflows``), ``mnistlab.analysis`` (now
``mnistlab.representations``) and ``mnistlab.evaluation.extensions`` (now ``mnistlab.evaluation``)."""

from __future__ import annotations

import importlib
import re
import sys
import warnings
from pathlib import Path

import pytest

from mnistlab import errors, models, runs
from mnistlab.cli.main import main
from mnistlab.errors import MnistlabDeprecationWarning
from mnistlab.models import networks

ROOT = Path(__file__).resolve().parents[1]
OLD_MODULES = {
    "mnistlab.experiment": "mnistlab.workflows",
    "mnistlab.sweep": "mnistlab.workflows.sweep",
    "mnistlab.analysis": "mnistlab.representations",
    "mnistlab.evaluation.extensions": "mnistlab.evaluation",
}
MOVED_FUNCTION = {
    "mnistlab.experiment": "train_model",
    "mnistlab.sweep": "run_sweep",
    "mnistlab.analysis": "similarity_graph",
    "mnistlab.evaluation.extensions": "multilabel_study",
}
FORMAT1_OLD_NAME = ROOT / "tests" / "data" / "format1" / "cnn-seed"  # a run saved under the old name


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    """As in a new process: no old name warned about yet (an earlier test, or collecting the doctests of
    ``src``, may have used one)."""
    monkeypatch.setattr(errors, "_WARNED", set())


def deprecations(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, MnistlabDeprecationWarning)]


def test_an_old_model_name_warns_once_per_process_and_names_its_successor():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = models.create("cnn-seed", epochs=1)
        second = models.create("cnn-seed", epochs=1)
    assert first.architecture == second.architecture == "cnn-kaggle"  # the same model, under its new name
    assert models.get_spec("cnn-seed") is models.get_spec("cnn-kaggle")
    assert deprecations(caught) == [
        "the model name 'cnn-seed' is deprecated: use 'cnn-kaggle', the same network (runs saved under the old "
        "name load as before)"
    ]
    assert issubclass(caught[0].category, DeprecationWarning)
    assert caught[0].filename == __file__, "the warning points at the caller's line"


def test_today_s_name_does_not_warn():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models.create("cnn-kaggle", epochs=1)
    assert deprecations(caught) == []


def test_training_a_network_under_its_old_name_warns(blobs):
    X, y = blobs(30)
    clf = models.TorchClassifier("cnn-seed", epochs=1, batch_size=16, threads=1)
    with pytest.warns(MnistlabDeprecationWarning, match="'cnn-seed' is deprecated") as caught:
        clf.fit(X, y)
    assert caught[0].filename == __file__


def test_reading_a_run_saved_under_the_old_name_does_not_warn():
    """The run cannot be renamed and its format keeps the old name readable: loading, listing and comparing
    its parameters with the recipe stay quiet."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator = runs.load(FORMAT1_OLD_NAME)
        listed = runs.list_runs(FORMAT1_OLD_NAME.parent)
        runs.overrides(runs.read_config(FORMAT1_OLD_NAME), {})
    assert estimator.architecture == "cnn-seed" and listed
    assert deprecations(caught) == []


def test_the_command_line_shows_the_warning_once_as_one_line(tmp_path):
    """Python hides a deprecation warning raised inside a library; the command line shows mnistlab's own (in a
    process of its own, as a user runs it), once, as one line, before anything else (here: data that is not
    there)."""
    import subprocess

    command = ["train", "--data", str(tmp_path / "missing.npz"), "--model", "cnn-seed", "--epochs", "1"]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mnistlab.cli import entry; entry()",
            *command,
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=300,  # a guard against a hang only
    )
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and lines[-1].startswith("error: ") and "missing.npz" in lines[-1], (
        done.stderr
    )
    assert [line for line in lines if "deprecated" in line] == [
        "warning: the model name 'cnn-seed' is deprecated: use 'cnn-kaggle', the same network (runs saved under "
        "the old name load as before)"
    ], done.stderr
    assert "DeprecationWarning" not in done.stderr


def test_old_names_stay_out_of_the_listings(capsys):
    assert "cnn-seed" not in models.available()
    assert main(["models"]) == 0
    assert "cnn-seed" not in capsys.readouterr().out
    assert set(networks.ALIASES).isdisjoint(networks.NETWORKS)


@pytest.mark.parametrize(("old", "new"), OLD_MODULES.items())
def test_an_old_module_warns_once_per_process(old, new):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):  # imported again from scratch: still one warning
            sys.modules.pop(old, None)
            module = importlib.import_module(old)
    assert len(deprecations(caught)) == 1
    assert re.fullmatch(
        rf"{re.escape(old)} is deprecated: import the same \w+ from {re.escape(new)}", deprecations(caught)[0]
    )
    name = MOVED_FUNCTION[old]
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def section(page: str, title: str) -> str:
    return (ROOT / "docs" / page).read_text().split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_documentation_lists_every_old_name_as_deprecated_and_nowhere_else_as_a_name_to_use():
    """The glossary lists each old model name with its successor, the API reference each old import path with
    where its names live now; the models guide's table of models, like ``mnistlab models``, does not list the
    old name."""
    glossary = section("glossary.md", "Deprecated names")
    for old, new in networks.ALIASES.items():
        assert re.search(rf"`{re.escape(old)}`.*`{re.escape(new)}`", glossary), old
    api = {
        line.split("|")[1].strip(): line
        for line in section("api/index.md", "Deprecated").splitlines()[1:]
        if "|" in line
    }
    for old, new in OLD_MODULES.items():
        assert ".".join(new.split(".")[:2]) in api[f"`{old}`"], old
    table = (
        (ROOT / "docs" / "guide" / "models.md").read_text().split("| name | what |", 1)[1].split("\n\n", 1)[0]
    )
    assert all(f"`{old}`" not in table for old in networks.ALIASES)
