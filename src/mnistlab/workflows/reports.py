"""``mnistlab report``: the HTML report of a run and the leaderboard of several (``mnistlab.reports`` draws them)."""

from __future__ import annotations

import warnings
from pathlib import Path

from mnistlab import reports, runs, viz
from mnistlab.errors import MnistlabError, RunError
from mnistlab.evaluation import evaluate_estimator


def report_run(path: str | Path, out: str | Path | None = None, trust: bool = False) -> Path:
    """One self-contained HTML page for an evaluated run.

    The page holds the headline numbers, the data, the model, the learning curves, the whole evaluation
    (confusion matrices, mistakes, calibration, conformal sets, explanations) and, where measured, robustness
    and the graph comparison. Charts are inline SVG and images embedded PNG: it opens without a network.

    Parameters
    ----------
    path : str or Path
        The run folder, evaluated (``mnistlab evaluate``) first.
    out : str or Path, optional
        The page to write; default ``report.html`` in the run folder.
    trust : bool
        As for :func:`mnistlab.runs.load`.

    Returns
    -------
    Path
        The page written.

    Raises
    ------
    RunError
        For a run that has not been evaluated yet, saying which command to run.

    Examples
    --------
    >>> report_run("runs/cnn-mnist")  # doctest: +SKIP
    PosixPath('runs/cnn-mnist/report.html')
    """
    return _report_of(runs.load_run(path, trust), out)


def _report_of(run: runs.Run, out: str | Path | None) -> Path:
    if run.metrics.get("evaluation") is None:
        raise RunError(f"{run.path}: not evaluated yet; run `mnistlab evaluate {run.path}` first")
    out = reports.check_page_path(out if out is not None else run.path / "report.html")
    test = runs.test_data(run)
    evaluation = evaluate_estimator(run.estimator, test.images, test.labels, test.classes)
    reliability = explained = None
    if evaluation.proba is not None:
        reliability = viz.ReliabilityDisplay.from_estimator(run.estimator, evaluation)
        if viz.ExplanationDisplay.can_explain(run.estimator):
            explained = viz.ExplanationDisplay.from_estimator(run.estimator, evaluation, test.images)
    side = runs.side_evaluations(run.path)
    return reports.run_page(run, test, evaluation, out, reliability, explained, side, described(run))


def described(run: runs.Run) -> dict:
    """A run's epochs and the parameters it set over its recipe, in words, for its pages."""
    return {
        "epochs": runs.epochs_text(run.config, run.history, run.metrics),
        "overrides": runs.overrides_text(runs.overrides(run.config, run.metrics)),
    }


def leaderboard(paths, out: str | Path = "reports/leaderboard.html", trust: bool = False) -> Path:
    """One page comparing runs: a sortable table per data set, learning curves overlaid, per-class recall side
    by side; each run links to its own report, written beside it. A run found in a folder of runs that cannot be
    reported (damaged, or not evaluated) is left out with a warning naming it; a run folder named in ``paths``
    that fails stops the page with its error.

    Parameters
    ----------
    paths : sequence of str or Path
        Run folders, or folders holding runs (searched below).
    out : str or Path
        The page to write.
    trust : bool
        As for :func:`mnistlab.runs.load`.

    Returns
    -------
    Path
        The page written.

    Examples
    --------
    >>> leaderboard(["runs"], out="reports/leaderboard.html")  # doctest: +SKIP
    """
    out = reports.check_page_path(out)
    folders = []  # (run folder, whether it was named: a named run that fails stops the page)
    for path in map(Path, paths):
        named = (path / runs.CONFIG).is_file()
        found = [path] if named else sorted(p.parent for p in path.glob("*/" + runs.CONFIG))
        if not found:
            raise RunError(f"{path}: neither a run folder nor a folder of runs")
        folders += [(folder, named) for folder in found]
    reported = []
    for folder, named in folders:
        try:
            run = runs.load_run(folder, trust)
            reported.append((run, _report_of(run, None), described(run)))
        except MnistlabError as exc:
            if named:
                raise
            # one damaged (or unevaluated) run found in a folder never hides the others
            warnings.warn(f"left out of the leaderboard: {exc}", stacklevel=2)
    if not reported:
        raise RunError(
            f"no run to compare in {', '.join(map(str, paths))} (each was left out, see the warnings)"
        )
    return reports.leaderboard_page(reported, out)
