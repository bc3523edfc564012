"""One experiment: load a data set, create a model by name, fit, measure on the test split, save the run."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from mnistlab import datasets, models, runs
from mnistlab.errors import MnistlabError
from mnistlab.training.augment import Augmentation

log = logging.getLogger("mnistlab.experiment")


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

    ``params`` override the model's registered defaults; ``seed`` sets the PyTorch seed or a scikit-learn
    ``random_state`` (``None`` keeps the model's default); ``limit`` keeps only the first N training images and
    N // 6 test images (quick runs).

    >>> run = train_model("mnist", "mlp", params={"epochs": 1}, out="runs/mlp")  # doctest: +SKIP
    >>> run.metrics["test_accuracy"]  # doctest: +SKIP
    0.95...
    """
    train, test = datasets.load(data, "train"), datasets.load(data, "test")
    if limit:
        train, test = train.subset(slice(0, limit)), test.subset(slice(0, max(limit // 6, 1)))
    spec = models.get_spec(model)
    params = dict(params or {})
    if spec.kind == "torch":
        params.setdefault("verbose", verbose)
        if seed is not None:
            params["seed"] = seed
    _check_flip({**spec.defaults, **params}, train, force_flip)
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
    metrics = {"test_accuracy": float(np.mean(estimator.predict(test.images) == test.labels))}
    if hasattr(estimator, "predict_proba"):
        try:
            proba = estimator.predict_proba(test.images)
        except AttributeError:  # e.g. SVC without probability=True exposes the method but refuses it
            return metrics
        column = np.searchsorted(estimator.classes_, test.labels)
        picked = proba[np.arange(len(test)), np.minimum(column, proba.shape[1] - 1)]
        metrics["test_loss"] = float(-np.mean(np.log(np.clip(picked, 1e-12, None))))
    return metrics
