"""Data quality: checks of a data set, each one class with one interface (``DataCheck``: ``name``, ``title``,
``find_issues(data) -> CheckResult``), run together by :func:`audit` into a :class:`HealthReport`; :data:`CHECKS` names them (``health --checks``).

The checks: exact and near duplicates inside and across splits (leakage) with conflicting labels, suspected label
errors (confident learning on out-of-sample probabilities), underperforming groups (clusters where the same model
errs most), outliers (far from the training images), non-IID order of a split, odd images (empty, saturated,
constant), unusual image properties (contrast, centring, ink at the border, amount of ink, stroke thickness
against the class), image-folder files of another size, aspect or colour, and rare classes. Each gives a data-set score, and most a score and a flag per image.

Examples
--------
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
from mnistlab.quality.groups import UnderperformingGroups
from mnistlab.quality.images import (
    ClassImbalance,
    ImageProperties,
    OddImages,
    OriginalFiles,
    image_properties,
    odd_images,
)
from mnistlab.quality.label_errors import LabelErrors, suspected_label_errors
from mnistlab.quality.ordering import NonIidOrder, order_test
from mnistlab.quality.outliers import Outliers, outlier_scores
from mnistlab.quality.predictions import judge_folds_at_once, out_of_sample_probabilities
from mnistlab.quality.registry import CHECKS, check_names, make_checks
from mnistlab.quality.report import FINDING_COLUMNS, HealthReport, audit

__all__ = [
    "CHECKS",
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
    "NonIidOrder",
    "OddImages",
    "OriginalFiles",
    "Outliers",
    "UnderperformingGroups",
    "audit",
    "check_names",
    "exact_duplicates",
    "image_properties",
    "judge_folds_at_once",
    "make_checks",
    "near_duplicates",
    "odd_images",
    "order_test",
    "out_of_sample_probabilities",
    "outlier_scores",
    "suspected_label_errors",
]
