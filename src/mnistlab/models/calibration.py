"""A model's own calibration, fitted on held-out images (the validation split, never the test split):
temperature scaling, and conformal prediction sets.

Temperature scaling (Guo et al., 2017) divides a network's logits by one number ``T`` fitted to minimise the
log loss on the held-out images: predictions do not change, only how sure they are.

Conformal prediction sets say which answers are uncertain, with a guarantee: split conformal prediction (Vovk et
al., 2005) with the "LAC" / "score" nonconformity of Sadinle, Lei and Wasserman (2019), as MAPIE names it.

Calibration: on held-out images (the validation split), each image's nonconformity score is 1 - the predicted
probability of its true class. For a new image, the set holds every class whose score would be at most the
``ceil((n + 1)(1 - alpha)) / n`` empirical quantile of the n calibration scores; if the calibration and new
images are exchangeable, the set contains the true class with probability >= 1 - alpha. The class-conditional
variant ("Mondrian") takes one quantile per class from that class's calibration images, and guarantees the
coverage within every class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab.errors import ParameterError

METHODS = ("split", "class-conditional")


def check_alpha(alpha: float) -> float:
    """``alpha`` as a float in (0, 1), or a one-line error.

    Examples
    --------
    >>> check_alpha(1.5)
    Traceback (most recent call last):
    ...
    mnistlab.errors.ParameterError: alpha=1.5; expected a miscoverage rate between 0 and 1 (0.1: sets that hold the true class 90% of the time)
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ParameterError(
            f"alpha={alpha!r}; expected a miscoverage rate between 0 and 1 (0.1: sets that hold the true class "
            "90% of the time)"
        )
    return float(alpha)


def conformal_quantile(scores: np.ndarray, alpha: float) -> float:
    """The ``ceil((n + 1)(1 - alpha)) / n`` empirical quantile of calibration ``scores`` (the higher order
    statistic); ``inf`` when n is too small for that level (every class then belongs to every set).

    Examples
    --------
    >>> conformal_quantile(np.arange(1, 10) / 10, 0.1)  # 9 scores: the 9th smallest
    0.9
    >>> conformal_quantile(np.arange(1, 10) / 10, 0.05)
    inf
    """
    alpha = check_alpha(alpha)
    scores = np.sort(np.asarray(scores, dtype=np.float64))
    rank = int(np.ceil((len(scores) + 1) * (1 - alpha)))
    return float(scores[rank - 1]) if rank <= len(scores) else float("inf")


@dataclass(frozen=True)
class ConformalCalibration:
    """Nonconformity scores of held-out images and their labels: what :func:`prediction_sets` needs."""

    scores: np.ndarray
    labels: np.ndarray
    n_classes: int

    @classmethod
    def from_probabilities(cls, proba: np.ndarray, y: np.ndarray) -> ConformalCalibration:
        """From held-out probabilities (N, classes; columns indexed by label) and labels."""
        y = np.asarray(y)
        return cls(1 - np.asarray(proba, dtype=np.float64)[np.arange(len(y)), y], y, np.shape(proba)[1])

    def thresholds(self, alpha: float, method: str = "split") -> np.ndarray:
        """Per class, the largest score a class may have and be in the set."""
        if method == "split":
            return np.full(self.n_classes, conformal_quantile(self.scores, alpha))
        if method == "class-conditional":
            return np.array(
                [conformal_quantile(self.scores[self.labels == k], alpha) for k in range(self.n_classes)]
            )
        raise ParameterError(f"method={method!r}; expected one of {', '.join(METHODS)}")


def prediction_sets(
    proba: np.ndarray, calibration: ConformalCalibration, alpha: float = 0.1, method: str = "split"
) -> np.ndarray:
    """(N, classes) booleans: which classes each image's set holds (``1 - proba <= threshold``).

    Examples
    --------
    >>> held_out = ConformalCalibration.from_probabilities(np.array([[0.9, 0.1]] * 9), np.zeros(9, int))
    >>> prediction_sets(np.array([[0.95, 0.05], [0.5, 0.5]]), held_out, alpha=0.1).tolist()
    [[True, False], [False, False]]
    """
    thresholds = calibration.thresholds(alpha, method)
    return (1 - np.asarray(proba, dtype=np.float64)) <= thresholds[None, :] + 1e-12


def coverage(sets: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(share of sets holding the true class, mean set size).

    Examples
    --------
    >>> coverage(np.array([[True, False], [True, True]]), np.array([1, 1]))
    (0.5, 1.5)
    """
    y = np.asarray(y)
    return float(sets[np.arange(len(y)), y].mean()), float(sets.sum(axis=1).mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature ``T`` (0.05..20) that minimises the log loss of ``softmax(logits / T)`` on labels ``y``
    (one number, by bounded scalar minimisation over log T).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(0, 2, size=(20000, 3))
    >>> p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    >>> y = (rng.random((20000, 1)) > p.cumsum(1)).sum(1)  # labels drawn from softmax(logits): T = 1 is right
    >>> round(fit_temperature(logits, y), 1), round(fit_temperature(logits * 4, y), 1)  # 4x over-sure: T = 4
    (1.0, 4.0)
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    logits = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y)
    if len(logits) == 0:
        raise ParameterError("no held-out images to fit a temperature on")
    rows = np.arange(len(y))

    def loss(log_t: float) -> float:  # the mean log loss of softmax(logits / T)
        return float(-np.mean(log_softmax(logits / np.exp(log_t), axis=1)[rows, y]))

    found = minimize_scalar(
        loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-4}
    )
    return float(np.exp(found.x))
