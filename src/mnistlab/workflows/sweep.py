"""``mnistlab sweep``: many models, parameter values and seeds, each trial an ordinary run folder, one table of
them all. The sweep file and its checks are in ``workflows.sweep_plan``.

``run_sweep`` trains the trials that are not finished yet (a trial is finished when its run folder holds
``metrics.json``), in parallel through joblib (loky processes locally, or a Dask cluster), and writes
``results.csv`` (one row per trial, failures with their error), ``summary.csv`` (mean and spread over seeds, and
the difference from a reference accuracy where the file gives one) and ``leaderboard.html`` after every trial,
atomically: an interrupted sweep keeps its table and picks up where it stopped.

Examples
--------
>>> plan = read_sweep("sweep.toml")  # doctest: +SKIP
>>> run_sweep(plan, jobs=2).summary[0]  # doctest: +SKIP
{'data': 'mnist', 'model': 'knn', 'params': '{"n_neighbors": 3}', 'seeds': 2, 'mean_accuracy': 0.91..., ...}
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import reprlib
import statistics
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mnistlab import models, runs
from mnistlab.errors import MnistlabError
from mnistlab.fileio import read_json, write_json, write_table
from mnistlab.parallel import check_jobs, loop_of_fits, parallel
from mnistlab.params import one_of, validates
from mnistlab.workflows.sweep_plan import MAX_TRIALS, PLAN_FILE, SweepPlan, Trial, read_sweep, reference_for

__all__ = ["SweepResult", "read_sweep", "reference_for", "run_sweep", "summarise"]

SUMMARY_COLUMNS = [
    "data",
    "model",
    "params",
    "seeds",
    "mean_accuracy",
    "std_accuracy",
    "min_accuracy",
    "max_accuracy",
    "reference_accuracy",
    "difference",
    "mean_train_seconds",
    "failed",
]
LOCK_FILE, RUNNING = ".sweep.lock", ".running"
WORKER_DIED = (
    "WorkerDied: the process training this trial died (killed by the system, often for lack of memory); "
    "run the sweep again to retry it"
)
RESULT_COLUMNS = [
    "data",
    "model",
    "params",
    "seed",
    "status",
    "test_accuracy",
    "test_loss",
    "train_seconds",
    "folder",
    "error",
]


@dataclass
class SweepResult:
    out: Path
    rows: list[dict] = field(default_factory=list)
    summary: list[dict] = field(default_factory=list)
    ran: int = 0  # trials trained by this call (the others were finished before)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "failed"]


# ---------------------------------------------------------------------------------------------- running


@validates("sweep", track=one_of("mlflow", none=True))
def run_sweep(
    plan: SweepPlan | str | Path,
    jobs: int = 1,
    cluster: str | None = None,
    track: str | None = None,
    tracking_uri: str | None = None,
    cluster_timeout: float = 10.0,
    on_trial: Callable[[dict], None] | None = None,
    out: str | Path | None = None,
    max_trials: int = MAX_TRIALS,
) -> SweepResult:
    """Train every unfinished trial of a sweep and write the tables and the leaderboard page.

    A failing trial is recorded with its error and the others go on. One sweep at a time works in a folder (a
    second one is refused while the first runs). A trial whose worker process dies (killed by the system, often
    for lack of memory) is recorded as failed; running the sweep again retries failed and unfinished trials.

    Parameters
    ----------
    plan : SweepPlan, str or Path
        A sweep file (TOML) or a plan read by :func:`read_sweep`.
    jobs : int
        Trials at once (joblib's loky processes; PyTorch threads are split so jobs x threads = cores).
    cluster : str, optional
        The address of a Dask scheduler to run the trials on (``tcp://host:8786``).
    track : {"mlflow"}, optional
        Also log each trial to MLflow: a parent run for the sweep, a child run per trial.
    tracking_uri : str, optional
        MLflow's store; default ``sqlite:///OUT/mlflow.db``.
    cluster_timeout : float
        Seconds to wait for the cluster to answer.
    on_trial : callable, optional
        Called with each trial's row as it finishes (the command line prints it).
    out : str or Path, optional
        Write the sweep to this folder instead of the file's ``out``.
    max_trials : int
        The most trials a sweep file may ask for.

    Returns
    -------
    SweepResult
        ``out``, the ``rows`` of every trial, the ``summary`` over seeds, and how many trials ``ran`` now.

    Examples
    --------
    >>> result = run_sweep("examples/sweep.toml", jobs=2)  # doctest: +SKIP
    """
    plan = plan if isinstance(plan, SweepPlan) else read_sweep(plan, max_trials)
    if out is not None:
        plan = dataclasses.replace(plan, out=Path(out))
    check_jobs(jobs)  # before anything is written
    with _locked(plan.out):
        _claim_folder(plan)
        rows = {t.key: r for t in plan.trials if (r := _finished_row(t, plan.out)) is not None}
        tracker = _tracker(track, tracking_uri, plan)
        result = SweepResult(plan.out)
        _write_tables(
            plan, rows, result
        )  # a resumed sweep's tables and page are current before its next trial

        def record(trial: Trial, row: dict) -> None:
            rows[trial.key] = row
            result.ran += 1
            _write_tables(plan, rows, result)
            if on_trial:
                on_trial(row)
            if tracker:
                tracker.log_trial(trial, row, trial.folder(plan.out))

        with loop_of_fits():  # Ctrl-C or SIGTERM stops the sweep; its finished trials are kept
            _run_pending(plan, rows, record, jobs, cluster, cluster_timeout)
        if tracker:
            tracker.close()
    return result


def _run_pending(plan: SweepPlan, rows: dict, record, jobs: int, cluster, timeout: float) -> None:
    """Run the trials without a row. When a worker process dies, every trial that had started and not finished
    is a suspect: each runs again alone in a fresh pool, and one whose worker dies twice while it runs alone
    (so it is the cause) becomes a failed row; then the rest go on in a fresh pool."""
    from joblib.externals.loky.process_executor import BrokenProcessPool

    running, suspects, deaths = plan.out / RUNNING, set(), {}
    while pending := [t for t in plan.trials if t.key not in rows]:
        alone = [t for t in pending if t.key in suspects][:1]
        batch, n_jobs = (
            (alone, max(jobs, 2)) if alone else (pending, jobs)
        )  # 2: a worker process, not this one
        try:
            for trial, row in _parallel(batch, plan, n_jobs, cluster, timeout):
                (running / trial.key).unlink(missing_ok=True)
                record(trial, row)
        except BrokenProcessPool:
            _discard_broken_pool()
            if alone:  # died alone twice (a pool can break late, under a trial that just began): the cause
                trial = alone[0]
                (running / trial.key).unlink(missing_ok=True)
                deaths[trial.key] = deaths.get(trial.key, 0) + 1
                if deaths[trial.key] >= 2:
                    record(trial, _row(trial, plan.out, "failed", error=WORKER_DIED))
                continue
            started = {t.key for t in batch if (running / t.key).exists() and t.key not in rows}
            for key in started:
                (running / key).unlink(missing_ok=True)
            suspects |= started or {t.key for t in batch if t.key not in rows}


def _discard_broken_pool() -> None:
    """Shut joblib's reusable worker pool down, workers killed, so the next trials start in a fresh one (a pool
    that lost a worker can break again under the next task)."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


@contextlib.contextmanager
def _locked(out: Path):
    """Hold ``out/.sweep.lock`` for the sweep: a second sweep on the same folder is refused, not run twice."""
    import fcntl

    if out.exists() and not out.is_dir():
        raise MnistlabError(f"{out}: is a file; the sweep's `out` must be a folder")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_FILE, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MnistlabError(
                f"{out}: another sweep is running in this folder; wait for it, or choose another 'out'"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _claim_folder(plan: SweepPlan) -> None:
    """An output folder holds one sweep: refuse a folder holding another, never touch what it holds."""
    plan_file = plan.out / PLAN_FILE
    if plan.out.exists() and not plan.out.is_dir():
        raise MnistlabError(f"{plan.out}: is a file; the sweep's `out` must be a folder")
    if plan_file.exists():
        held = _held_identity(plan_file)
        if held != plan.identity():
            raise MnistlabError(
                f"{plan.out}: holds another sweep ({reprlib.repr(held.get('name'))}); "
                "choose another 'out' for this one"
            )
    elif plan.out.exists() and any(p.name != LOCK_FILE for p in plan.out.iterdir()):
        raise MnistlabError(f"{plan.out}: exists and is not a sweep folder; choose another 'out'")
    plan.out.mkdir(parents=True, exist_ok=True)
    write_json(
        plan_file,
        {
            "identity": plan.identity(),
            "source": plan.source,
            "trials": [asdict(t) | {"key": t.key} for t in plan.trials],
            "references": plan.references,
        },
    )


def _held_identity(plan_file: Path) -> dict:
    """The identity of the sweep a folder holds, from its ``sweep.json``; a damaged file is named, not guessed at
    (a sweep cannot tell whether it is its own)."""
    held = read_json(plan_file)
    identity = held.get("identity") if isinstance(held, dict) else held
    if not isinstance(identity, dict):
        field = "identity" if isinstance(held, dict) else "sweep"
        raise MnistlabError(
            f"{plan_file}: {field}={reprlib.repr(identity)}; expected an object with the sweep's name and settings "
            "(the file is damaged: choose another 'out', or remove it if the folder is this sweep's)"
        )
    return identity


def _finished_row(trial: Trial, out: Path) -> dict | None:
    """The row of a trial whose run folder is complete (config.json is written last, and it and the metrics
    read back); None for a trial to run (again): never done, or stopped halfway through saving."""
    folder = trial.folder(out)
    if not (folder / runs.CONFIG).is_file():
        return None
    try:
        runs.read_config(folder)
        metrics = runs.read_metrics(folder)
    except MnistlabError:
        return None
    if metrics.get("test_accuracy") is None:
        return None
    return _row(trial, out, "ok", metrics=metrics)


def _row(trial: Trial, out: Path, status: str, metrics: dict | None = None, error: str = "") -> dict:
    metrics = metrics or {}
    return {
        "data": trial.data,
        "model": trial.model,
        "params": trial.params_text,
        "seed": trial.seed,
        "status": status,
        "test_accuracy": metrics.get("test_accuracy"),
        "test_loss": metrics.get("test_loss"),
        "train_seconds": metrics.get("train_seconds"),
        "folder": str(trial.folder(out)),
        "error": error,
    }


def run_trial(
    trial: Trial,
    out: Path,
    limit: int | None,
    validation_fraction: float,
    threads: int | None,
    settings: dict[str, str] | None = None,
) -> dict:
    """One trial in a worker: an ordinary run folder; a user's mistake or a bug becomes a failed row.
    ``settings``: the sweep's ``MNISTLAB_*`` environment (a reused local worker process keeps the environment it
    started with, which may name another data home)."""
    if settings is not None:
        for name in [k for k in os.environ if k.startswith("MNISTLAB_")]:
            del os.environ[name]
        os.environ.update(settings)
    from mnistlab.workflows.train import train_model

    (out / RUNNING).mkdir(exist_ok=True)
    (out / RUNNING / trial.key).touch()  # if this process dies, the sweep knows which trial it was running
    params = dict(trial.params)
    if threads and models.get_spec(trial.model).kind == "torch":
        params.setdefault("threads", threads)
    try:
        run = train_model(
            trial.data,
            trial.model,
            params=params,
            seed=trial.seed,
            out=trial.folder(out),
            limit=limit,
            validation_fraction=validation_fraction,
            overwrite=True,
            verbose=0,
        )
    except KeyboardInterrupt:  # the sweep stops; this trial is not finished, and no longer running
        (out / RUNNING / trial.key).unlink(missing_ok=True)
        raise
    except Exception as exc:  # recorded with its error; the sweep goes on
        return _row(trial, out, "failed", error=f"{type(exc).__name__}: {exc}")
    return _row(trial, out, "ok", metrics=run.metrics)


def _parallel(
    pending: list[Trial], plan: SweepPlan, jobs: int, cluster: str | None, timeout: float
) -> Iterator[tuple[Trial, dict]]:
    """(trial, row) as each trial finishes: in this process for one local job, else through joblib (loky
    processes, or the Dask cluster's workers); PyTorch threads per trial so that jobs x threads = cores."""
    if not pending:
        return
    threads = max(1, (os.cpu_count() or 1) // jobs) if cluster is None else 1
    settings = {k: v for k, v in os.environ.items() if k.startswith("MNISTLAB_")} if cluster is None else None
    args = (plan.out, plan.limit, plan.validation_fraction, threads, settings)
    if jobs == 1 and cluster is None:
        for trial in pending:
            yield trial, run_trial(trial, *args)
        return
    from joblib import Parallel, delayed

    with parallel(jobs, cluster, timeout) as n_jobs:
        yield from Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(_keyed)(t, args) for t in pending
        )


def _keyed(trial: Trial, args: tuple) -> tuple[Trial, dict]:
    with loop_of_fits():  # in a worker process too: an interrupt stops the trial, never saves it half-trained
        return trial, run_trial(trial, *args)


# ----------------------------------------------------------------------------------------------- tables


def _write_tables(plan: SweepPlan, rows: dict[str, dict], result: SweepResult) -> None:
    ordered = [rows[t.key] for t in plan.trials if t.key in rows]
    result.rows = ordered
    result.summary = summarise(ordered, plan.references)
    write_table(plan.out / "results.csv", ordered, RESULT_COLUMNS)
    write_table(plan.out / "summary.csv", result.summary, SUMMARY_COLUMNS)
    _write_page(plan, ordered, result.summary)


def summarise(rows: list[dict], references: dict[str, dict[str, float]] | None = None) -> list[dict]:
    """Mean and spread of test accuracy over seeds, per data set, model and parameter values (best first), with
    the reference accuracy of the model on that data set and the mean's difference from it where one is given
    (a configuration's own reference, keyed by :func:`reference_key`, before its model's).

    Examples
    --------
    >>> row = {"data": "mnist", "model": "knn", "params": "{}", "status": "ok", "train_seconds": 2.0}
    >>> summary = summarise([row | {"test_accuracy": 0.96}, row | {"test_accuracy": 0.97}], {"knn": {"mnist": 0.959}})
    >>> round(summary[0]["mean_accuracy"], 3), round(summary[0]["difference"], 4)
    (0.965, 0.006)
    """
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["data"], row["model"], row["params"]), []).append(row)
    summary = []
    for (data, model, params), group in groups.items():
        reference = reference_for(references or {}, model, params, data)
        ok = [r for r in group if r["status"] == "ok"]
        accs = [float(r["test_accuracy"]) for r in ok]
        secs = [float(r["train_seconds"]) for r in ok]
        mean = statistics.fmean(accs) if accs else None
        summary.append(
            {
                "data": data,
                "model": model,
                "params": params,
                "seeds": len(ok),
                "mean_accuracy": mean,
                "std_accuracy": statistics.pstdev(accs) if len(accs) > 1 else (0.0 if accs else None),
                "min_accuracy": min(accs, default=None),
                "max_accuracy": max(accs, default=None),
                "mean_train_seconds": statistics.fmean(secs) if secs else None,
                "failed": len(group) - len(ok),
                "reference_accuracy": reference,
                "difference": mean - reference if reference is not None and mean is not None else None,
            }
        )
    return sorted(summary, key=lambda r: (r["data"], -(r["mean_accuracy"] or -1)))


def _write_page(plan: SweepPlan, rows: list[dict], summary: list[dict]) -> None:
    """``leaderboard.html`` beside the tables (``reports.sweep_page``)."""
    from mnistlab import reports

    data = [t.data for t in plan.trials]
    total, any_reference = len(plan.trials), bool(plan.references)
    reports.sweep_page(plan.out / "leaderboard.html", plan.name, data, rows, summary, total, any_reference)


# ---------------------------------------------------------------------------------------------- tracking


def _tracker(track: str | None, uri: str | None, plan: SweepPlan):
    if track is None:
        return None
    return MlflowTracker(plan, uri or f"sqlite:///{(plan.out / 'mlflow.db').resolve()}")


class MlflowTracker:
    """Logs each finished trial to MLflow: a parent run for the sweep, a child run per trial with its
    parameters, per-epoch metrics (history.json) and the run folder's files. The run folders stay the source of
    truth; tracking is a view of them."""

    def __init__(self, plan: SweepPlan, uri: str) -> None:
        try:
            import mlflow
        except ImportError:
            raise MnistlabError("track='mlflow' needs MLflow: pip install 'mlflow>=2'") from None
        self.mlflow = mlflow
        mlflow.set_tracking_uri(uri)
        name = f"mnistlab-sweep-{plan.name}"
        if (
            mlflow.get_experiment_by_name(name) is None
        ):  # artefacts beside the sweep, not in the working folder
            mlflow.create_experiment(name, artifact_location=(plan.out / "mlartifacts").resolve().as_uri())
        mlflow.set_experiment(name)
        self.parent = mlflow.start_run(run_name=plan.name)

    def log_trial(self, trial: Trial, row: dict, folder: Path) -> None:
        mlflow = self.mlflow
        with mlflow.start_run(run_name=f"{trial.model}-{trial.key}-s{trial.seed}", nested=True):
            mlflow.log_params(
                {"data": trial.data, "model": trial.model, "seed": trial.seed, **dict(trial.params)}
            )
            mlflow.set_tag("status", row["status"])
            if row["status"] != "ok":
                mlflow.set_tag("error", row["error"][:5000])
                return
            mlflow.log_metrics(
                {
                    k: float(row[k])
                    for k in ("test_accuracy", "test_loss", "train_seconds")
                    if row.get(k) is not None
                }
            )
            history = folder / "history.json"
            for epoch in read_json(history, []) if history.is_file() else []:
                values = {
                    k: float(v) for k, v in epoch.items() if k != "epoch" and isinstance(v, int | float)
                }
                mlflow.log_metrics(values, step=int(epoch["epoch"]))
            mlflow.log_artifacts(str(folder))

    def close(self) -> None:
        self.mlflow.end_run()
