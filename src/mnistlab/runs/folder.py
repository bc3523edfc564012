"""A run folder on disk, without loading its model: the file names, ``config.json`` read and checked, listing
runs, checking that a run can be written. Imports neither PyTorch nor scikit-learn.

A run folder holds ``config.json`` (data set, model name, parameters, seed, classes, library versions), the weights
(``weights.safetensors`` for PyTorch networks, ``model.skops`` for scikit-learn models), ``history.json`` and
``metrics.json``; ``config.json`` is written last, so a folder holding it is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnistlab.errors import DataFormatError, MnistlabError, RunError
from mnistlab.fileio import MAX_JSON_BYTES, read_bounded, read_json
from mnistlab.runs.schema import check_config, check_history, check_metrics, check_steps

CONFIG, WEIGHTS, SKOPS, HISTORY, METRICS = (
    "config.json",
    "weights.safetensors",
    "model.skops",
    "history.json",
    "metrics.json",
)
# Each optimizer step's loss of a short run (few epochs): its learning curves are drawn per step from it.
STEPS = "steps.json"
EVALUATIONS = "evaluations"  # side evaluations: the run scored on other data, one folder per data set
DERIVED = ("model.onnx", "model.onnx.sig")  # made from a run's weights; stale once they change
# 3: a PyTorch run's weights also hold its validation split's probabilities (calibration.conformal_probabilities,
# for APS / RAPS sets; a reader of format 2 would refuse the extra tensor, hence the new number); 2: layers saved
# under their names ("dense.weight") and the number of input features recorded; 1: layer indices ("6.weight"),
# images only. All load.
FORMAT_VERSION = 3
READABLE_FORMATS = (1, 2, 3)


@dataclass
class Run:
    """A loaded run: the fitted estimator and what was saved beside it."""

    path: Path
    estimator: Any  # a fitted scikit-learn estimator or TorchClassifier
    config: dict
    history: list[dict]
    metrics: dict
    steps: list[dict] = field(default_factory=list)  # per optimizer step, saved for short runs only


RUN_FILES = (CONFIG, WEIGHTS, SKOPS, HISTORY, METRICS, STEPS)
MIN_FREE_BYTES = 64 << 20  # a run folder is a few MB; less free space than this fails before training
TRAINING_LOCK = ".training.lock"  # held by the training writing the folder (claim_folder)


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


@contextlib.contextmanager
def claim_folder(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Hold the run folder ``path`` for one training, from before it starts until its run is saved.

    :func:`prepare_folder`'s checks, then the folder is created and claimed: an exclusive lock on
    ``.training.lock`` inside it (the system lets it go if the process dies, so a killed training leaves no stale
    claim). A second training into the same folder while the first runs fails at once with a :class:`RunError`,
    instead of both reporting success while one run is lost. The checks are repeated under the lock (a run that
    finished there meanwhile counts); on leaving, the lock file is removed, and a folder this call created is
    removed again if nothing was saved in it.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "run"
    >>> with claim_folder(out):
    ...     with claim_folder(out):
    ...         pass
    Traceback (most recent call last):
    ...
    mnistlab.errors.RunError: ...run: another training is writing a run there now; choose another `out`, or wait for it to finish
    >>> out.exists()
    False
    """
    from filelock import FileLock, Timeout  # light, but only training needs it

    path = prepare_folder(path, overwrite)
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path / TRAINING_LOCK), timeout=0)
        lock.acquire()
    except Timeout:
        raise RunError(
            f"{path}: another training is writing a run there now; choose another `out`, or wait for it to finish"
        ) from None
    except OSError as exc:
        raise RunError(f"{path}: cannot claim the folder for the run ({exc.strerror or exc})") from None
    try:
        prepare_folder(path, overwrite)
        yield path
    finally:
        with contextlib.suppress(OSError):
            # Removed while still locked: a process that opened the file just now finds its lock on a removed
            # file and tries again, so two trainings never both hold the folder.
            os.unlink(path / TRAINING_LOCK)
        lock.release()
        if created:
            with contextlib.suppress(OSError):
                path.rmdir()  # only when empty: a training that failed leaves no empty folder behind


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


def read_steps(path: str | Path) -> list[dict]:
    """A run's ``steps.json`` (each optimizer step's loss, saved for short runs), checked; empty when absent."""
    file = Path(path) / STEPS
    return check_steps(read_run_json(file, default=[]), file)


def read_metrics(path: str | Path) -> dict:
    """A run's ``metrics.json``, checked (empty when the file is absent)."""
    file = Path(path) / METRICS
    return check_metrics(read_run_json(file, default={}), file)


def list_runs(root: str | Path) -> list[dict]:
    """One summary row per run folder under ``root`` (what ``mnistlab runs`` prints).

    Every run's ``config.json``, ``metrics.json`` and ``history.json`` are read and checked; a damaged run never
    hides the others: it gets a row of its own with the reason.

    Parameters
    ----------
    root : str or Path
        A folder holding run folders (searched below), or a run folder.

    Returns
    -------
    list of dict
        Per folder holding a ``config.json``: ``path``, ``data``, ``model``, ``test_accuracy`` (None when not
        measured), ``epochs``, ``overrides`` and ``error``: None for a sound run; for a damaged one (or a
        ``config.json`` that is not a mnistlab run's) the one-line reason, naming the file and field, and the
        other fields empty.

    Examples
    --------
    >>> list_runs("runs")  # doctest: +SKIP
    [{'path': 'runs/cnn-mnist', 'data': 'mnist', 'model': 'cnn-fast', 'test_accuracy': 0.9912, ..., 'error': None}]
    """
    root = Path(root)
    if not root.is_dir():
        raise RunError(
            f"{root}: {'not a folder' if root.exists() else 'no such folder'}; expected a folder of runs"
        )
    return [_summary(config_path.parent) for config_path in sorted(root.glob("**/" + CONFIG))]


def _summary(folder: Path) -> dict:
    row = {
        "path": str(folder),
        "data": None,
        "model": None,
        "test_accuracy": None,
        "epochs": "-",
        "overrides": {},
    }
    try:
        config, metrics, history = read_config(folder), read_metrics(folder), read_history(folder)
    except MnistlabError as exc:
        return {**row, "error": str(exc)}
    return {
        **row,
        "data": config["data"],
        "model": config["model"],
        "test_accuracy": metrics.get("test_accuracy"),
        "epochs": epochs_text(config, history, metrics),
        "overrides": overrides(config, metrics),
        "error": None,
    }


def epochs_text(config: dict, history: list[dict], metrics: dict) -> str:
    """How long a network trained, in words: ``"8"``, or ``"5 of 20"`` when early stopping (or Ctrl-C) ended it
    before its ``epochs``; ``"-"`` for a scikit-learn model (no epochs).

    Examples
    --------
    >>> epochs_text({"kind": "torch", "params": {"epochs": 20}}, [{"epoch": 1}, {"epoch": 2}], {})
    '2 of 20'
    >>> epochs_text({"kind": "sklearn"}, [], {})
    '-'
    >>> epochs_text({"kind": "torch", "params": {"epochs": 1}}, [{"epoch": e} for e in range(43)], {"epochs": 43})
    '43'
    """
    planned = (config.get("params") or {}).get("epochs") if config.get("kind") == "torch" else None
    if planned is not None and isinstance(metrics.get("epochs"), int):
        planned = metrics["epochs"]  # what the recipe resolved for the data (min_steps), recorded by train
    ran = metrics.get("epochs_completed", len(history) if history else None)
    if planned is None:
        return "-" if ran is None else str(ran)
    if ran is None or ran == planned:
        return str(planned)
    return f"{ran} of {planned}"


def overrides(config: dict, metrics: dict) -> dict:
    """The parameters a run set over its model's recipe (``--set``, a sweep's grid), as training recorded them
    (``metrics.json`` ``overrides``); for a network trained before they were recorded, its recipe's settings that
    its ``config.json`` params differ from.

    Examples
    --------
    >>> overrides({"kind": "sklearn"}, {"overrides": {"C": 0.1}})
    {'C': 0.1}
    """
    recorded = metrics.get("overrides")
    if isinstance(recorded, dict):
        return recorded
    params = config.get("params")
    if config.get("kind") != "torch" or not isinstance(params, dict):
        return {}
    from mnistlab.models import ALIASES, get_spec  # the registry alone: no PyTorch

    recorded_name = str(config.get("model"))
    try:  # by today's name: a run saved under an old one is read without a deprecation warning
        spec = get_spec(ALIASES.get(recorded_name, recorded_name))
    except MnistlabError:  # a model this version no longer knows: nothing to compare against
        return {}
    recipes = [spec.recipe_for(None), spec.recipe_for("objects")]  # the data's kind is not recorded
    keys = sorted(set().union(*recipes) & set(params) - {"verbose"})
    return {k: params[k] for k in keys if all(params[k] != _as_json(r[k]) for r in recipes if k in r)}


def _as_json(value):
    return list(value) if isinstance(value, tuple) else value  # config.json holds a tuple as a list


def overrides_text(changed: dict) -> str:
    """``{"lr": 0.01, "epochs": 3}`` as ``"epochs=3 lr=0.01"`` (``"-"`` for none): what a listing prints.

    Examples
    --------
    >>> overrides_text({"lr": 0.01, "epochs": 3})
    'epochs=3 lr=0.01'
    """
    return " ".join(f"{k}={v}" for k, v in sorted(changed.items())) or "-"


def run_identity(path: str | Path) -> str:
    """sha256 of a run's ``config.json``: which saved model a side evaluation scored (a run trained again in the
    same folder has another, so its old side evaluations are not shown as its own)."""
    return hashlib.sha256(read_bounded(Path(path) / CONFIG, "a run config", MAX_JSON_BYTES)).hexdigest()


def side_evaluation_name(spec: str, preprocess: str = "none") -> str:
    """A folder name for a side evaluation, made from the data's name: the last part of a path (never a path
    itself: no ``/``, no ``..``, no leading dot), characters other than letters, digits, ``.``, ``_`` and ``-``
    replaced by ``-``, at most 60 characters; the preprocessing rule appended when it is not ``none``.

    Examples
    --------
    >>> side_evaluation_name("/data/digits/test.csv")
    'test.csv'
    >>> side_evaluation_name("../../etc", "mnist")
    'etc-mnist'
    >>> side_evaluation_name("..")
    'data'
    """
    last = re.split(r"[/\\]+", str(spec).rstrip("/\\"))[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", last).lstrip(".-")[:60].rstrip(".-") or "data"
    return name if preprocess == "none" else f"{name}-{preprocess}"


def side_evaluation_folder(run_path: str | Path, data: dict) -> Path:
    """Where the side evaluation of a run on ``data`` (its provenance: ``spec``, ``path``, ``preprocess``) goes:
    ``RUN/evaluations/NAME`` (:func:`side_evaluation_name`). The same data evaluated again replaces its folder;
    other data of the same name gets ``NAME-2``, ``NAME-3``, ...; a folder left without its ``metrics.json`` (an
    evaluation that stopped part-way) is used again."""
    root = Path(run_path) / EVALUATIONS
    base = side_evaluation_name(data.get("spec", "data"), data.get("preprocess", "none"))
    for n in range(1, 10_000):
        folder = root / (base if n == 1 else f"{base}-{n}")
        if not (folder / METRICS).exists():  # free, or left incomplete (metrics.json is written last)
            return folder
        recorded = _read_side_quietly(folder).get("data") or {}
        if _same_data(recorded, data):
            return folder
    raise RunError(f"{root}: too many side evaluations named {base}; remove some")


def _same_data(recorded: dict, data: dict) -> bool:
    keys = ("path", "preprocess") if data.get("path") else ("spec", "preprocess")  # ./a.csv is a.csv
    return all(recorded.get(k) == data.get(k) for k in keys)


def _read_side_quietly(folder: Path) -> dict:
    try:
        found = read_json(folder / METRICS, {})
    except DataFormatError:
        return {}
    return found if isinstance(found, dict) else {}


def side_evaluations(run_path: str | Path) -> list[dict]:
    """The side evaluations of a run (``RUN/evaluations/*/metrics.json``) made of the model now saved there,
    by folder name; each with ``folder`` added. Those of an earlier model in the folder are left out, and so are
    damaged ones, each with a warning naming the file and field.

    Examples
    --------
    >>> side_evaluations("runs/cnn-mnist")  # doctest: +SKIP
    [{'folder': 'runs/cnn-mnist/evaluations/digits', 'data': {'spec': 'digits', ...}, 'test_accuracy': 0.95, ...}]
    """
    root = Path(run_path) / EVALUATIONS
    if not root.is_dir():
        return []
    identity = run_identity(run_path)
    found = []
    for file in sorted(root.glob("*/" + METRICS)):
        try:
            record = check_metrics(read_json(file), file)
        except (DataFormatError, RunError) as exc:
            warnings.warn(f"side evaluation left out: {exc}", stacklevel=2)  # the others are still shown
            continue
        if record.get("run_identity") == identity and isinstance(record.get("data"), dict):
            found.append({**record, "folder": str(file.parent)})
    return found
