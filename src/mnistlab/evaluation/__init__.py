"""Evaluation and error analysis: metrics, confusion matrices, cross-validation, binary detector studies.

>>> from mnistlab.evaluation import evaluate_estimator, most_confused  # doctest: +SKIP
"""

from mnistlab.evaluation.binary import (
    CrossValResult,
    DetectorResult,
    cross_validate_model,
    detector_study,
    positive_scores,
)
from mnistlab.evaluation.metrics import (
    Evaluation,
    errors_only,
    evaluate_estimator,
    most_confused,
    row_normalised,
    top_losses,
)
from mnistlab.evaluation.strategies import STRATEGIES, class_scores, with_strategy

__all__ = [
    "STRATEGIES",
    "CrossValResult",
    "DetectorResult",
    "Evaluation",
    "class_scores",
    "cross_validate_model",
    "detector_study",
    "errors_only",
    "evaluate_estimator",
    "most_confused",
    "positive_scores",
    "row_normalised",
    "top_losses",
    "with_strategy",
]
