"""Multiclass evaluation: accuracy, per-class report, confusion matrices, most-confused pairs, top losses.

scikit-learn computes every number; this module gathers them into one JSON-ready record and adds the error
analysis views of Hands-On ML chapter 3 (row-normalised confusion matrix with the diagonal zeroed) and fastai
(``most_confused``, top losses).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix, log_loss

from mnistlab.datasets import check_class_names


def errors_only(cm: np.ndarray) -> np.ndarray:
    """Row-normalised confusion matrix with the diagonal zeroed: where each class's errors go (Hands-On ML)."""
    norm = row_normalised(cm)
    np.fill_diagonal(norm, 0)
    return norm


def row_normalised(cm: np.ndarray) -> np.ndarray:
    totals = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros(cm.shape, float), where=totals > 0)


def most_confused(
    cm: np.ndarray, classes: list[str], min_count: int = 1, top: int | None = None
) -> list[tuple]:
    """(actual, predicted, count) for every off-diagonal cell with at least ``min_count``, largest first.

    Examples
    --------
    >>> most_confused(np.array([[5, 2], [7, 1]]), ["a", "b"])
    [('b', 'a', 7), ('a', 'b', 2)]
    """
    off = cm.copy()
    np.fill_diagonal(off, 0)
    rows, cols = np.nonzero(off >= min_count)
    order = np.argsort(-off[rows, cols], kind="stable")
    pairs = [(classes[rows[i]], classes[cols[i]], int(off[rows[i], cols[i]])) for i in order]
    return pairs[:top] if top else pairs


def top_losses(proba: np.ndarray, y_true: np.ndarray, k: int = 16) -> np.ndarray:
    """Indices of the ``k`` images with the largest cross-entropy: the most confident mistakes first."""
    losses = -np.log(np.clip(proba[np.arange(len(y_true)), y_true], 1e-12, None))
    return np.argsort(-losses, kind="stable")[:k]


@dataclass
class Evaluation:
    """Everything computed on one labelled split; ``to_dict`` is what ``metrics.json`` holds."""

    classes: list[str]
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None = None
    confusion: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.confusion = confusion_matrix(self.y_true, self.y_pred, labels=np.arange(len(self.classes)))

    @property
    def accuracy(self) -> float:
        return float(accuracy_score(self.y_true, self.y_pred))

    @property
    def log_loss(self) -> float | None:
        """Mean cross-entropy of the true classes; ``None`` for a model without probabilities."""
        if self.proba is None:
            return None
        return float(log_loss(self.y_true, self.proba, labels=np.arange(len(self.classes))))

    def report(self) -> dict:
        return classification_report(
            self.y_true,
            self.y_pred,
            labels=np.arange(len(self.classes)),
            target_names=self.classes,
            output_dict=True,
            zero_division=0,
        )

    def report_text(self) -> str:
        return classification_report(
            self.y_true,
            self.y_pred,
            labels=np.arange(len(self.classes)),
            target_names=self.classes,
            digits=4,
            zero_division=0,
        )

    def to_dict(self, top: int = 10) -> dict:
        result = {
            "accuracy": self.accuracy,
            "report": self.report(),
            "confusion_matrix": self.confusion.tolist(),
            "confusion_matrix_normalised": row_normalised(self.confusion).round(5).tolist(),
            "errors_only": errors_only(self.confusion).round(5).tolist(),
            "most_confused": [list(p) for p in most_confused(self.confusion, self.classes, top=top)],
        }
        if self.proba is not None:
            result["log_loss"] = self.log_loss
            result["top_losses"] = top_losses(self.proba, self.y_true, top).tolist()
        return result


def evaluate_estimator(estimator, images: np.ndarray, labels: np.ndarray, classes: list[str]) -> Evaluation:
    """Predict a labelled split with a fitted estimator and keep everything the error analysis needs.

    Parameters
    ----------
    estimator : fitted estimator
        Any classifier whose labels are class indices (``predict_proba`` is used when it has one).
    images : ndarray of shape (N, 28, 28) or (N, D)
        The images, pixels 0..255.
    labels : ndarray of shape (N,)
        The true class indices.
    classes : list of str
        The class names, which must differ (two equal names would merge rows of every per-class table).

    Returns
    -------
    Evaluation
        ``accuracy``, ``log_loss``, ``confusion``, ``report()``, ``report_text()``, ``to_dict()``, and the
        predictions and probabilities for the figures.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> X, y = np.zeros((4, 784)), np.array([0, 0, 0, 1])
    >>> ev = evaluate_estimator(DummyClassifier().fit(X, y), X, y, ["no", "yes"])
    >>> ev.accuracy, ev.confusion.tolist()
    (0.75, [[3, 0], [1, 0]])
    """
    classes = check_class_names(classes, "classes")
    try:
        proba = estimator.predict_proba(images) if hasattr(estimator, "predict_proba") else None
    except AttributeError:  # e.g. SVC without probability=True exposes the method but refuses it
        proba = None
    if proba is not None:
        full = np.zeros((len(images), len(classes)))
        full[:, np.asarray(estimator.classes_, int)] = proba  # a model may have seen fewer classes
        y_pred, proba = full.argmax(1), full
    else:
        y_pred = np.asarray(estimator.predict(images))
    return Evaluation(classes, np.asarray(labels), y_pred, proba)
