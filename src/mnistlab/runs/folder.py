"""A run folder on disk, without loading its model: the file names, ``config.json`` read and checked, listing
runs, checking that a run can be written. Imports neither PyTorch nor scikit-learn.

A run folder holds ``config.json`` (data set, model name, parameters, seed, classes, library versions), the weights
(``weights.safetensors`` for PyTorch networks, ``model.skops`` for scikit-learn models), ``history.json`` and
``metrics.json``; ``config.json`` is written last, so a folder holding it is complete.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mnistlab.errors import DataFormatError, RunError
from mnistlab.fileio import read_json
from mnistlab.runs.schema import check_config, check_history, check_metrics

CONFIG, WEIGHTS, SKOPS, HISTORY, METRICS = (
    "config.json",
    "weights.safetensors",
    "model.skops",
    "history.json",
    "metrics.json",
)
DERIVED = ("model.onnx", "model.onnx.sig")  # made from a run's weights; stale once they change
# 2: layers saved under their names ("dense.weight") and the number of input features recorded; 1: layer
# indices ("6.weight"), images only. Both load.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)


@dataclass
class Run:
    """A loaded run: the fitted estimator and what was saved beside it."""

    path: Path
    estimator: Any  # a fitted scikit-learn estimator or TorchClassifier
    config: dict
    history: list[dict]
    metrics: dict


RUN_FILES = (CONFIG, WEIGHTS, SKOPS, HISTORY, METRICS)
MIN_FREE_BYTES = 64 << 20  # a run folder is a few MB; less free space than this fails before training


def prepare_folder(path: str | Path, overwrite: bool = False) -> Path:
    """Check, before any training and without writing anything, that a run can be saved in ``path``: not a file,
    in a folder this process may write to, with room for it (at least 64 MB free), and not
    holding a run, or files a run would replace, unless ``overwrite``. The old run is replaced only when the new
    one is saved (:func:`mnistlab.runs.save`), so a failed training keeps it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunError(f"{path}: is a file; `out` names a folder for the run")
    if (path / CONFIG).exists() and not overwrite:
        raise RunError(f"{path}: already holds a run; choose another `out`, or overwrite=True to replace it")
    taken = [name for name in RUN_FILES if (path / name).exists()]
    if taken and not overwrite:
        raise RunError(
            f"{path}: holds {', '.join(taken)} but no run (no {CONFIG}); a run would replace them: choose "
            "another `out`, or overwrite=True to replace them"
        )
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise RunError(f"{path}: cannot write the run there ({existing} is not a writable folder)")
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        raise RunError(
            f"{path}: only {free / 2**20:,.0f} MB free on its disk; a run needs at least "
            f"{MIN_FREE_BYTES / 2**20:,.0f} MB (free some space, or choose another `out`)"
        )
    return path


def read_run_json(path: Path, default=None):
    """A JSON file of a run; the config is required (``default=None``), history and metrics may be absent."""
    try:
        return read_json(path) if default is None else read_json(path, default)
    except DataFormatError as exc:
        missing = f" (is {path.parent} a mnistlab run folder?)" if not path.exists() else ""
        raise RunError(f"{exc}{missing}") from None


def read_config(path: str | Path) -> dict:
    """The ``config.json`` of a run folder, checked to be a mnistlab run config."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"{path}: no such run folder")
    config = read_run_json(path / CONFIG)
    known = isinstance(config, dict) and config.get("kind") in {"torch", "sklearn"}
    if not known or config.get("format") not in READABLE_FORMATS:
        raise RunError(f"{path / CONFIG}: not a mnistlab run config (formats {READABLE_FORMATS})")
    return check_config(config, path / CONFIG)


def read_history(path: str | Path) -> list[dict]:
    """A run's ``history.json``, checked (an empty history when the file is absent)."""
    file = Path(path) / HISTORY
    return check_history(read_run_json(file, default=[]), file)


def read_metrics(path: str | Path) -> dict:
    """A run's ``metrics.json``, checked (empty when the file is absent)."""
    file = Path(path) / METRICS
    return check_metrics(read_run_json(file, default={}), file)


def list_runs(root: str | Path) -> list[dict]:
    """One summary row per run folder under ``root`` (what ``mnistlab runs`` prints).

    Parameters
    ----------
    root : str or Path
        A folder holding run folders (searched below), or a run folder.

    Returns
    -------
    list of dict
        Per run: ``path``, ``data``, ``model``, ``test_accuracy`` (None when not measured). Folders that are not
        runs, or whose files are damaged, are left out.

    Examples
    --------
    >>> list_runs("runs")  # doctest: +SKIP
    [{'path': 'runs/cnn-mnist', 'data': 'mnist', 'model': 'cnn-fast', 'test_accuracy': 0.9912}]
    """
    rows = []
    for config_path in sorted(Path(root).glob("**/" + CONFIG)):
        try:
            config = read_json(config_path)
            metrics = read_metrics(config_path.parent)
        except DataFormatError:
            continue  # not a run folder (or a damaged one): listing goes on
        if not isinstance(config, dict):
            continue
        rows.append(
            {
                "path": str(config_path.parent),
                "data": config.get("data"),
                "model": config.get("model"),
                "test_accuracy": metrics.get("test_accuracy"),
            }
        )
    return rows
