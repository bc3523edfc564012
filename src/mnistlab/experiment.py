"""Deprecated: the workflows moved to :mod:`mnistlab.workflows` (one module per command group). This module keeps
``from mnistlab.experiment import train_model`` working, with a warning once per process; it will be removed."""

from mnistlab.errors import warn_deprecated
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

warn_deprecated("mnistlab.experiment", "import the same functions from mnistlab.workflows")
