"""The workflows behind the command line: train, evaluate a run, cross-validate, the seed 001 studies."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from mnistlab import datasets, models, runs
from mnistlab.errors import MnistlabError
from mnistlab.evaluation import evaluate_estimator
from mnistlab.fileio import write_json
from mnistlab.training.augment import Augmentation

log = logging.getLogger("mnistlab.experiment")


def _train_test(data: str, limit: int | None) -> tuple[datasets.Dataset, datasets.Dataset]:
    train, test = datasets.load(data, "train"), datasets.load(data, "test")
    if limit:
        train, test = train.subset(slice(0, limit)), test.subset(slice(0, max(limit // 6, 1)))
    return train, test


def _check_flip(params: dict, dataset: datasets.Dataset, force_flip: bool) -> None:
    augmentation = Augmentation.parse(params.get("augment"))
    digits = all(c.isdigit() for c in dataset.classes)
    if augmentation is not None and augmentation.flip and digits and not force_flip:
        raise MnistlabError(
            f"{dataset.name}: horizontal flips turn digits into other shapes; drop 'flip' from augment "
            "or force it (force_flip=True, --force-flip)"
        )


def train_model(
    data: str = "mnist",
    model: str = "cnn",
    *,
    params: dict | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    limit: int | None = None,
    force_flip: bool = False,
    verbose: int = 1,
) -> runs.Run:
    """Train ``model`` on the training split of ``data``, measure it on the test split, save to ``out``.

    ``params`` override the model's defaults for this kind of data (``ModelSpec.recipe_for``); ``seed`` sets the PyTorch seed or a scikit-learn
    ``random_state`` (``None`` keeps the model's default); ``limit`` keeps only the first N training images and
    N // 6 test images (quick runs).

    >>> run = train_model("mnist", "mlp", params={"epochs": 1}, out="runs/mlp")  # doctest: +SKIP
    >>> run.metrics["test_accuracy"]  # doctest: +SKIP
    0.95...
    """
    train, test = _train_test(data, limit)
    spec = models.get_spec(model)
    params = dict(params or {})
    if spec.kind == "torch":
        params.setdefault("verbose", verbose)
        if seed is not None:
            params["seed"] = seed
    params = {**spec.recipe_for(train.classes), **params}
    _check_flip(params, train, force_flip)
    estimator = models.create(model, **params)
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


def evaluate_run(path: str | Path, top: int = 16) -> dict:
    """Evaluate a saved run on its data set's test split: writes ``metrics.json`` and figures into the run.

    >>> metrics = evaluate_run("runs/cnn-mnist")  # doctest: +SKIP
    >>> metrics["evaluation"]["accuracy"]  # doctest: +SKIP
    """
    from mnistlab import viz
    from mnistlab.evaluation import most_confused

    path = Path(path)
    run = runs.load_run(path)
    test = datasets.load(run.config["data"], "test")
    evaluation = evaluate_estimator(run.estimator, test.images, test.labels, test.classes)
    metrics = {**run.metrics, "test_accuracy": evaluation.accuracy, "n_test": len(test),
               "evaluation": evaluation.to_dict(top)}  # fmt: skip
    write_json(path / runs.METRICS, metrics)
    figures = {
        f"confusion_{kind}.png": viz.confusion_matrix_figure(evaluation.confusion, test.classes, kind)
        for kind in ("counts", "normalised", "errors")
    }
    pairs = most_confused(evaluation.confusion, test.classes, top=6)
    figures["most_confused.png"] = viz.most_confused_figure(
        test.images, test.labels, evaluation.y_pred, test.classes, pairs
    )
    if evaluation.proba is not None:
        worst = metrics["evaluation"]["top_losses"]
        figures["top_losses.png"] = viz.top_losses_figure(
            test.images, evaluation.proba, test.labels, test.classes, worst
        )
        figures["predictions.png"] = viz.prediction_grid(
            test.images, evaluation.proba, test.labels, test.classes, range(15)
        )
    if run.history:
        figures["learning_curves.png"] = viz.learning_curves(
            run.history, f"{run.config['model']} on {run.config['data']}"
        )
    for name, fig in figures.items():
        viz.save_figure(fig, path / name)
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

    train = datasets.load(data, "train")
    if limit:
        train = train.subset(slice(0, limit))
    estimator = models.create(model, **(params or {}))
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
    """Seed 001's binary study: each model as a "``positive`` against the rest" detector, with a "never
    positive" baseline, cross-validated on the training split; figures and ``detect.json`` go to ``out``.
    """
    from mnistlab import viz
    from mnistlab.evaluation import detector_study

    train = datasets.load(data, "train")
    if limit:
        train = train.subset(slice(0, limit))
    if positive not in train.classes:
        raise MnistlabError(f"{data}: no class {positive!r}; classes are {', '.join(train.classes)}")
    label = train.classes.index(positive)
    estimators = {name: models.create(name) for name in model_names}
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
        curves = {n: r.curves() for n, r in scored.items()}
        chosen = summary[model_names[0]].get("at_target_precision", {}).get("threshold")
        c = curves[model_names[0]]
        viz.save_figure(viz.precision_recall_threshold_figure(c["precision"], c["recall"], c["thresholds"], chosen),
                        out / "precision_recall_vs_threshold.png")  # fmt: skip
        viz.save_figure(
            viz.pr_curves_figure(curves, {n: summary[n]["average_precision"] for n in scored}),
            out / "pr_curve.png",
        )
        viz.save_figure(
            viz.roc_curves_figure(curves, {n: summary[n]["roc_auc"] for n in scored}), out / "roc_curve.png"
        )
        write_json(
            out / "detect.json", {"data": data, "positive": positive, "folds": folds, "results": summary}
        )
    return summary


def multilabel(data: str = "mnist", limit: int | None = None, out: str | Path | None = None) -> dict:
    """Seed 001's multilabel example: KNN on [class >= 7, class odd]; F1 per label, macro, weighted on test."""
    from mnistlab.evaluation.extensions import multilabel_study

    train, test = _train_test(data, limit)
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
    """Seed 001's multi-output example: learn noisy -> clean with KNN; MSE and PSNR before and after."""
    from mnistlab import viz
    from mnistlab.evaluation.extensions import denoise_study

    train, test = _train_test(data, limit)
    log.info("denoising KNN on %d training images, %d test images", len(train), len(test))
    result = denoise_study(train.images, test.images, noise)
    noisy, cleaned = result.pop("noisy"), result.pop("denoised")
    if out is not None:
        out = Path(out)
        viz.save_figure(viz.denoise_figure(noisy, cleaned, test.images), out / "denoise.png")
        write_json(out / "denoise.json", {"data": data, "noise": noise, "n_train": len(train), **result})
    return result
