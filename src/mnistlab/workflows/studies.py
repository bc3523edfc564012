"""The Hands-On ML chapter 3 studies: binary detectors (``mnistlab detect``), multilabel classification
(``mnistlab multilabel``) and multi-output denoising (``mnistlab denoise``)."""

from __future__ import annotations

import logging
from pathlib import Path

from mnistlab import datasets, models
from mnistlab.errors import MnistlabError, ParameterError
from mnistlab.evaluation import check_folds
from mnistlab.fileio import write_json
from mnistlab.parallel import parallel
from mnistlab.params import integer, real, validates

log = logging.getLogger("mnistlab.studies")


@validates("detect", target_precision=real(low=0, high=1, low_open=True, none=True))
def detect(
    data: str = "mnist",
    positive: str = "5",
    model_names: tuple[str, ...] = ("sgd", "random-forest"),
    folds: int = 3,
    target_precision: float | None = 0.90,
    out: str | Path | None = None,
    limit: int | None = None,
    verbose: int = 0,
    classes: list[str] | None = None,
    jobs: int = 1,
    cluster: str | None = None,
) -> dict:
    """The Hands-On ML binary study: each model as a "``positive`` against the rest" detector, beside a "never
    positive" baseline, cross-validated on the training split.

    Parameters
    ----------
    data : str or Path
        A registered data set or a file or folder.
    positive : str
        The class to detect, by name.
    model_names : tuple of str
        Registered models to study.
    folds : int
        Cross-validation folds (the book's 3).
    target_precision : float, optional
        The first model's threshold for this precision is reported (and drawn).
    out : str or Path, optional
        Folder for the figures (precision/recall against threshold, PR and ROC curves) and ``detect.json``.
    limit : int, optional
        Keep the first N training images.
    verbose : int
        Print each fold's progress when 1.
    classes : list of str, optional
        Class names, for files that carry only label indices.
    jobs, cluster
        Folds run ``jobs`` at once, or on a Dask cluster (``mnistlab.parallel``).

    Returns
    -------
    dict
        Per model: precision, recall, F1, ROC AUC, average precision of the cross-validated scores.

    Examples
    --------
    >>> detect("mnist", "5", ("sgd",), limit=5000)["sgd"]["roc_auc"]  # doctest: +SKIP
    """
    from mnistlab import viz
    from mnistlab.evaluation import detector_study

    if not model_names:
        raise ParameterError("no models to study: give at least one, e.g. sgd,random-forest")
    estimators = {name: models.create(name) for name in model_names}  # unknown names fail before data loads
    train = datasets.load(data, "train", classes, limit)
    check_folds(folds, train.labels)
    if positive not in train.classes:
        raise MnistlabError(f"{data}: no class {positive!r}; classes are {', '.join(train.classes)}")
    label = train.classes.index(positive)
    estimators["never-positive"] = models.create("dummy-negative")
    log.info(
        "cross-validating %s as '%s vs rest' detectors (%d folds)", ", ".join(estimators), positive, folds
    )
    with parallel(jobs, cluster) as n_jobs:
        results = detector_study(estimators, train.images, train.labels, label, folds, verbose, n_jobs)
    summary = {name: r.to_dict() for name, r in results.items()}
    first = results[model_names[0]]
    if target_precision is not None:
        summary[model_names[0]]["at_target_precision"] = first.threshold_for(precision=target_precision)
    if out is not None:
        out = Path(out)
        scored = {n: r for n, r in results.items() if n != "never-positive"}
        viz.PrecisionRecallThresholdDisplay.from_detector(first, target_precision).save(
            out / "precision_recall_vs_threshold.png"
        )
        viz.PrecisionRecallCurvesDisplay.from_detectors(scored).save(out / "pr_curve.png")
        viz.RocCurvesDisplay.from_detectors(scored).save(out / "roc_curve.png")
        write_json(
            out / "detect.json", {"data": data, "positive": positive, "folds": folds, "results": summary}
        )
    return summary


def _check_neighbours(train: datasets.Dataset, k: int = 5) -> None:
    if len(train) < k:
        raise ParameterError(
            f"{len(train)} training images; the {k}-nearest-neighbour model needs at least {k}"
        )


def multilabel(
    data: str = "mnist",
    limit: int | None = None,
    out: str | Path | None = None,
    test: str | None = None,
    test_fraction: float | None = None,
) -> dict:
    """The Hands-On ML multilabel example: KNN on [class >= 7, class odd]; F1 per label, macro and weighted.

    Parameters
    ----------
    data : str or Path
        A registered data set or a file or folder, as for :func:`train_model`.
    limit : int, optional
        Keep the first N training and N // 6 test images.
    out : str or Path, optional
        Folder for ``multilabel.json``.
    test, test_fraction
        The test data, as for :func:`train_model`.

    Returns
    -------
    dict
        ``labels``, ``f1_per_label``, ``f1_macro``, ``f1_weighted`` on the test data.

    Examples
    --------
    >>> multilabel("mnist", limit=6000)["f1_macro"]  # doctest: +SKIP
    """
    from mnistlab.evaluation import multilabel_study

    parts = datasets.train_and_test(data, test, test_fraction, limit=limit)
    train, held_out = parts.train, parts.test
    _check_neighbours(train)
    log.info("multilabel KNN on %d training images, %d test images", len(train), len(held_out))
    result = multilabel_study(train.images, train.labels, held_out.images, held_out.labels)
    result.pop("predicted")
    if out is not None:
        write_json(Path(out) / "multilabel.json", {"data": data, "n_train": len(train), **result})
    return result


@validates("denoise", noise=integer(low=1, high=255))
def denoise(
    data: str = "mnist",
    limit: int | None = None,
    noise: int = 100,
    out: str | Path | None = None,
    test: str | None = None,
    test_fraction: float | None = None,
) -> dict:
    """The Hands-On ML multi-output example: learn noisy -> clean with KNN; MSE and PSNR before and after.

    Parameters
    ----------
    data : str or Path
        A registered data set or a file or folder, as for :func:`train_model`.
    limit : int, optional
        Keep the first N training and N // 6 test images.
    noise : int
        Amplitude of the uniform noise added to every pixel (the book's 100).
    out : str or Path, optional
        Folder for the before/after figure and ``denoise.json``.
    test, test_fraction
        The test data, as for :func:`train_model`.

    Returns
    -------
    dict
        ``mse_noisy``, ``mse_denoised``, ``psnr_noisy``, ``psnr_denoised`` on the test images.

    Examples
    --------
    >>> denoise("mnist", limit=6000)["psnr_denoised"]  # doctest: +SKIP
    """
    from mnistlab import viz
    from mnistlab.evaluation import denoise_study

    parts = datasets.train_and_test(data, test, test_fraction, limit=limit)
    train, held_out = parts.train, parts.test
    _check_neighbours(train)
    log.info("denoising KNN on %d training images, %d test images", len(train), len(held_out))
    result = denoise_study(train.images, held_out.images, noise)
    noisy, cleaned = result.pop("noisy"), result.pop("denoised")
    if out is not None:
        out = Path(out)
        viz.DenoiseDisplay(noisy, cleaned, held_out.images).save(out / "denoise.png")
        write_json(out / "denoise.json", {"data": data, "noise": noise, "n_train": len(train), **result})
    return result
