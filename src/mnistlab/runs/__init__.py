"""Runs on disk: a folder per trained model, written and read without pickles.

``folder`` (file names, ``config.json``, listing; imports neither PyTorch nor scikit-learn), ``store`` (saving
and loading the model), ``network_weights`` (a network's safetensors weights and calibration), ``skops_files`` (a
scikit-learn model's skops file, checked before it is loaded), ``data`` (the data a run was trained and measured
on, rebuilt and checked).

Examples
--------
>>> from mnistlab import runs
>>> clf = runs.load("runs/cnn-mnist")  # doctest: +SKIP
>>> runs.list_runs("runs")  # doctest: +SKIP
"""

from mnistlab.lazy import lazy_exports
from mnistlab.runs.folder import (
    CONFIG,
    EVALUATIONS,
    FORMAT_VERSION,
    HISTORY,
    METRICS,
    READABLE_FORMATS,
    SKOPS,
    STEPS,
    WEIGHTS,
    Run,
    claim_folder,
    epochs_text,
    list_runs,
    overrides,
    overrides_text,
    prepare_folder,
    read_config,
    read_history,
    read_metrics,
    read_steps,
    run_identity,
    side_evaluation_folder,
    side_evaluation_name,
    side_evaluations,
)

# Loading a model needs PyTorch or scikit-learn: those names are imported when first used.
_LAZY = {
    "save": "mnistlab.runs.store",
    "load": "mnistlab.runs.store",
    "load_run": "mnistlab.runs.store",
    "read_conformal": "mnistlab.runs.network_weights",
    "interruption": "mnistlab.runs.store",
    "versions": "mnistlab.runs.store",
    "TRUSTED_TYPES": "mnistlab.runs.skops_files",
    "ALLOWED_TYPES": "mnistlab.runs.skops_files",
    "ALLOWED_LOADERS": "mnistlab.runs.skops_files",
    "TREE_TYPES": "mnistlab.runs.skops_files",
    "test_data": "mnistlab.runs.data",
    "training_data": "mnistlab.runs.data",
    "recorded_parts": "mnistlab.runs.data",
    "signature": "mnistlab.runs.signing",
    "signed_here": "mnistlab.runs.signing",
    "signing_key": "mnistlab.runs.signing",
}

__all__ = [
    "ALLOWED_LOADERS",
    "ALLOWED_TYPES",
    "CONFIG",
    "EVALUATIONS",
    "FORMAT_VERSION",
    "HISTORY",
    "METRICS",
    "READABLE_FORMATS",
    "SKOPS",
    "STEPS",
    "TREE_TYPES",
    "TRUSTED_TYPES",
    "WEIGHTS",
    "Run",
    "claim_folder",
    "epochs_text",
    "interruption",
    "list_runs",
    "load",
    "load_run",
    "overrides",
    "overrides_text",
    "prepare_folder",
    "read_config",
    "read_conformal",
    "read_history",
    "read_metrics",
    "read_steps",
    "recorded_parts",
    "run_identity",
    "save",
    "side_evaluation_folder",
    "side_evaluation_name",
    "side_evaluations",
    "signature",
    "signed_here",
    "signing_key",
    "test_data",
    "training_data",
    "versions",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
