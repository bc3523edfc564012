"""Deprecated: the workflows moved to :mod:`mnistlab.workflows` (one module per command group). This module keeps
``from mnistlab.experiment import train_model`` working, with a warning; it will be removed."""

import warnings

from mnistlab.workflows import (  # noqa: F401
    cross_validate,
    denoise,
    detect,
    evaluate_run,
    feature_map,
    graph,
    graph_compare,
    graph_panel,
    health,
    leaderboard,
    multilabel,
    report_run,
    split_metrics,
    train_model,
)

warnings.warn(
    "mnistlab.experiment is deprecated: import the same functions from mnistlab.workflows",
    DeprecationWarning,
    stacklevel=2,
)
