"""Multiclass strategies around any binary-capable model (as in Hands-On ML chapter 3): one-vs-rest, one-vs-one,
native."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.multiclass import OneVsOneClassifier, OneVsRestClassifier
from sklearn.pipeline import Pipeline

from mnistlab.errors import ParameterError
from mnistlab.models.classic import FlattenPixels
from mnistlab.params import one_of, validates

STRATEGIES = ("native", "ovr", "ovo")


@validates(None, strategy=one_of(*STRATEGIES))
def with_strategy(estimator: BaseEstimator, strategy: str = "ovr") -> BaseEstimator:
    """Wrap an unfitted estimator: ``ovr`` trains one detector per class, ``ovo`` one per pair of classes.

    Examples
    --------
    >>> from mnistlab import models
    >>> with_strategy(models.create("sgd"), "ovo").steps[-1][1].__class__.__name__
    'OneVsOneClassifier'
    """
    if strategy == "native":
        return clone(estimator)
    wrappers = {"ovr": OneVsRestClassifier, "ovo": OneVsOneClassifier}
    # The wrappers want 2-D input; every mnistlab model takes (N, 784) as well as (N, 28, 28).
    return Pipeline([("flatten", FlattenPixels()), (strategy, wrappers[strategy](clone(estimator)))])


def class_scores(fitted: BaseEstimator, image: np.ndarray, classes: list[str]) -> dict[str, float]:
    """The per-class decision scores of one image (``decision_function([some_digit])`` in Hands-On ML)."""
    scores = np.asarray(fitted.decision_function(np.asarray(image)[None]), float).reshape(-1)
    labels = np.asarray(fitted.classes_, int)
    if scores.size != labels.size:
        raise ParameterError(f"{type(fitted).__name__} gives {scores.size} scores for {labels.size} classes")
    return {classes[k]: float(s) for k, s in zip(labels, scores, strict=True)}
