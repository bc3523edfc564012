"""Evaluation and error analysis, as numbers: metrics, confusion matrices, cross-validation, binary detector
studies. Works on any fitted estimator; imports neither the models nor PyTorch.

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
from mnistlab.evaluation.metrics import (
    Evaluation,
    errors_only,
    evaluate_estimator,
    most_confused,
    row_normalised,
    top_losses,
)

__all__ = [
    "Calibration",
    "CrossValResult",
    "DetectorResult",
    "Evaluation",
    "at_temperature",
    "calibration",
    "check_folds",
    "cross_validate_model",
    "detector_study",
    "errors_only",
    "evaluate_estimator",
    "most_confused",
    "positive_scores",
    "row_normalised",
    "top_losses",
]
