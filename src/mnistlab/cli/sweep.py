"""The sweep command: ``mnistlab sweep FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnistlab.cli.options import ClusterOpt, JobsOpt, echo


def sweep(
    file: Annotated[Path, typer.Argument(help="Sweep file (TOML): data, models with grids, seeds, out.")],
    jobs: JobsOpt = 1,
    cluster: ClusterOpt = None,
    track: Annotated[str | None, typer.Option(help="Also log every trial to: mlflow.")] = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI (default: sqlite:///OUT/mlflow.db).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the sweep here instead of the file's 'out' folder.")
    ] = None,
    max_trials: Annotated[
        int, typer.Option(help="Refuse a sweep file asking for more trials than this.")
    ] = 1000,
) -> None:
    """Train every trial of a sweep that is not finished yet; write results.csv, summary.csv and leaderboard.html in
    its folder."""
    from mnistlab.workflows import run_sweep

    result = run_sweep(
        file, jobs, cluster, track, tracking_uri, on_trial=_print_trial, out=out, max_trials=max_trials
    )
    echo(
        f"{result.ran} trials trained now, {len(result.rows)} in the table, {len(result.failed)} failed: "
        f"{result.out / 'summary.csv'}, {result.out / 'leaderboard.html'}"
    )
    for row in result.summary:
        accuracy = "failed" if row["mean_accuracy"] is None else f"{row['mean_accuracy']:.4f}"
        spread = f" +- {row['std_accuracy']:.4f}" if row["std_accuracy"] else ""
        versus = (
            ""
            if row["difference"] is None
            else f", {100 * row['difference']:+.2f} pp vs {row['reference_accuracy']}"
        )
        echo(
            f"  {row['data']:22s} {row['model']:14s} {row['params']:40s} {accuracy}{spread} "
            f"({row['seeds']} seed{'' if row['seeds'] == 1 else 's'}{versus})"
        )
    if result.failed:
        raise typer.Exit(1)


def _print_trial(row: dict) -> None:
    outcome = f"{float(row['test_accuracy']):.4f}" if row["status"] == "ok" else f"failed: {row['error']}"
    echo(f"  done {row['data']} {row['model']} {row['params']} seed {row['seed']}: {outcome}")
