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
from mnistlab.evaluation.conformal import (
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
from mnistlab.evaluation.conformal import METHODS as CONFORMAL_METHODS
from mnistlab.evaluation.metrics import (
    Evaluation,
    errors_only,
    evaluate_estimator,
    most_confused,
    row_normalised,
    top_losses,
)
from mnistlab.evaluation.trust import trust_numbers
from mnistlab.lazy import lazy_exports

# Corrupting images and the chapter-3 studies are imported when first used: most users of the metrics need neither.
_LAZY = {
    "CORRUPTIONS": "mnistlab.evaluation.corruptions",
    "corrupt": "mnistlab.evaluation.corruptions",
    "denoise_study": "mnistlab.evaluation.studies",
    "multilabel_study": "mnistlab.evaluation.studies",
}

__all__ = [
    "ADAPTIVE",
    "CAN_BE_EMPTY",
    "CONFORMAL_METHODS",
    "CORRUPTIONS",
    "DEFAULT_METHOD",
    "MAPIE_SEED",
    "RAPS_TUNING",
    "Calibration",
    "ConformalCalibration",
    "CrossValResult",
    "DetectorResult",
    "Evaluation",
    "GivenProbabilities",
    "at_temperature",
    "calibration",
    "check_alpha",
    "check_folds",
    "check_method",
    "conformal_quantile",
    "corrupt",
    "coverage",
    "cross_validate_model",
    "denoise_study",
    "detector_study",
    "empty_set_meaning",
    "errors_only",
    "evaluate_estimator",
    "most_confused",
    "multilabel_study",
    "positive_scores",
    "prediction_sets",
    "row_normalised",
    "top_losses",
    "trust_numbers",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
