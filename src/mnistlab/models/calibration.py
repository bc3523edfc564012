"""A model's own calibration, fitted on held-out images (the validation split, never the test split):
temperature scaling, and conformal prediction sets.

Temperature scaling (Guo et al., 2017) divides a network's logits by one number ``T`` fitted to minimise the
log loss on the held-out images: predictions do not change, only how sure they are.

Conformal prediction sets are computed by :mod:`mnistlab.evaluation.conformal` (pure arithmetic on
probabilities, which ``evaluate`` measures as well); their names are kept here, where a model's calibration is.
"""

from __future__ import annotations

import numpy as np

from mnistlab.errors import ParameterError
from mnistlab.evaluation import (
    ADAPTIVE,
    CAN_BE_EMPTY,
    DEFAULT_METHOD,
    MAPIE_SEED,
    RAPS_TUNING,
    ConformalCalibration,
    GivenProbabilities,
    check_alpha,
    check_method,
    conformal_quantile,
    coverage,
    empty_set_meaning,
    prediction_sets,
)
from mnistlab.evaluation import CONFORMAL_METHODS as METHODS

__all__ = [
    "ADAPTIVE",
    "CAN_BE_EMPTY",
    "DEFAULT_METHOD",
    "MAPIE_SEED",
    "METHODS",
    "RAPS_TUNING",
    "ConformalCalibration",
    "GivenProbabilities",
    "check_alpha",
    "check_method",
    "conformal_quantile",
    "coverage",
    "empty_set_meaning",
    "fit_temperature",
    "prediction_sets",
]


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
