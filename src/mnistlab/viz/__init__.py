"""Figures as Display objects (scikit-learn's pattern): the values live in the object, built by a ``from_...``
constructor; ``plot(ax=None)`` draws them in mnistlab's style without touching pyplot or global settings.

Examples
--------
>>> from mnistlab.viz import ConfusionDisplay
>>> display = ConfusionDisplay.from_evaluation(evaluation, kind="errors").plot()  # doctest: +SKIP
>>> display.save("errors.png")  # doctest: +SKIP
"""

from mnistlab.viz.comparisons import RunComparisonDisplay, SweepDisplay
from mnistlab.viz.curves import (
    LearningCurveDisplay,
    PrecisionRecallCurvesDisplay,
    PrecisionRecallThresholdDisplay,
    RocCurvesDisplay,
)
from mnistlab.viz.eda import ClassBalanceDisplay, ClassMeansDisplay, SampleGridDisplay, write_eda
from mnistlab.viz.galleries import DenoiseDisplay, ImageGalleryDisplay
from mnistlab.viz.graphs import CentralImagesDisplay, FeatureMapDisplay, GraphDisplay, GraphPanelDisplay
from mnistlab.viz.predictions import (
    CONFUSION_KINDS,
    ConfusionDisplay,
    MostConfusedDisplay,
    PredictionGridDisplay,
    TopLossesDisplay,
)
from mnistlab.viz.style import Display, house_style, save_figure
from mnistlab.viz.trust import ExplanationDisplay, ReliabilityDisplay, RobustnessDisplay

__all__ = [
    "CONFUSION_KINDS",
    "CentralImagesDisplay",
    "ClassBalanceDisplay",
    "ClassMeansDisplay",
    "ConfusionDisplay",
    "DenoiseDisplay",
    "Display",
    "ExplanationDisplay",
    "FeatureMapDisplay",
    "GraphDisplay",
    "GraphPanelDisplay",
    "ImageGalleryDisplay",
    "LearningCurveDisplay",
    "MostConfusedDisplay",
    "PrecisionRecallCurvesDisplay",
    "PrecisionRecallThresholdDisplay",
    "PredictionGridDisplay",
    "ReliabilityDisplay",
    "RobustnessDisplay",
    "RocCurvesDisplay",
    "RunComparisonDisplay",
    "SampleGridDisplay",
    "SweepDisplay",
    "TopLossesDisplay",
    "house_style",
    "save_figure",
    "write_eda",
]
