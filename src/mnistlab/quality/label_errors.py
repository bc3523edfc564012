"""Suspected label errors by confident learning (Northcutt et al., 2021): out-of-fold probabilities of a model
cross-validated on each split (no image is scored by a model that saw it); an image is suspected when the
probability of its recorded label is below that class's average self-confidence and another class reaches its
own average; suspects are ranked by the probability of their recorded label, lowest first.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from mnistlab import models
from mnistlab.errors import ParameterError
from mnistlab.evaluation import check_folds
from mnistlab.quality.base import CheckedData, CheckResult, DataCheck, finding

log = logging.getLogger("mnistlab.quality")


def suspected_label_errors(proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of images whose recorded label is doubtful under out-of-fold probabilities ``proba`` (confident
    learning), most doubtful first.

    >>> proba = np.array([[0.9, 0.1], [0.7, 0.3], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8]])
    >>> suspected_label_errors(proba, np.array([0, 0, 1, 1, 1]))  # image 2 looks like a 0 but is labelled 1
    array([2])
    """
    labels = np.asarray(labels)
    given = proba[np.arange(len(labels)), labels]
    thresholds = np.array(
        [proba[labels == k, k].mean() if np.any(labels == k) else 1.0 for k in range(proba.shape[1])]
    )
    confident_other = proba >= thresholds[None, :]
    confident_other[np.arange(len(labels)), labels] = False
    suspects = np.flatnonzero((given < thresholds[labels]) & confident_other.any(axis=1))
    return suspects[np.argsort(given[suspects], kind="stable")]


class LabelErrors(DataCheck):
    """Suspected label errors in each split: ``model``'s out-of-fold probabilities over ``folds`` stratified
    folds of the split, ranked by :func:`suspected_label_errors`."""

    name, title = "suspected_label_errors", "suspected label errors"

    def __init__(self, model: str = "mlp", folds: int = 5, seed: int = 0) -> None:
        self.model, self.folds, self.seed = model, folds, seed

    def validate(self, data: CheckedData) -> None:
        spec = models.get_spec(self.model)
        probe = models.create(self.model, next(iter(data.splits.values())))
        if spec.kind == "sklearn" and not hasattr(probe, "predict_proba"):
            raise ParameterError(
                f"model {self.model!r} gives no probabilities; suspected label errors need them "
                "(e.g. mlp, logreg, random-forest)"
            )
        for dataset in data.splits.values():
            check_folds(self.folds, dataset.labels)

    def find_issues(self, data: CheckedData) -> CheckResult:
        found, rows = {}, []
        for split, dataset in data.splits.items():
            start = time.perf_counter()
            found[split] = self._split(dataset)
            log.info(
                "%s: suspected label errors with %s: %.1f s", split, self.model, time.perf_counter() - start
            )
            for index, given, predicted, p in zip(
                found[split]["indices"],
                found[split]["given"],
                found[split]["predicted"],
                found[split]["p"],
                strict=True,
            ):
                rows.append(
                    finding("suspected label error", [(split, index)], f"{given} -> {predicted}", f"{p:.4f}")
                )
        counts = {split: len(f["indices"]) for split, f in found.items()}
        title = f"{self.title} ({self.model}, {self.folds}-fold out-of-fold)"
        suspected = sum(counts.values())
        return CheckResult(self.name, title, counts, rows, found, score=1 - suspected / len(data.images))

    def _split(self, dataset) -> dict:
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        quiet = {"verbose": 0} if models.get_spec(self.model).kind == "torch" else {}
        estimator = models.create(self.model, dataset, **quiet)
        cv = StratifiedKFold(self.folds, shuffle=True, random_state=self.seed)
        proba = cross_val_predict(estimator, dataset.images, dataset.labels, cv=cv, method="predict_proba")
        suspects = suspected_label_errors(proba, dataset.labels)
        return {
            # every image's score: 1 - the out-of-fold probability of its recorded label (higher: more doubtful)
            "scores": 1 - proba[np.arange(len(dataset.labels)), dataset.labels],
            "indices": suspects.tolist(),
            "given": dataset.labels[suspects].tolist(),
            "predicted": proba[suspects].argmax(1).tolist(),
            "p": proba[suspects, dataset.labels[suspects]].tolist(),
            "p_predicted": proba[suspects].max(1).tolist(),
        }

    def galleries(self, data: CheckedData, result: CheckResult, n: int) -> dict:
        from mnistlab import viz

        shown, classes = {}, data.classes
        for split, found in result.details.items():
            if not found["indices"]:
                continue
            chosen = found["indices"][:n]
            captions = [
                f"{classes[g][:8]} -> {classes[p][:8]} {q:.2f}"
                for g, p, q in zip(found["given"], found["predicted"], found["p_predicted"], strict=False)
            ][:n]
            title = f"{split}: suspected label errors (recorded -> model, its probability)"
            shown[f"label_errors_{split}.png"] = viz.ImageGalleryDisplay(
                data.splits[split].images[chosen], captions, cols=8, title=title
            )
        return shown
