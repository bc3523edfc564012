"""Runs on disk: a folder per trained model, written and read without pickles.

``config.json`` (data set, model name, parameters, seed, classes, library versions), the weights
(``weights.safetensors`` for PyTorch networks, ``model.skops`` for scikit-learn models, loaded with an explicit
list of trusted types), ``history.json`` and ``metrics.json``. Files are written atomically.

>>> from mnistlab import runs
>>> clf = runs.load("runs/cnn-mnist")  # doctest: +SKIP
>>> runs.list_runs("runs")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from sklearn.base import BaseEstimator

from mnistlab import __version__
from mnistlab.errors import MnistlabError
from mnistlab.fileio import write_json
from mnistlab.models import TorchClassifier, networks

CONFIG, WEIGHTS, SKOPS, HISTORY, METRICS = (
    "config.json",
    "weights.safetensors",
    "model.skops",
    "history.json",
    "metrics.json",
)
FORMAT_VERSION = 1

# scikit-learn and numpy types a saved classic model may contain; anything else is refused at load time.
_TRUSTED_PREFIXES = ("sklearn.", "mnistlab.models.classic.FlattenPixels")


class RunError(MnistlabError):
    """A run folder is missing, incomplete, tampered with or not written by mnistlab."""


@dataclass
class Run:
    """A loaded run: the fitted estimator and what was saved beside it."""

    path: Path
    estimator: BaseEstimator
    config: dict
    history: list[dict]
    metrics: dict


def versions() -> dict[str, str]:
    return {
        "mnistlab": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
    }


def save(
    path: str | Path, estimator: BaseEstimator, *, model: str, data: str, classes: list[str],
    seed: int | None = None, metrics: dict | None = None,
) -> Path:  # fmt: skip
    """Write a fitted estimator and its metadata into the run folder ``path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = {
        "format": FORMAT_VERSION,
        "data": data,
        "model": model,
        "seed": seed,
        "classes": list(classes),
        "classes_": np.asarray(estimator.classes_).tolist(),
        "versions": versions(),
    }
    if isinstance(estimator, TorchClassifier):
        config["kind"] = "torch"
        config["params"] = estimator.get_params()
        tensors = {k: v.detach().cpu().contiguous() for k, v in estimator.network_.state_dict().items()}
        tmp = path / f".{WEIGHTS}.tmp"
        save_file(tensors, str(tmp), metadata={"format": str(FORMAT_VERSION)})
        os.replace(tmp, path / WEIGHTS)
        history = estimator.history_
    else:
        import skops.io

        config["kind"] = "sklearn"
        tmp = path / f".{SKOPS}.tmp"
        skops.io.dump(estimator, tmp)
        os.replace(tmp, path / SKOPS)
        history = []
    write_json(path / HISTORY, history)
    write_json(path / METRICS, metrics or {})
    write_json(path / CONFIG, config)  # last: a folder with config.json is complete
    return path


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{path}: missing; is {path.parent} a mnistlab run folder?") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: not valid JSON ({exc})") from None


def read_config(path: str | Path) -> dict:
    """The ``config.json`` of a run folder, checked to be a mnistlab run config."""
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"{path}: no such run folder")
    config = _read_json(path / CONFIG)
    known = isinstance(config, dict) and config.get("kind") in {"torch", "sklearn"}
    if not known or config.get("format") != FORMAT_VERSION:
        raise RunError(f"{path / CONFIG}: not a mnistlab run config (format {FORMAT_VERSION})")
    return config


def load(path: str | Path) -> BaseEstimator:
    """The fitted estimator saved in a run folder; predictions are identical to the saved one's."""
    return load_run(path).estimator


def load_run(path: str | Path) -> Run:
    """Load a run folder: estimator, config, history and metrics."""
    path = Path(path)
    config = read_config(path)
    estimator = _load_torch(path, config) if config["kind"] == "torch" else _load_sklearn(path)
    history = _read_json(path / HISTORY) if (path / HISTORY).is_file() else []
    metrics = _read_json(path / METRICS) if (path / METRICS).is_file() else {}
    return Run(path, estimator, config, history, metrics)


def _load_torch(path: Path, config: dict) -> TorchClassifier:
    try:
        clf = TorchClassifier(**config["params"])
        classes = np.asarray(config["classes_"])
        net = networks.build(clf.architecture, len(classes), clf.width)
    except (TypeError, ValueError, KeyError) as exc:
        raise RunError(f"{path / CONFIG}: invalid model parameters ({exc})") from None
    try:
        state = load_file(str(path / WEIGHTS))
    except FileNotFoundError:
        raise RunError(f"{path / WEIGHTS}: missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunError(f"{path / WEIGHTS}: not a valid safetensors file ({exc})") from None
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise RunError(
            f"{path / WEIGHTS}: weights do not fit the {clf.architecture!r} network ({first})"
        ) from None
    net.eval()
    clf.network_, clf.classes_, clf.n_features_in_ = net, classes, 784
    clf.history_ = _read_json(path / HISTORY) if (path / HISTORY).is_file() else []
    return clf


def _load_sklearn(path: Path) -> BaseEstimator:
    import skops.io

    file = path / SKOPS
    try:
        untrusted = skops.io.get_untrusted_types(file=file)
    except FileNotFoundError:
        raise RunError(f"{file}: missing") from None
    except Exception as exc:  # skops raises several kinds for a corrupt archive
        raise RunError(f"{file}: not a valid skops file ({type(exc).__name__}: {exc})") from None
    refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
    if refused:
        raise RunError(f"{file}: refusing to load types outside scikit-learn/numpy: {', '.join(refused)}")
    try:
        return skops.io.load(file, trusted=untrusted)
    except Exception as exc:
        raise RunError(f"{file}: cannot load ({type(exc).__name__}: {exc})") from None


def list_runs(root: str | Path) -> list[dict]:
    """One summary row per run folder under ``root``: path, data set, model, test accuracy."""
    rows = []
    for config_path in sorted(Path(root).glob("**/" + CONFIG)):
        try:
            config = json.loads(config_path.read_text())
            metrics = json.loads((config_path.parent / METRICS).read_text())
        except (OSError, ValueError):
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
