"""Data quality: checks of a data set, each one class with one interface (``DataCheck``: ``name``, ``title``,
``find_issues(data) -> CheckResult``), run together by :func:`audit` into a :class:`HealthReport`.

The checks: exact and near duplicates inside and across splits (leakage) with conflicting labels, suspected label
errors (confident learning on out-of-fold probabilities), outliers (far from the training images), odd images
(empty, saturated, constant), unusual image properties (contrast, centring, ink at the border, amount of ink
against the class) and rare classes.

>>> from mnistlab import quality
>>> report = quality.audit(splits, [quality.ExactDuplicates(), quality.OddImages()])  # doctest: +SKIP
>>> report.summary()  # doctest: +SKIP
"""

from mnistlab.quality.base import CheckedData, CheckResult, DataCheck
from mnistlab.quality.duplicates import (
    DuplicateGroup,
    ExactDuplicates,
    NearDuplicates,
    exact_duplicates,
    near_duplicates,
)
from mnistlab.quality.images import ClassImbalance, ImageProperties, OddImages, image_properties, odd_images
from mnistlab.quality.label_errors import LabelErrors, suspected_label_errors
from mnistlab.quality.outliers import Outliers, outlier_scores
from mnistlab.quality.report import FINDING_COLUMNS, HealthReport, audit

__all__ = [
    "FINDING_COLUMNS",
    "CheckResult",
    "CheckedData",
    "ClassImbalance",
    "DataCheck",
    "DuplicateGroup",
    "ExactDuplicates",
    "HealthReport",
    "ImageProperties",
    "LabelErrors",
    "NearDuplicates",
    "OddImages",
    "Outliers",
    "audit",
    "exact_duplicates",
    "image_properties",
    "near_duplicates",
    "odd_images",
    "outlier_scores",
    "suspected_label_errors",
]
