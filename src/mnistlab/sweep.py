"""Deprecated: sweeps moved to :mod:`mnistlab.workflows.sweep` (running) and :mod:`mnistlab.workflows.sweep_plan`
(the sweep file). This module keeps ``from mnistlab.sweep import run_sweep`` working, with a warning once per
process; it will be removed."""

from mnistlab.errors import warn_deprecated
from mnistlab.workflows.sweep import read_sweep, reference_for, run_sweep, summarise  # noqa: F401

warn_deprecated("mnistlab.sweep", "import the same functions from mnistlab.workflows.sweep")
