"""Figures: every plot mnistlab draws, as functions returning a matplotlib Figure, in one style."""

from mnistlab.viz.eda import class_distribution, class_means, sample_grid, write_eda
from mnistlab.viz.evaluation import (
    confusion_matrix_figure,
    denoise_figure,
    image_gallery,
    learning_curves,
    most_confused_figure,
    pr_curves_figure,
    precision_recall_threshold_figure,
    prediction_grid,
    roc_curves_figure,
    top_losses_figure,
)
from mnistlab.viz.style import save_figure

__all__ = [
    "class_distribution",
    "class_means",
    "confusion_matrix_figure",
    "denoise_figure",
    "image_gallery",
    "learning_curves",
    "most_confused_figure",
    "pr_curves_figure",
    "precision_recall_threshold_figure",
    "prediction_grid",
    "roc_curves_figure",
    "sample_grid",
    "save_figure",
    "top_losses_figure",
    "write_eda",
]
