"""Suspected label errors by confident learning (Northcutt et al., 2021): out-of-sample probabilities of a model
(no image is scored by a model that saw it; :mod:`mnistlab.quality.predictions`); an image is suspected when the
probability of its recorded label is below that class's average self-confidence and another class reaches its
own average; suspects are ranked by the probability of their recorded label, lowest first.
"""

from __future__ import annotations

import numpy as np

from mnistlab import models
from mnistlab.errors import ParameterError
from mnistlab.evaluation import check_folds
from mnistlab.quality.base import CheckedData, CheckResult, DataCheck, finding
from mnistlab.quality.predictions import out_of_sample_probabilities


def suspected_label_errors(proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of images whose recorded label is doubtful under out-of-fold probabilities ``proba`` (confident
    learning), most doubtful first.

    Examples
    --------
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


def suspects_of(proba: np.ndarray, labels: np.ndarray) -> dict:
    """One split's suspects under out-of-sample probabilities ``proba``: their indices (most doubtful first),
    recorded and suggested labels, the probabilities of both, and every image's score (1 - the probability of
    its recorded label)."""
    suspects = suspected_label_errors(proba, labels)
    return {
        "scores": 1 - proba[np.arange(len(labels)), labels],
        "indices": suspects.tolist(),
        "given": labels[suspects].tolist(),
        "predicted": proba[suspects].argmax(1).tolist(),
        "p": proba[suspects, labels[suspects]].tolist(),
        "p_predicted": proba[suspects].max(1).tolist(),
    }


class LabelErrors(DataCheck):
    """Suspected label errors in each split, ranked by :func:`suspected_label_errors` on out-of-sample
    probabilities (:func:`~mnistlab.quality.predictions.out_of_sample_probabilities`): the first split
    ``folds``-fold out-of-fold, every other split by ``model`` trained on all of the first (``cross_split``) or
    out-of-fold within itself.

    The default judge is ``cnn-fast``: 99.1% on MNIST for ~2 s of training here, against the 97.7% ``mlp`` this
    check used before, at less time (the planted-noise benchmark, ``benchmarks/quality_benchmarks.py``, compares
    them). Each image's score is 1 - the out-of-sample probability of its recorded label.
    """

    name, title = "suspected_label_errors", "suspected label errors"

    def __init__(
        self, model: str = "cnn-fast", folds: int = 5, seed: int = 0, cross_split: bool = True
    ) -> None:
        self.model, self.folds, self.seed, self.cross_split = model, folds, seed, cross_split

    def validate(self, data: CheckedData) -> None:
        spec = models.get_spec(self.model)
        probe = models.create(self.model, next(iter(data.splits.values())))
        if spec.kind == "sklearn" and not hasattr(probe, "predict_proba"):
            raise ParameterError(
                f"model {self.model!r} gives no probabilities; suspected label errors need them "
                "(e.g. cnn-fast, mlp, logreg, random-forest)"
            )
        for position, dataset in enumerate(data.splits.values()):
            if position == 0 or not self.cross_split:
                check_folds(self.folds, dataset.labels)

    def find_issues(self, data: CheckedData) -> CheckResult:
        scored = out_of_sample_probabilities(data, self.model, self.folds, self.seed, self.cross_split)
        found, rows = {}, []
        for split, dataset in data.splits.items():
            found[split] = suspects_of(scored[split].proba, dataset.labels)
            found[split]["scored_by"] = scored[split].scored_by
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
        flags = data.flags({split: f["indices"] for split, f in found.items()})
        judges = "; ".join(f"{split}: {f['scored_by']}" for split, f in found.items())
        return CheckResult(
            self.name,
            f"{self.title} ({judges})",
            counts,
            rows,
            found,
            score=1 - flags.sum() / len(data.images),
            example_scores=np.concatenate([f["scores"] for f in found.values()]),
            flags=flags,
            score_unit="1 - out-of-sample probability of the recorded label",
        )

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
