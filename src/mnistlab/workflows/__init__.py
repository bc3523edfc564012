"""The workflows behind the command line, one module per command group; each workflow is one function that
reads data or runs, calls the library's layers and writes what it produced. The command line only prints.

- ``train``: :func:`train_model`
- ``evaluate``: :func:`evaluate_run`, :func:`cross_validate`
- ``studies`` (Hands-On ML chapter 3): :func:`detect`, :func:`multilabel`, :func:`denoise`
- ``graphs``: :func:`graph`, :func:`graph_panel`, :func:`graph_compare`, :func:`feature_map`
- ``health``: :func:`health`
- ``playground``: :func:`playground`
- ``reports``: :func:`report_run`, :func:`leaderboard`
- ``sweep``: :func:`read_sweep`, :func:`run_sweep`

Examples
--------
>>> from mnistlab.workflows import train_model, evaluate_run
>>> run = train_model("mnist", "cnn", out="runs/cnn-mnist")  # doctest: +SKIP
>>> evaluate_run("runs/cnn-mnist")["test_accuracy"]  # doctest: +SKIP
"""

from mnistlab.workflows.doctor import doctor
from mnistlab.workflows.evaluate import cross_validate, evaluate_run
from mnistlab.workflows.graphs import feature_map, graph, graph_compare, graph_panel
from mnistlab.workflows.health import health
from mnistlab.workflows.playground import playground
from mnistlab.workflows.reports import leaderboard, report_run
from mnistlab.workflows.robustness import robustness
from mnistlab.workflows.studies import denoise, detect, multilabel
from mnistlab.workflows.sweep import read_sweep, run_sweep
from mnistlab.workflows.train import split_metrics, train_model

__all__ = [
    "cross_validate",
    "denoise",
    "detect",
    "doctor",
    "evaluate_run",
    "feature_map",
    "graph",
    "graph_compare",
    "graph_panel",
    "health",
    "leaderboard",
    "multilabel",
    "playground",
    "read_sweep",
    "report_run",
    "robustness",
    "run_sweep",
    "split_metrics",
    "train_model",
]
