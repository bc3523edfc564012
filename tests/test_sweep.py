"""Sweeps: the table of a tiny sweep, locally and on a Dask LocalCluster; resuming after a killed sweep; a failing
trial recorded; MLflow tracking read back; and every bad sweep file or address as a clear one-line error."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnistlab.cli.main import main
from mnistlab.errors import MnistlabError
from mnistlab.workflows.sweep import read_sweep, run_sweep, summarise

pytestmark = pytest.mark.realdata  # the sweeps train on MNIST (600 images)

TINY = """
name = "tiny"
out = "{out}"
data = ["mnist"]
seeds = [0, 1]
limit = 600

[[models]]
name = "knn"
grid = {{ n_neighbors = [3, 5] }}

[[models]]
name = "random-forest"
grid = {{ n_estimators = [5, 10], n_jobs = [1] }}
"""


def sweep_file(tmp_path: Path, text: str = TINY, out: str = "out") -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(text.format(out=(tmp_path / out).as_posix()))
    return path


def table(out: Path, name: str = "results.csv") -> list[dict]:
    with open(out / name, newline="") as f:
        return list(csv.DictReader(f))


def accuracies(rows: list[dict]) -> dict:
    return {(r["model"], r["params"], r["seed"]): float(r["test_accuracy"]) for r in rows}


def test_tiny_sweep_writes_run_folders_and_tables(tmp_path):
    result = run_sweep(sweep_file(tmp_path), jobs=2)
    rows = table(tmp_path / "out")
    assert len(rows) == 8 and result.ran == 8 and all(r["status"] == "ok" for r in rows)
    for row in rows:
        assert (Path(row["folder"]) / "config.json").is_file() and (
            Path(row["folder"]) / "metrics.json"
        ).is_file()
    summary = table(tmp_path / "out", "summary.csv")
    assert len(summary) == 4 and {s["seeds"] for s in summary} == {"2"}
    forest = [r for r in rows if r["model"] == "random-forest" and '"n_estimators": 10' in r["params"]]
    mean = sum(float(r["test_accuracy"]) for r in forest) / 2
    assert float(
        next(s for s in summary if s["params"] == forest[0]["params"])["mean_accuracy"]
    ) == pytest.approx(mean)
    assert forest[0]["test_accuracy"] != forest[1]["test_accuracy"], (
        "the seed reaches the forest's random_state"
    )


def test_reference_accuracies_and_the_leaderboard_page(tmp_path, capsys):
    text = TINY.replace("limit = 600", "limit = 300") + "\n[reference]\nknn = {{ mnist = 0.5 }}\n"
    assert main(["sweep", str(sweep_file(tmp_path, text))]) == 0
    printed = capsys.readouterr().out
    assert printed.count("  done mnist ") == 8, "one line per finished trial"
    summary = table(tmp_path / "out", "summary.csv")
    for row in summary:
        if row["model"] == "knn":
            assert float(row["reference_accuracy"]) == 0.5
            assert float(row["difference"]) == pytest.approx(float(row["mean_accuracy"]) - 0.5)
            assert f"{100 * float(row['difference']):+.2f} pp vs 0.5" in printed
        else:
            assert row["reference_accuracy"] == row["difference"] == ""
    page = (tmp_path / "out" / "leaderboard.html").read_text()
    assert "<h2>mnist</h2>" in page and page.count("<svg") == 1 and "8 of 8 trials finished" in page
    for row in table(tmp_path / "out"):
        link = f'href="./trials/{Path(row["folder"]).name}/"'
        assert link in page and (tmp_path / "out" / "trials" / Path(row["folder"]).name).is_dir()
    knn = next(r for r in summary if r["model"] == "knn")
    assert f"{100 * float(knn['difference']):+.2f}" in page and not re.search(
        r'(src|href)="(https?:)?//', page
    )
    table_script = Path(__file__).parents[1] / "benchmarks" / "sweep_table.py"
    markdown = subprocess.run(
        [sys.executable, str(table_script), str(tmp_path / "out")], capture_output=True, text=True, check=True
    ).stdout
    knn_line = next(line for line in markdown.splitlines() if line.startswith(f"| knn `{knn['params']}` |"))
    spread = f"[{float(knn['min_accuracy']):.3f}, {float(knn['max_accuracy']):.3f}] (2 seeds)"
    difference = f"{100 * float(knn['difference']):+.2f}"
    assert f"| {float(knn['mean_accuracy']):.3f} {spread} | 0.500 | {difference} |" in knn_line


def test_the_sweep_page_sorts_each_table_by_its_own_column(tmp_path, browser):
    """In a browser: a click on a header sorts its own table by that column (a page holds several tables), and
    a second click reverses it. Each table starts in an order the click must change, so a sorter that does
    nothing fails."""
    run_sweep(sweep_file(tmp_path, TINY.replace("limit = 600", "limit = 300")), jobs=2)
    tab = browser.new_page()
    tab.goto((tmp_path / "out" / "leaderboard.html").as_uri())
    tab.click("details summary")
    trials = tab.locator("table").nth(1)
    before = [float(t) for t in trials.locator("tbody tr td:nth-child(6)").all_inner_texts()]
    assert len(before) == 8 and before != sorted(before), "trials start in plan order, not by accuracy"
    trials.locator("th", has_text="test accuracy").click()
    shown = [float(t) for t in trials.locator("tbody tr td:nth-child(6)").all_inner_texts()]
    assert shown == sorted(before)
    seeds_before = trials.locator("tbody tr td:nth-child(4)").all_inner_texts()
    trials.locator("th", has_text="seed").click()
    seeds = trials.locator("tbody tr td:nth-child(4)").all_inner_texts()
    assert seeds == sorted(seeds_before) and seeds_before != seeds
    summary = tab.locator("table").nth(0)
    means = [float(t) for t in summary.locator("tbody tr td:nth-child(4)").all_inner_texts()]
    assert means == sorted(means, reverse=True) and len(set(means)) > 1, "the summary starts best first"
    summary.locator("th", has_text="mean accuracy").click()
    assert [float(t) for t in summary.locator("tbody tr td:nth-child(4)").all_inner_texts()] == sorted(means)
    summary.locator("th", has_text="mean accuracy").click()  # a second click: best first again
    assert [float(t) for t in summary.locator("tbody tr td:nth-child(4)").all_inner_texts()] == means
    tab.close()


def test_the_same_table_on_a_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    file = sweep_file(tmp_path, out="local")
    local = run_sweep(file, jobs=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        remote = run_sweep(
            file, cluster=c.scheduler_address, out=tmp_path / "dask"
        )  # the same file elsewhere
    assert remote.ran == 8 and (tmp_path / "dask" / "summary.csv").is_file()
    assert accuracies(remote.rows) == accuracies(local.rows)


def test_killed_sweep_resumes_without_redoing_finished_trials(tmp_path):
    path = sweep_file(tmp_path)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-c", "from mnistlab.cli import entry; entry()", "sweep", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120  # a guard against a hang only (the first trial takes about a second)
    # The tables exist from the start (written atomically); the first row marks the first finished trial.
    while time.monotonic() < deadline and not ((out / "results.csv").is_file() and table(out)):
        time.sleep(0.05)
    process.kill()
    process.wait()
    finished = {r["folder"]: (Path(r["folder"]) / "metrics.json").stat().st_mtime_ns for r in table(out)}
    assert 1 <= len(finished) < 8, "killed after the first trial, before the last"
    result = run_sweep(path)
    assert result.ran == 8 - len(finished) and len(result.rows) == 8
    for folder, mtime in finished.items():
        assert (Path(folder) / "metrics.json").stat().st_mtime_ns == mtime, f"{folder} was trained again"


def test_failing_trial_is_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    text = TINY.replace("n_neighbors = [3, 5]", "n_neighbors = [3, 100000]")  # more neighbours than images
    path = sweep_file(tmp_path, text)
    assert main(["sweep", str(path)]) == 1
    rows = table(tmp_path / "out")
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(rows) == 8 and len(failed) == 2 and all("n_neighbors" in r["error"] for r in failed)
    assert "2 failed" in capsys.readouterr().out
    summary = table(tmp_path / "out", "summary.csv")
    assert next(s for s in summary if "100000" in s["params"])["failed"] == "2"


def test_mlflow_tracking_reads_back(tmp_path):
    mlflow = pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    text = TINY.replace("seeds = [0, 1]", "seeds = [0]").replace(
        "n_estimators = [5, 10]", "n_estimators = [5]"
    )
    text = text.replace(
        'name = "knn"\ngrid = {{ n_neighbors = [3, 5] }}', 'name = "mlp"\ngrid = {{ epochs = [2] }}'
    )
    run_sweep(sweep_file(tmp_path, text), track="mlflow", tracking_uri=uri)
    client = mlflow.tracking.MlflowClient(uri)
    experiment = client.get_experiment_by_name("mnistlab-sweep-tiny")
    found = client.search_runs([experiment.experiment_id])
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in found if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and len(children) == 2
    mlp = next(r for r in children if r.data.params["model"] == "mlp")
    assert 0 < mlp.data.metrics["test_accuracy"] <= 1
    assert len(client.get_metric_history(mlp.info.run_id, "train_loss")) == 2, "one point per epoch"
    assert "config.json" in {a.path for a in client.list_artifacts(mlp.info.run_id)}
    assert (tmp_path / "out" / "mlartifacts").is_dir() and not Path("mlruns").exists(), (
        "artefacts beside the sweep"
    )


BAD_FILES = {
    "unknown model": ('[[models]]\nname = "resnet"', "unknown model 'resnet'"),
    "unknown parameter": (
        '[[models]]\nname = "knn"\ngrid = { neighbours = [3] }',
        "unknown parameter 'neighbours'",
    ),
    "empty grid": ('[[models]]\nname = "knn"\ngrid = { n_neighbors = [] }', "non-empty list"),
    "bad value": ('[[models]]\nname = "knn"\ngrid = { n_neighbors = [-1] }', "n_neighbors"),
    "no models": ("models = []", "at least one"),
    "unknown key": ('colour = "red"\n[[models]]\nname = "knn"', "unknown key 'colour'"),
    "reference to a model not swept": (
        '[[models]]\nname = "knn"\n[reference]\nsvc = { mnist = 0.97 }',
        "reference names model 'svc'",
    ),
    "reference to other data": (
        '[[models]]\nname = "knn"\n[reference]\nknn = { fashion = 0.85 }',
        "names data 'fashion'",
    ),
    "reference not an accuracy": (
        '[[models]]\nname = "knn"\n[reference]\nknn = { mnist = 97 }',
        "reference.knn.mnist = 97; expected an accuracy in [0, 1]",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_sweep_file_is_a_one_line_error(tmp_path, capsys, case):
    body, message = BAD_FILES[case]
    path = tmp_path / "bad.toml"
    path.write_text(f'name = "bad"\nout = "{(tmp_path / "out").as_posix()}"\ndata = "mnist"\n{body}\n')
    assert main(["sweep", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists(), "nothing written for a bad file"


def test_bad_jobs_is_refused_before_anything_is_written(tmp_path, capsys):
    assert main(["sweep", str(sweep_file(tmp_path)), "--jobs", "0"]) == 1
    assert "--jobs 0; expected an integer >= 1" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_not_toml_and_missing_file(tmp_path, capsys):
    (tmp_path / "x.toml").write_text("name = [unclosed")
    assert main(["sweep", str(tmp_path / "x.toml")]) == 1
    assert "not a readable TOML sweep file" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "missing.toml")]) == 1
    assert "sweep file not found" in capsys.readouterr().err


@pytest.mark.timeout(300)  # a guard against a hang only: Dask's own patience is set to an hour below
def test_cluster_that_does_not_answer_fails_within_the_timeout(tmp_path):
    """The sweep's cluster_timeout, not Dask's configured connect timeout, decides when to give up: with Dask's
    set to an hour, a sweep that ignored its own would hang (and the guard above fail it)."""
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.distributed")
    import socket

    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "3600s"}),
        pytest.raises(
            MnistlabError, match=f"no Dask scheduler answered at tcp://127.0.0.1:{port} within 2 s"
        ),
    ):
        run_sweep(sweep_file(tmp_path), cluster=f"tcp://127.0.0.1:{port}", cluster_timeout=2)


def test_output_folder_of_another_sweep_is_refused_and_kept(tmp_path):
    run_sweep(sweep_file(tmp_path, TINY.replace("seeds = [0, 1]", "seeds = [0]")))
    before = sorted(p.name for p in (tmp_path / "out" / "trials").iterdir())
    other = sweep_file(tmp_path, TINY.replace('name = "tiny"', 'name = "other"'))
    with pytest.raises(MnistlabError, match="holds another sweep .'tiny'."):
        run_sweep(other)
    assert sorted(p.name for p in (tmp_path / "out" / "trials").iterdir()) == before
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("mine")
    with pytest.raises(MnistlabError, match="is not a sweep folder"):
        run_sweep(sweep_file(tmp_path, out="plain"))
    (tmp_path / "a-file").write_text("mine")
    assert main(["sweep", str(sweep_file(tmp_path)), "--out", str(tmp_path / "a-file")]) == 1
    assert (tmp_path / "a-file").read_text() == "mine"


def test_plan_expands_grid_and_sample(tmp_path):
    text = TINY.replace(
        "n_estimators = [5, 10], n_jobs = [1] }}", "n_estimators = [5, 10, 20], n_jobs = [1] }}\nsample = 2"
    )
    plan = read_sweep(sweep_file(tmp_path, text))
    forests = {t.params for t in plan.trials if t.model == "random-forest"}
    assert len(plan.trials) == (2 + 2) * 2 and len(forests) == 2
    assert {t.key for t in read_sweep(sweep_file(tmp_path, text)).trials} == {t.key for t in plan.trials}


def test_an_entry_reference_applies_to_its_configurations_only(tmp_path):
    text = TINY.replace('name = "knn"\n', 'name = "knn"\nreference = {{ mnist = 0.25 }}\n')
    text += (
        '\n[[models]]\nname = "knn"\ngrid = {{ n_neighbors = [7] }}\n\n[reference]\nknn = {{ mnist = 0.5 }}\n'
    )
    plan = read_sweep(sweep_file(tmp_path, text))
    rows = [
        {
            "data": "mnist",
            "model": "knn",
            "params": t.params_text,
            "status": "ok",
            "test_accuracy": 0.9,
            "train_seconds": 1.0,
        }
        for t in plan.trials
        if t.model == "knn"
    ]
    references = {r["params"]: r["reference_accuracy"] for r in summarise(rows, plan.references)}
    assert references == {'{"n_neighbors": 3}': 0.25, '{"n_neighbors": 5}': 0.25, '{"n_neighbors": 7}': 0.5}
    bad = TINY.replace('name = "knn"\n', 'name = "knn"\nreference = {{ mnist = 1.5 }}\n')
    with pytest.raises(MnistlabError, match=r"models\[0\]\.reference\.mnist = 1\.5; expected an accuracy"):
        read_sweep(sweep_file(tmp_path, bad))


def test_a_model_can_have_its_own_seeds(tmp_path):
    text = TINY.replace('name = "knn"\n', 'name = "knn"\nseeds = [0]\n')
    plan = read_sweep(sweep_file(tmp_path, text))
    assert sorted(t.seed for t in plan.trials if t.model == "knn") == [0, 0]  # 2 values x 1 seed
    assert sorted(t.seed for t in plan.trials if t.model == "random-forest") == [0, 0, 1, 1]
    bad = TINY.replace('name = "knn"\n', 'name = "knn"\nseeds = [-1]\n')
    with pytest.raises(MnistlabError, match=r"models\[0\]: seeds=\[-1\]"):
        read_sweep(sweep_file(tmp_path, bad))


def test_the_fashion_benchmark_sweep_file_is_valid():
    plan = read_sweep(Path(__file__).parents[1] / "benchmarks" / "fashion_benchmark.toml")
    families = {t.model for t in plan.trials}
    assert len(families) == 13 and {t.data for t in plan.trials} == {"fashion-mnist-kaggle", "mnist"}
    assert families - set(plan.references) == {"hist-gb"}, "every published family has its published figures"
    poly = next(t for t in plan.trials if dict(t.params).get("kernel") == "poly")
    assert plan.references[f"svc {poly.params_text}"] == {"fashion-mnist-kaggle": 0.891, "mnist": 0.976}
    assert all(len(by_data) == 2 for by_data in plan.references.values())
    assert plan.trials[-1].model == "gradient-boosting", "the hours-long row last"


def test_cv_and_detect_take_the_same_parallel_path(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    from mnistlab.workflows import cross_validate, detect

    serial = cross_validate("mnist", "naive-bayes", folds=3, limit=600)
    assert cross_validate("mnist", "naive-bayes", folds=3, limit=600, jobs=2)["scores"] == serial["scores"]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        remote = cross_validate("mnist", "naive-bayes", folds=3, limit=600, cluster=c.scheduler_address)
        found = detect(
            "mnist", "5", ("sgd",), folds=3, limit=600, cluster=c.scheduler_address, target_precision=None
        )
    assert remote["scores"] == serial["scores"]
    assert (
        found["sgd"]["cv_accuracy"]
        == detect("mnist", "5", ("sgd",), 3, None, limit=600)["sgd"]["cv_accuracy"]
    )
    with pytest.raises(MnistlabError, match="jobs=0"):
        cross_validate("mnist", "naive-bayes", limit=600, jobs=0)
