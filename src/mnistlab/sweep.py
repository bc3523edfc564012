"""Deprecated: sweeps moved to :mod:`mnistlab.workflows.sweep` (running) and :mod:`mnistlab.workflows.sweep_plan`
(the sweep file). This module keeps ``from mnistlab.sweep import run_sweep`` working, with a warning."""

import warnings

from mnistlab.workflows.sweep import read_sweep, reference_for, run_sweep, summarise  # noqa: F401

warnings.warn(
    "mnistlab.sweep is deprecated: import the same functions from mnistlab.workflows.sweep",
    DeprecationWarning,
    stacklevel=2,
)
