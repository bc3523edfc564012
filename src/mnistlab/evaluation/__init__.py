"""Evaluation and error analysis, as numbers: metrics, confusion matrices, cross-validation, binary detector
studies, calibration errors, conformal prediction sets and how far a split can trust them. Works on any fitted
estimator; imports neither the models nor PyTorch (the models import it: a network's sets are computed here).

Examples
--------
>>> import numpy as np
>>> from mnistlab.evaluation import Evaluation, most_confused
>>> ev = Evaluation(["a", "b"], y_true=np.array([0, 1, 1]), y_pred=np.array([0, 0, 1]))
>>> ev.accuracy, most_confused(ev.confusion, ev.classes)
(0.6666666666666666, [('b', 'a', 1)])
"""

from mnistlab.evaluation.binary import (
    CrossValResult,
    DetectorResult,
    check_folds,
    cross_validate_model,
    detector_study,
    positive_scores,
)
from mnistlab.evaluation.calibration import Calibration, at_temperature, calibration
from mnistlab.evaluation.conformal import ConformalCalibration, conformal_quantile, prediction_sets
from mnistlab.evaluation.metrics import (
    Evaluation,
    errors_only,
    evaluate_estimator,
    most_confused,
    row_normalised,
    top_losses,
)
from mnistlab.evaluation.trust import trust_numbers

__all__ = [
    "Calibration",
    "ConformalCalibration",
    "CrossValResult",
    "DetectorResult",
    "Evaluation",
    "at_temperature",
    "calibration",
    "check_folds",
    "conformal_quantile",
    "cross_validate_model",
    "detector_study",
    "errors_only",
    "evaluate_estimator",
    "most_confused",
    "positive_scores",
    "prediction_sets",
    "row_normalised",
    "top_losses",
    "trust_numbers",
]
