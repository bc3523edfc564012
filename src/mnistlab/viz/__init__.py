"""Figures: every plot mnistlab draws, as functions returning a matplotlib Figure, in one style."""

from mnistlab.viz.eda import class_distribution, class_means, sample_grid, write_eda
from mnistlab.viz.style import save_figure

__all__ = ["class_distribution", "class_means", "sample_grid", "save_figure", "write_eda"]
