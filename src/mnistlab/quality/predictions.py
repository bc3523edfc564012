"""Out-of-sample probabilities for the checks that need a model's opinion (suspected label errors, underperforming
groups): every image is scored by a model that never saw it.

The first split (the training split) is scored out-of-fold: ``folds`` stratified folds, each scored by a model
trained on the others. Every other split (a test split) is scored by one model trained on *all* of the first split
when ``cross_split`` is on (a stronger judge than folds of the small split itself, for one fit instead of
``folds``), or out-of-fold within itself when it is off. Each split's record says which model scored it, trained
on what. The probabilities are computed once per data set and settings and shared by the checks that ask.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from mnistlab import models
from mnistlab.datasets import Dataset
from mnistlab.quality.base import CheckedData

log = logging.getLogger("mnistlab.quality")


@dataclass(frozen=True)
class ScoredSplit:
    """One split's out-of-sample probabilities (N, classes) and who scored it, in words
    ("cnn-fast, 5-fold out-of-fold within train (60000 images)")."""

    proba: np.ndarray
    scored_by: str


def out_of_sample_probabilities(
    data: CheckedData, model: str = "cnn-fast", folds: int = 5, seed: int = 0, cross_split: bool = True
) -> dict[str, ScoredSplit]:
    """Every split's probabilities from models that never saw the image (see the module's description); cached
    in ``data`` so that two checks asking with the same settings train once."""
    key = ("out_of_sample", model, folds, seed, cross_split)
    if key not in data.cache:
        first = next(iter(data.splits))
        scored = {}
        for split, dataset in data.splits.items():
            start = time.perf_counter()
            if split == first or not cross_split:
                proba = _out_of_fold(dataset, model, folds, seed, len(data.classes))
                by = f"{model}, {folds}-fold out-of-fold within {split} ({len(dataset)} images)"
            else:
                proba = _trained_on(data.splits[first], dataset, model, seed, len(data.classes))
                by = f"{model} trained on all of {first} ({len(data.splits[first])} images)"
            log.info("%s scored by %s: %.1f s", split, by, time.perf_counter() - start)
            scored[split] = ScoredSplit(proba, by)
        data.cache[key] = scored
    return data.cache[key]


def _estimator(model: str, dataset: Dataset, seed: int):
    quiet = {"verbose": 0, "seed": seed} if models.get_spec(model).kind == "torch" else {}
    return models.create(model, dataset, **quiet)


def _out_of_fold(dataset: Dataset, model: str, folds: int, seed: int, n_classes: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    proba = np.zeros((len(dataset), n_classes))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for fit_on, scored in cv.split(dataset.images, dataset.labels):
        estimator = _estimator(model, dataset, seed)
        estimator.fit(dataset.images[fit_on], dataset.labels[fit_on])
        proba[scored] = _full_width(estimator, dataset.images[scored], n_classes)
    return proba


def _trained_on(train: Dataset, scored: Dataset, model: str, seed: int, n_classes: int) -> np.ndarray:
    estimator = _estimator(model, train, seed)
    estimator.fit(train.images, train.labels)
    return _full_width(estimator, scored.images, n_classes)


def _full_width(estimator, images: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities with one column per class of the data set, also for a class the fitted model never saw
    (probability 0)."""
    out = np.zeros((len(images), n_classes))
    out[:, np.asarray(estimator.classes_, dtype=int)] = estimator.predict_proba(images)
    return out
