"""Is a 0.9 really 90%? Calibration errors of predicted probabilities (temperature scaling itself is a model's
own: :mod:`mnistlab.models.calibration`; conformal sets: :mod:`mnistlab.evaluation.conformal`).

The calibration errors follow torchmetrics' definitions (top-label confidence, ``bins`` equal-width bins over
0..1): ECE is the bins' gaps between accuracy and mean confidence weighted by their share of the images, MCE the
largest gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab.params import integer, validates

BINS = 15  # torchmetrics' and Guo et al.'s default


@dataclass(frozen=True)
class Calibration:
    """How well confidence matches accuracy: ``ece`` and ``mce`` (0..1), and per bin its image count, mean
    confidence and accuracy (empty bins: count 0, NaN)."""

    ece: float
    mce: float
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    edges: np.ndarray


@validates(None, bins=integer(low=1))
def calibration(y_true: np.ndarray, proba: np.ndarray, bins: int = BINS) -> Calibration:
    """The calibration of ``proba`` (N, classes; columns indexed by label) against labels ``y_true``.

    Examples
    --------
    >>> proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    >>> result = calibration(np.array([0, 1, 0, 0]), proba, bins=10)
    >>> round(result.ece, 3), round(result.mce, 3)  # 90% sure, 50% right; 60% sure, 100% right
    (0.4, 0.4)
    """
    proba = np.asarray(proba, dtype=np.float64)
    y_true = np.asarray(y_true)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_true
    edges = np.linspace(0, 1, bins + 1)
    # right-closed bins as torchmetrics: a confidence of exactly 1 falls in the last one
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, confidence, bins) / counts
        accuracy = np.bincount(which, correct.astype(float), bins) / counts
    gaps = np.abs(accuracy - mean_confidence)
    filled = counts > 0
    ece = float((gaps[filled] * counts[filled]).sum() / len(confidence))
    mce = float(gaps[filled].max()) if filled.any() else 0.0
    return Calibration(ece, mce, counts, mean_confidence, accuracy, edges)


def at_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """The probabilities a model gave before its logits were divided by ``temperature``: ``softmax(T x log p)``
    equals ``softmax(logits)`` when ``p = softmax(logits / T)`` (no second pass through the model).

    Examples
    --------
    >>> logits = np.array([[2.0, 0.0, -1.0]])
    >>> tempered = np.exp(logits / 2) / np.exp(logits / 2).sum()
    >>> np.round(at_temperature(tempered, 2.0), 4).tolist() == np.round(np.exp(logits) / np.exp(logits).sum(), 4).tolist()
    True
    """
    from scipy.special import softmax

    return softmax(temperature * np.log(np.maximum(np.asarray(proba, dtype=np.float64), 1e-300)), axis=1)
