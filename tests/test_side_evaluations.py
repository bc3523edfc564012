"""A run evaluated on other data: a side evaluation in its own folder, with that data's provenance; the run's own
record (metrics.json, model card, report, leaderboard row, `mnistlab runs`) keeps its own test numbers."""

import json
from pathlib import Path

import numpy as np
import pytest
from bs4 import BeautifulSoup

from mnistlab import datasets, runs
from mnistlab.cli.main import main
from mnistlab.fileio import markdown_text

CLASSES = ["left", "middle", "right"]


def _npz(path: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    np.savez(path, images=images, labels=labels, classes=np.array(CLASSES))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, smooth_images):
    """A small MLP run on smooth blobs, evaluated on its own test data, and other data of the same classes whose
    accuracy differs from the run's own (shifted blobs)."""
    from mnistlab import workflows

    root = tmp_path_factory.mktemp("side")
    images, labels = smooth_images(400, seed=0)
    data = _npz(root / "blobs.npz", images, labels)
    run = root / "runs" / "mlp"
    workflows.train_model(
        str(data),
        "mlp",
        test_fraction=0.25,
        params={"epochs": 3, "batch_size": 32, "threads": 1},
        seed=0,
        out=run,
        verbose=0,
    )
    workflows.evaluate_run(run)
    other_images, other_labels = smooth_images(150, seed=1)
    other_images = np.roll(other_images, 5, axis=2)  # shifted right: many blobs change third, a worse score
    other = _npz(root / "other.npz", other_images, other_labels)
    return run, other


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_side_evaluation_leaves_the_run_record_and_names_its_data(trained, capsys):
    run, other = trained
    before = _files(run)
    assert main(["evaluate", str(run), "--test", str(other)]) == 0
    out = capsys.readouterr().out
    assert _files(run) == before, "metrics.json, the model card and the figures are byte-identical"
    side = run / "evaluations" / "other.npz"
    assert f"written to {side}" in out and "unchanged" in out
    record = json.loads((side / "metrics.json").read_text())
    scored = datasets.load(other, "test")
    assert record["data"]["path"] == str(other.resolve())
    assert record["data"]["rows"] == len(scored) == record["n_test"]
    assert record["data"]["sha256"] == datasets.fingerprint(scored)
    assert record["run_identity"] == runs.run_identity(run)
    own = json.loads((run / "metrics.json").read_text())
    assert record["test_accuracy"] != own["test_accuracy"], "the fixture's two data sets score differently"
    assert f"accuracy {record['evaluation']['accuracy']:.4f}" in out
    card = (side / "evaluation.md").read_text()
    assert (
        markdown_text(str(other.resolve())) in card and datasets.fingerprint(scored) in card
    )  # escaped text
    assert {"confusion_counts.png", "metrics.json", "evaluation.md"} <= set(_files(side))
    assert "learning_curves.png" not in _files(side), "the run's curves stay with the run"


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_the_runs_own_numbers_stay_on_the_leaderboard_report_and_listing(trained, capsys):
    run, other = trained
    main(["evaluate", str(run), "--test", str(other)])
    own = json.loads((run / "metrics.json").read_text())["test_accuracy"]
    side = json.loads((run / "evaluations" / "other.npz" / "metrics.json").read_text())["test_accuracy"]
    page = run.parent.parent / "leaderboard.html"
    assert main(["report", str(run.parent), "--compare", "--out", str(page)]) == 0
    soup = BeautifulSoup(page.read_text(), "html.parser")
    cells = [td.text for td in soup.find("table").find_all("td")]
    assert f"{own:.4f}" in cells and f"{side:.4f}" not in cells
    report = BeautifulSoup((run / "report.html").read_text(), "html.parser")
    assert report.find(id="test-accuracy").text == f"{own:.4f}"
    listed = report.find(id="side-evaluations-table").find_all("tr")[1].find_all("td")
    assert listed[0].text == str(other) and listed[5].text == f"{side:.4f}"
    capsys.readouterr()
    assert main(["runs", str(run.parent)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(str(run)))
    assert f"{own:.4f}" in line and f"{side:.4f}" not in line


@pytest.mark.slow  # an end-to-end path of several seconds: in make test, not make test-fast
def test_the_same_data_replaces_its_side_evaluation_and_other_data_of_that_name_gets_its_own(
    trained, tmp_path, smooth_images
):
    from mnistlab import workflows

    run, other = trained
    first = workflows.evaluate_run(run, test=str(other))["written_to"]
    assert workflows.evaluate_run(run, test=str(other))["written_to"] == first
    spelt_otherwise = f"{other.parent}/./{other.name}"
    assert workflows.evaluate_run(run, test=spelt_otherwise)["written_to"] == first
    (tmp_path / "elsewhere").mkdir()
    images, labels = smooth_images(60, seed=2)
    namesake = _npz(tmp_path / "elsewhere" / "other.npz", images, labels)
    second = workflows.evaluate_run(run, test=str(namesake))["written_to"]
    assert Path(second).name == "other.npz-2" and Path(second).parent == run / "evaluations"
    assert json.loads((Path(first) / "metrics.json").read_text())["data"]["path"] == str(other.resolve())
    (run / "evaluations" / "stopped").mkdir()  # an evaluation that stopped before its metrics.json
    assert runs.side_evaluation_folder(run, {"spec": "stopped", "path": "/x/stopped"}).name == "stopped"


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("../../etc/passwd", "passwd"),
        ("..", "data"),
        (".hidden/.x", "x"),
        ("a b/weird name?.csv", "weird-name-.csv"),
        ("C:\\data\\test.csv", "test.csv"),
        ("mnist", "mnist"),
        ("x" * 300, "x" * 60),
    ],
)
def test_a_side_evaluation_s_name_is_one_safe_folder_name(spec, name):
    made = runs.side_evaluation_name(spec)
    assert made == name and "/" not in made and not made.startswith(".")


def test_side_evaluations_of_an_earlier_model_in_the_folder_are_not_listed(trained, tmp_path):
    import shutil

    from mnistlab import workflows

    run, other = trained
    copy = tmp_path / "copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("evaluations"))
    workflows.evaluate_run(copy, test=str(other))
    assert [Path(r["folder"]).name for r in runs.side_evaluations(copy)] == ["other.npz"]
    config = json.loads((copy / "config.json").read_text())
    config["saved"] = "2099-01-01 00:00"  # as a new training in the same folder writes it
    (copy / "config.json").write_text(json.dumps(config))
    assert runs.side_evaluations(copy) == []


def test_runs_and_the_leaderboard_say_epochs_and_what_was_set_over_the_recipe(trained, capsys):
    run, _ = trained
    assert main(["runs", str(run.parent)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith(str(run)))
    assert " 3 " in line and "batch_size=32 epochs=3 threads=1" in line
    page = run.parent.parent / "board.html"
    assert main(["report", str(run.parent), "--compare", "--out", str(page)]) == 0
    soup = BeautifulSoup(page.read_text(), "html.parser")
    headers = [th.text for th in soup.find("table").find_all("th")]
    cells = [td.text for td in soup.find("table").find("tbody").find("tr").find_all("td")]
    assert cells[headers.index("epochs")] == "3"
    assert cells[headers.index("set over the recipe")] == "batch_size=32 epochs=3 threads=1"


def test_a_network_trained_before_overrides_were_recorded_shows_what_differs_from_its_recipe():
    config = {"kind": "torch", "model": "mlp", "params": {"epochs": 5, "lr": 3e-3, "verbose": 0}}
    assert runs.overrides(config, {}) == {"epochs": 5}, "the recipe's lr is not an override"
    assert runs.overrides(config, {"overrides": {"lr": 3e-3}}) == {"lr": 3e-3}, "what training recorded wins"
    assert runs.epochs_text(config, [{"epoch": 1}], {}) == "1 of 5"
    assert runs.epochs_text(config, [{"epoch": e} for e in range(1, 6)], {}) == "5"
