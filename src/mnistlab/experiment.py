"""The workflows behind the command line: train, evaluate a run, cross-validate, and the Hands-On ML chapter 3
studies (binary detectors, multilabel, denoising). Each is one function; the command line only prints."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from mnistlab import datasets, models, runs
from mnistlab.errors import MnistlabError, ParameterError
from mnistlab.evaluation import evaluate_estimator
from mnistlab.fileio import write_json
from mnistlab.params import check_params, integer, real

log = logging.getLogger("mnistlab.experiment")


def _check_limit(limit: int | None) -> None:
    check_params("options", {"limit": limit}, {"limit": integer(low=1, none=True)})


def _first(dataset: datasets.Dataset, limit: int | None) -> datasets.Dataset:
    return dataset if limit is None else dataset.subset(slice(0, limit))


def _train_test(data: str, limit: int | None) -> tuple[datasets.Dataset, datasets.Dataset]:
    """The training and test splits; with ``limit``, the first N training and N // 6 test images."""
    _check_limit(limit)
    train, test = datasets.load(data, "train"), datasets.load(data, "test")
    return _first(train, limit), _first(test, None if limit is None else max(limit // 6, 1))


def _check_folds(folds: int, labels) -> None:
    import numpy as np

    present = np.bincount(labels)
    smallest = int(present[present > 0].min()) if present.any() else 0
    if not isinstance(folds, int) or not 2 <= folds <= max(smallest, 2):
        raise ParameterError(f"folds={folds}; expected 2..{max(smallest, 2)} (each fold needs an image of each "
                             f"class; the rarest class has {smallest})")  # fmt: skip


def train_model(
    data: str = "mnist",
    model: str = "cnn",
    *,
    params: dict | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    limit: int | None = None,
    force_flip: bool = False,
    overwrite: bool = False,
    verbose: int = 1,
) -> runs.Run:
    """Train ``model`` on the training split of ``data``, measure it on the test split, save to ``out``.

    ``params`` override the model's defaults for this kind of data (``models.create(name, data=...)``, the same
    recipe the Python API and the benchmarks train); ``seed`` sets the PyTorch seed or a scikit-learn
    ``random_state`` (``None`` keeps the model's default); ``limit`` keeps only the first N training images and
    N // 6 test images (quick runs); ``force_flip`` allows horizontal flips on digits; ``out`` must not hold a
    run already unless ``overwrite`` (checked, with writability, before anything is trained).

    >>> run = train_model("mnist", "mlp", params={"epochs": 1}, out="runs/mlp")  # doctest: +SKIP
    >>> run.metrics["test_accuracy"]  # doctest: +SKIP
    0.95...
    """
    spec = models.get_spec(model)
    params = dict(params or {})
    if spec.kind == "torch":
        params.setdefault("verbose", verbose)
        if seed is not None:
            params["seed"] = seed
    models.create(model, datasets.get_info(data), force_flip=force_flip, **params)  # bad parameters fail now
    if out is not None:
        runs.prepare_folder(out, overwrite)
    train, test = _train_test(data, limit)
    estimator = models.create(model, train, force_flip=force_flip, **params)
    if spec.kind == "sklearn" and seed is not None:
        estimator.set_params(**{k: seed for k in estimator.get_params() if k.endswith("random_state")})
    start = time.perf_counter()
    estimator.fit(train.images, train.labels)
    seconds = time.perf_counter() - start
    metrics = {"train_seconds": round(seconds, 2), "n_train": len(train), "n_test": len(test)}
    metrics.update(split_metrics(estimator, test))
    log.info(
        "%s on %s: test accuracy %.4f (trained in %.1f s)", model, data, metrics["test_accuracy"], seconds
    )
    history = getattr(estimator, "history_", [])
    if out is not None:
        runs.save(out, estimator, model=model, data=data, classes=train.classes, seed=seed, metrics=metrics)
    return runs.Run(Path(out) if out else Path(), estimator, {"data": data, "model": model}, history, metrics)


def split_metrics(estimator, test: datasets.Dataset) -> dict:
    """Accuracy and, where the model gives probabilities, the mean cross-entropy on a labelled split."""
    evaluation = evaluate_estimator(estimator, test.images, test.labels, test.classes)
    metrics = {"test_accuracy": evaluation.accuracy}
    if evaluation.proba is not None:
        metrics["test_loss"] = evaluation.log_loss
    return metrics


def evaluate_run(path: str | Path, top: int = 16, trust: bool = False) -> dict:
    """Evaluate a saved run on its data set's test split: writes ``metrics.json`` and figures into the run.

    >>> metrics = evaluate_run("runs/cnn-mnist")  # doctest: +SKIP
    >>> metrics["evaluation"]["accuracy"]  # doctest: +SKIP
    """
    from mnistlab import viz

    check_params("evaluate", {"top": top}, {"top": integer(low=1, high=10_000)})
    path = Path(path)
    run = runs.load_run(path, trust)
    test = datasets.load(run.config["data"], "test")
    evaluation = evaluate_estimator(run.estimator, test.images, test.labels, test.classes)
    metrics = {**run.metrics, "test_accuracy": evaluation.accuracy, "n_test": len(test),
               "evaluation": evaluation.to_dict(top)}  # fmt: skip
    write_json(path / runs.METRICS, metrics)
    figures: dict[str, viz.Display] = {
        f"confusion_{kind}.png": viz.ConfusionDisplay.from_evaluation(evaluation, kind)
        for kind in viz.CONFUSION_KINDS
    }
    figures["most_confused.png"] = viz.MostConfusedDisplay.from_evaluation(evaluation, test.images, top=6)
    if evaluation.proba is not None:
        figures["top_losses.png"] = viz.TopLossesDisplay.from_evaluation(evaluation, test.images, k=top)
        figures["predictions.png"] = viz.PredictionGridDisplay.from_evaluation(evaluation, test.images, n=15)
    if run.history:
        title = f"{run.config['model']} on {run.config['data']}"
        figures["learning_curves.png"] = viz.LearningCurveDisplay.from_history(run.history, title)
    for name, display in figures.items():
        display.save(path / name)
    metrics["figures"] = sorted(figures)
    return metrics


def cross_validate(
    data: str,
    model: str,
    folds: int = 3,
    limit: int | None = None,
    params: dict | None = None,
    verbose: int = 0,
) -> dict:
    """Stratified k-fold accuracy of a registered model on a data set's training split: scores, mean, std."""
    from mnistlab.evaluation import cross_validate_model

    _check_limit(limit)
    estimator = models.create(model, datasets.get_info(data), **(params or {}))
    train = _first(datasets.load(data, "train"), limit)
    _check_folds(folds, train.labels)
    result = cross_validate_model(estimator, train.images, train.labels, folds, verbose=verbose)
    return {
        "scores": result.scores.tolist(),
        "mean": float(result.scores.mean()),
        "std": float(result.scores.std()),
    }


def detect(
    data: str = "mnist",
    positive: str = "5",
    model_names: tuple[str, ...] = ("sgd", "random-forest"),
    folds: int = 3,
    target_precision: float | None = 0.90,
    out: str | Path | None = None,
    limit: int | None = None,
    verbose: int = 0,
) -> dict:
    """The Hands-On ML binary study: each model as a "``positive`` against the rest" detector, with a "never
    positive" baseline, cross-validated on the training split; figures and ``detect.json`` go to ``out``.
    """
    from mnistlab import viz
    from mnistlab.evaluation import detector_study

    _check_limit(limit)
    if not model_names:
        raise ParameterError("no models to study: give at least one, e.g. sgd,random-forest")
    check_params("detect", {"target_precision": target_precision},
                 {"target_precision": real(low=0, high=1, low_open=True, none=True)})  # fmt: skip
    estimators = {name: models.create(name) for name in model_names}  # unknown names fail before data loads
    train = _first(datasets.load(data, "train"), limit)
    _check_folds(folds, train.labels)
    if positive not in train.classes:
        raise MnistlabError(f"{data}: no class {positive!r}; classes are {', '.join(train.classes)}")
    label = train.classes.index(positive)
    estimators["never-positive"] = models.create("dummy-negative")
    log.info(
        "cross-validating %s as '%s vs rest' detectors (%d folds)", ", ".join(estimators), positive, folds
    )
    results = detector_study(estimators, train.images, train.labels, label, folds, verbose=verbose)
    summary = {name: r.to_dict() for name, r in results.items()}
    first = results[model_names[0]]
    if target_precision is not None:
        summary[model_names[0]]["at_target_precision"] = first.threshold_for(precision=target_precision)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
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


def multilabel(data: str = "mnist", limit: int | None = None, out: str | Path | None = None) -> dict:
    """The Hands-On ML multilabel example: KNN on [class >= 7, class odd]; F1 per label, macro, weighted on
    the test split."""
    from mnistlab.evaluation.extensions import multilabel_study

    train, test = _train_test(data, limit)
    _check_neighbours(train)
    log.info("multilabel KNN on %d training images, %d test images", len(train), len(test))
    result = multilabel_study(train.images, train.labels, test.images, test.labels)
    result.pop("predicted")
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        write_json(Path(out) / "multilabel.json", {"data": data, "n_train": len(train), **result})
    return result


def denoise(
    data: str = "mnist", limit: int | None = None, noise: int = 100, out: str | Path | None = None
) -> dict:
    """The Hands-On ML multi-output example: learn noisy -> clean with KNN; MSE and PSNR before and after."""
    from mnistlab import viz
    from mnistlab.evaluation.extensions import denoise_study

    check_params("denoise", {"noise": noise}, {"noise": integer(low=1, high=255)})
    train, test = _train_test(data, limit)
    _check_neighbours(train)
    log.info("denoising KNN on %d training images, %d test images", len(train), len(test))
    result = denoise_study(train.images, test.images, noise)
    noisy, cleaned = result.pop("noisy"), result.pop("denoised")
    if out is not None:
        out = Path(out)
        viz.DenoiseDisplay(noisy, cleaned, test.images).save(out / "denoise.png")
        write_json(out / "denoise.json", {"data": data, "noise": noise, "n_train": len(train), **result})
    return result
