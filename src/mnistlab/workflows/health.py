"""``mnistlab health``: the data-quality checks of ``mnistlab.quality`` run over a data set, and their findings
written out (``findings.csv``, ``health.json``, galleries of what a person should look at)."""

from __future__ import annotations

from pathlib import Path

from mnistlab import datasets, quality
from mnistlab.fileio import write_json, write_table


def health(
    data: str | Path,
    model: str = "mlp",
    folds: int = 5,
    near_ratio: float = 0.2,
    label_errors: bool = True,
    out: str | Path | None = None,
    classes=None,
    seed: int = 0,
    gallery: int = 24,
    near: bool = True,
    outliers: bool = True,
) -> quality.HealthReport:
    """Check a data set: exact and near duplicates inside and across its splits, conflicting labels, suspected
    label errors, outliers, odd images, unusual image properties and rare classes.

    Parameters
    ----------
    data : str or Path
        A registered data set (every split is checked) or a file or folder.
    model, folds, seed
        Suspected label errors come from ``model``'s out-of-fold probabilities, ``folds``-fold cross-validated
        on each split (``quality.LabelErrors``).
    near_ratio : float
        Near duplicates are closer than this times their class's median nearest-neighbour distance.
    label_errors, near, outliers : bool
        Run the label-error check (trains a model), the near-duplicate check and the outlier check (kNN
        searches).
    out : str or Path, optional
        Folder for ``findings.csv``, ``health.json`` and up to ``gallery`` images per gallery.

    Returns
    -------
    quality.HealthReport

    Examples
    --------
    >>> report = health("fashion-mnist-kaggle", label_errors=False)  # doctest: +SKIP
    >>> report.duplicate_pairs()  # doctest: +SKIP
    {'train': 43, 'test': 1, 'across': 10, 'across conflicting': 1}
    """
    checks: list[quality.DataCheck] = [quality.ExactDuplicates()]
    if near:
        checks.append(quality.NearDuplicates(near_ratio, seed))
    checks += [quality.OddImages(), quality.ImageProperties(), quality.ClassImbalance()]
    if outliers:
        checks.append(quality.Outliers(seed=seed))
    if label_errors:
        checks.append(quality.LabelErrors(model, folds, seed))
    report = quality.audit(datasets.load_splits(data, classes), checks)
    if out is not None:
        write_health(report, checks, Path(out), gallery)
    return report


def write_health(report: quality.HealthReport, checks, out: Path, gallery: int) -> None:
    """``findings.csv``, ``health.json`` and each check's galleries into ``out``."""
    write_table(out / "findings.csv", report.findings_table(), quality.FINDING_COLUMNS)
    write_json(out / "health.json", report.summary())
    for check in checks:
        for name, display in check.galleries(report.data, report[check.name], gallery).items():
            display.save(out / name)
