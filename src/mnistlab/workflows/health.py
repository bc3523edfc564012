"""``mnistlab health``: the data-quality checks of ``mnistlab.quality`` run over a data set, and their findings
written out (``findings.csv``, ``health.json``, galleries of what a person should look at)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mnistlab import datasets, quality, reports
from mnistlab.fileio import write_json, write_table
from mnistlab.parallel import parallel


def health(
    data: str | Path,
    model: str = "auto",
    folds: int = 5,
    near_ratio: float = 0.2,
    checks: str | Sequence[str] = "all",
    out: str | Path | None = None,
    classes=None,
    seed: int = 0,
    gallery: int = 24,
    skip: str | Sequence[str] = (),
    cross_split: bool = True,
    features_from: str | Path | None = None,
    trust: bool = False,
    test: str | Path | None = None,
    min_judge_accuracy: float = 0.8,
    jobs: int = 1,
    cluster: str | None = None,
) -> quality.HealthReport:
    """Check a data set: exact and near duplicates inside and across its splits, conflicting labels, suspected
    label errors, underperforming groups, outliers, non-IID order, odd images, unusual image properties and rare
    classes.

    Parameters
    ----------
    data : str or Path
        A registered data set (every split is checked) or a file or folder.
    test : str or Path, optional
        A file or folder of test data, checked as the ``test`` split beside ``data``'s training split (it
        replaces a registered data set's own test split), as ``mnistlab train --test`` uses it: duplicates across
        the two are leakage.
    model, folds, seed, cross_split
        Suspected label errors and underperforming groups come from the out-of-sample probabilities of a judge:
        ``model``, or with ``"auto"`` the first of the ladder cnn-fast, mlp, logreg
        (``quality.predictions.JUDGE_LADDER``) that judges this data well, else the best of them, measured on one
        of its folds. The first split is scored ``folds``-fold
        out-of-fold, the others by the mean of its fold models (``cross_split``) or out-of-fold
        within themselves (``quality.LabelErrors``). A judge whose out-of-fold accuracy is too low gives no
        label-error verdict, and says why (``quality.predictions.judge_verdict``).
    min_judge_accuracy : float
        Below this out-of-fold accuracy (against the recorded labels) the judge gives no verdict; lower it only
        when you know that many labels are wrong (0: always judge).
    near_ratio : float
        Near duplicates are closer than this times their class's median nearest-neighbour distance.
    checks, skip : str or sequence of str
        The checks to run by name (``quality.registry.CHECKS``: duplicates, near, odd, properties, files,
        imbalance, outlier, order, label, groups), "all" (the default), less those in ``skip``. ``label`` and
        ``groups`` train models; ``near``, ``outlier`` and ``order`` are kNN searches; the others take seconds.
    jobs, cluster
        The judge's fold models train ``jobs`` at a time on this machine, or on the workers of the Dask cluster at
        ``cluster`` (a scheduler address; every worker must read ``data`` at the same path). The results are the
        same as one at a time.
    features_from : str or Path, optional
        A run folder: outliers are then measured in its network's penultimate layer (``trust``: see
        ``runs.load_run``) instead of the pixels' PCA.
    out : str or Path, optional
        Folder for ``health.html`` (open it: scores, then each check's worst examples), ``findings.csv``,
        ``health.json``, ``per_image.csv`` and the galleries.
    gallery : int
        Images per gallery.
    classes : sequence of str, optional
        Class names, for files that carry only label indices.
    trust : bool
        Load a ``features_from`` run's tree model that this machine did not save (``runs.load``).

    Returns
    -------
    quality.HealthReport

    Examples
    --------
    >>> report = health("fashion-mnist-kaggle", skip="label,groups")  # doctest: +SKIP
    >>> report.duplicate_pairs()  # doctest: +SKIP
    {'train': 43, 'test': 1, 'across': 10, 'across conflicting': 1}
    """
    names = quality.check_names(checks, skip)
    splits = _splits(data, test, classes)
    features, source = (None, "")
    if features_from is not None and "outlier" in names:
        features, source = _features(features_from, splits, trust)
    built = quality.make_checks(
        names,
        model=model,
        folds=folds,
        seed=seed,
        cross_split=cross_split,
        min_judge_accuracy=min_judge_accuracy,
        near_ratio=near_ratio,
        features=features,
        features_source=source,
    )
    with parallel(jobs, cluster) as n_jobs, quality.judge_folds_at_once(n_jobs):
        report = quality.audit(splits, built)
    if out is not None:
        described = str(data) if test is None else f"{data}, test {test}"
        write_health(report, built, Path(out), gallery, described)
    return report


def _splits(data: str | Path, test: str | Path | None, classes) -> dict:
    """The splits to check: every split of ``data``, or with ``test`` its training split and that file (read as
    ``train --test`` reads them: the same classes, both labelled)."""
    if test is None:
        return datasets.load_splits(data, classes)
    parts = datasets.train_and_test(data, test, classes=classes)
    return {"train": parts.train, "test": parts.test}


def _features(path: str | Path, splits: dict, trust: bool):
    """Every image's vector in the penultimate layer of the run at ``path``, and the words for that space."""
    import numpy as np

    from mnistlab import representations, runs

    run = runs.load_run(path, trust)
    layer = representations.default_sources(run.estimator)[-2]
    images = np.concatenate([dataset.images for dataset in splits.values()])
    return representations.features(run.estimator, images, layer), f"{Path(path).name}'s {layer} layer"


def write_health(report: quality.HealthReport, checks, out: Path, gallery: int, data: str = "") -> None:
    """``findings.csv``, ``health.json``, ``per_image.csv`` (every image's score and flag from each check), each
    check's galleries, and ``health.html`` (the scores, then each check's worst examples and first findings)
    into ``out``."""
    write_table(out / "findings.csv", report.findings_table(), quality.FINDING_COLUMNS)
    write_json(out / "health.json", report.summary())
    columns, rows = report.per_image()
    write_table(out / "per_image.csv", rows, columns)
    sections = []
    for check in checks:
        result = report[check.name]
        displays = check.galleries(report.data, result, gallery)
        for name, display in displays.items():
            display.save(out / name)
        sections.append(
            {
                "name": result.name,
                "title": result.title,
                "score": result.score,
                "score_name": result.score_name if result.score is not None else "",
                "verdict": result.verdict,
                "caveat": result.caveat,
                "flagged": None if result.flags is None else int(result.flags.sum()),
                "found": result.describe(),
                "unit": result.score_unit,
                "displays": displays,
                "rows": result.rows,
            }
        )
    images = {name: len(ds) for name, ds in report.splits.items()}
    reports.health_page(data, images, sections, out / "health.html")
