"""Figures as Display objects (scikit-learn's pattern): the values live in the object, built by a ``from_...``
constructor; ``plot(ax=None)`` draws them in mnistlab's style without touching pyplot or global settings.

Examples
--------
>>> from mnistlab.viz import ConfusionDisplay
>>> display = ConfusionDisplay.from_evaluation(evaluation, kind="errors").plot()  # doctest: +SKIP
>>> display.save("errors.png")  # doctest: +SKIP
"""

from mnistlab.viz.eda import ClassBalanceDisplay, ClassMeansDisplay, SampleGridDisplay, write_eda
from mnistlab.viz.evaluation import (
    CONFUSION_KINDS,
    ConfusionDisplay,
    DenoiseDisplay,
    ExplanationDisplay,
    ImageGalleryDisplay,
    LearningCurveDisplay,
    MostConfusedDisplay,
    PrecisionRecallCurvesDisplay,
    PrecisionRecallThresholdDisplay,
    PredictionGridDisplay,
    ReliabilityDisplay,
    RobustnessDisplay,
    RocCurvesDisplay,
    RunComparisonDisplay,
    SweepDisplay,
    TopLossesDisplay,
)
from mnistlab.viz.graphs import CentralImagesDisplay, FeatureMapDisplay, GraphDisplay, GraphPanelDisplay
from mnistlab.viz.style import Display, house_style, save_figure

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
