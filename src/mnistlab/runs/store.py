"""Saving and loading a run's model, without pickles: the network's weights as safetensors
(:mod:`mnistlab.runs.network_weights`), a scikit-learn model as a skops file loaded only after its checks
(:mod:`mnistlab.runs.skops_files`). Files are staged under temporary names and renamed into place.
"""

from __future__ import annotations

import os
import platform
import secrets
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from safetensors.torch import save as save_tensors
from sklearn.base import BaseEstimator

from mnistlab import __version__
from mnistlab.errors import RunError
from mnistlab.fileio import json_text
from mnistlab.models import IMAGE_FEATURES, TorchClassifier
from mnistlab.runs.folder import (
    CONFIG,
    DERIVED,
    FORMAT_VERSION,
    HISTORY,
    METRICS,
    SKOPS,
    STEPS,
    WEIGHTS,
    Run,
    read_config,
    read_history,
    read_metrics,
    read_steps,
)
from mnistlab.runs.network_weights import calibration_tensors, load_network
from mnistlab.runs.signing import signature
from mnistlab.runs.skops_files import load_sklearn

MAX_SAVED_STEPS = 20_000  # optimizer steps whose losses a run keeps in steps.json (cnn on MNIST: 3,376)


def versions() -> dict[str, str]:
    return {
        "mnistlab": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
    }


def _machine(estimator) -> dict:
    """What the run ran on: the CPU, its flags that decide bf16's speed, cores, threads, and for a network the
    precision and memory layout training actually used."""
    from mnistlab.models import cpu_facts

    facts = cpu_facts()
    machine = {
        "cpu": facts["cpu"] if facts["cpu"] != "unknown" else platform.processor() or platform.machine(),
        "cpu_flags": facts["flags"],
        "cores": os.cpu_count(),
        "threads": getattr(estimator, "threads_", None) or torch.get_num_threads(),
        "bf16": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
    }
    if isinstance(estimator, TorchClassifier):
        machine["precision"] = getattr(estimator, "precision_", None)
        machine["channels_last"] = getattr(estimator, "channels_last_", None)
    return machine


def interruption(estimator) -> dict:
    """``{"interrupted": True, "epochs_completed": N}`` for a training stopped by Ctrl-C or SIGTERM, else ``{}``:
    what metrics.json, the command line and the report say of it."""
    if not getattr(estimator, "interrupted_", False):
        return {}
    return {"interrupted": True, "epochs_completed": len(getattr(estimator, "history_", []))}


def save(
    path: str | Path,
    estimator: BaseEstimator,
    *,
    model: str,
    data: str,
    classes: list[str],
    seed: int | None = None,
    metrics: dict | None = None,
    data_source: dict | None = None,
    ink: dict | None = None,
) -> Path:
    """Write a fitted estimator and its metadata into the run folder ``path``.

    ``ink`` is the training images' ink profile (``datasets.ink_profile(train.images).to_dict()``): predict,
    the web app and evaluation on other data hand the model images in that polarity, or warn.

    Every file is written under a temporary name and renamed into place, ``config.json`` last; a run that was
    there is replaced only then, with its files of the other kind (weights of a PyTorch run replaced by a
    scikit-learn one, say) and its ONNX export removed. A full or read-only disk is a :class:`RunError` and the
    folder keeps what it held. A training stopped by Ctrl-C or SIGTERM is recorded as ``interrupted`` in
    ``metrics.json``."""
    path = Path(path)
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{path}: cannot create the run folder ({exc.strerror or exc})") from None
    config = {
        "format": FORMAT_VERSION,
        "data": data,
        "model": model,
        "seed": seed,
        "classes": list(classes),
        "classes_": np.asarray(estimator.classes_).tolist(),
        "n_features_in": int(getattr(estimator, "n_features_in_", IMAGE_FEATURES)),
        "data_source": data_source,  # where train and test data came from, with their content's sha256
        "ink": ink,  # the training images' polarity and ink statistics (None: not measured, not compared)
        "saved": time.strftime("%Y-%m-%d %H:%M"),
        "machine": _machine(estimator),
        "versions": versions(),
    }
    metrics = {**(metrics or {}), **interruption(estimator)}
    staged: list[tuple[Path, Path]] = []

    def stage(name: str) -> Path:
        tmp = path / f".{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
        staged.append((tmp, path / name))
        return tmp

    try:  # every file is written under a temporary name first: a full disk leaves the folder as it was
        if isinstance(estimator, TorchClassifier):
            config["kind"] = "torch"
            # callbacks observe one fit (objects, not settings): a run keeps what they measured, in the history;
            # a checkpoint file belongs to the training that wrote it, not to the model
            unsaved = ("callbacks", "checkpoint")
            config["params"] = {k: v for k, v in estimator.get_params().items() if k not in unsaved}
            tensors = {k: v.detach().cpu().contiguous() for k, v in estimator.network_.state_dict().items()}
            tensors.update(calibration_tensors(estimator))
            config["temperature"] = float(getattr(estimator, "temperature_", 1.0))
            # serialised in memory and written by Python: a full disk is an OSError with its errno, where
            # safetensors' own file writer raises a SafetensorError that says only "IoError"
            stage(WEIGHTS).write_bytes(save_tensors(tensors, metadata={"format": str(FORMAT_VERSION)}))
            history = estimator.history_
            steps = getattr(estimator, "step_history_", [])
            if (
                0 < len(steps) <= MAX_SAVED_STEPS
            ):  # a few hundred kB at most; a longer run's epochs tell enough
                stage(STEPS).write_text(json_text(steps))
        else:
            import skops.io

            config["kind"] = "sklearn"
            skops.io.dump(estimator, stage(SKOPS))
            config["skops_signature"] = signature(staged[-1][0])
            history = []
        stage(HISTORY).write_text(json_text(history))
        stage(METRICS).write_text(json_text(metrics))
        stage(CONFIG).write_text(json_text(config))
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        if created and not any(path.iterdir()):
            path.rmdir()  # no empty folder left behind
        raise RunError(
            f"{path}: cannot save the run ({exc.strerror or exc}); the folder keeps what it held"
        ) from None
    (path / CONFIG).unlink(missing_ok=True)  # the folder is incomplete until the new config.json is in place
    for tmp, final in staged:  # config.json last: a folder with config.json is complete
        os.replace(tmp, final)
    stale = [SKOPS if config["kind"] == "torch" else WEIGHTS, *DERIVED]  # an old run's other files
    if all(final.name != STEPS for _, final in staged):
        stale.append(STEPS)
    for name in stale:
        (path / name).unlink(missing_ok=True)
    return path


def load(path: str | Path, trust: bool = False) -> BaseEstimator:
    """The fitted estimator saved in a run folder; predictions are identical to the saved one's.

    Nothing is unpickled: weights are safetensors checked against the architecture, scikit-learn models are
    skops files of the registered types only.

    Parameters
    ----------
    path : str or Path
        The run folder (``config.json``, and ``weights.safetensors`` or ``model.skops``).
    trust : bool
        Also load tree models (random forests, boosting) that this machine did not sign: only for run folders
        from a source you trust (see :data:`~mnistlab.runs.skops_files.TREE_TYPES`).

    Returns
    -------
    estimator
        Fitted, with the run's ``classes_``.

    Raises
    ------
    RunError
        For a folder that is not a complete run, a malformed field (named), or an untrusted model.

    Examples
    --------
    >>> clf = load("runs/cnn-mnist")  # doctest: +SKIP
    >>> clf.predict(images)  # doctest: +SKIP
    """
    return load_run(path, trust).estimator


def load_run(path: str | Path, trust: bool = False) -> Run:
    """Load a run folder: its estimator and everything it recorded.

    Parameters
    ----------
    path : str or Path
        The run folder.
    trust : bool
        As for :func:`load`.

    Returns
    -------
    Run
        ``path``, ``estimator``, ``config``, ``history`` and ``metrics``, each file checked field by field.

    Examples
    --------
    >>> run = load_run("runs/cnn-mnist")  # doctest: +SKIP
    >>> run.config["model"], run.metrics["test_accuracy"]  # doctest: +SKIP
    """
    path = Path(path)
    config = read_config(path)
    estimator = load_network(path, config) if config["kind"] == "torch" else load_sklearn(path, config, trust)
    history = estimator.history_ if config["kind"] == "torch" else read_history(path)  # read once
    return Run(path, estimator, config, history, read_metrics(path), read_steps(path))
