"""Runs on disk: a folder per trained model, written and read without pickles.

``config.json`` (data set, model name, parameters, seed, classes, library versions), the weights
(``weights.safetensors`` for PyTorch networks, ``model.skops`` for scikit-learn models, loaded with an explicit
list of trusted types), ``history.json`` and ``metrics.json``. Files are written atomically.

>>> from mnistlab import runs
>>> clf = runs.load("runs/cnn-mnist")  # doctest: +SKIP
>>> runs.list_runs("runs")  # doctest: +SKIP
"""

from __future__ import annotations

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
from mnistlab.errors import DataFormatError, RunError
from mnistlab.fileio import atomic_write, read_json, write_json
from mnistlab.models import TorchClassifier, networks

CONFIG, WEIGHTS, SKOPS, HISTORY, METRICS = (
    "config.json",
    "weights.safetensors",
    "model.skops",
    "history.json",
    "metrics.json",
)
# 2: layers saved under their names ("dense.weight") and the number of input features recorded; 1: layer
# indices ("6.weight"), images only. Both load.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)

# scikit-learn and numpy types a saved classic model may contain; anything else is refused at load time.
_TRUSTED_PREFIXES = ("sklearn.", "mnistlab.models.classic.FlattenPixels")


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
        "n_features_in": int(getattr(estimator, "n_features_in_", networks.IMAGE_FEATURES)),
        "versions": versions(),
    }
    if isinstance(estimator, TorchClassifier):
        config["kind"] = "torch"
        config["params"] = estimator.get_params()
        tensors = {k: v.detach().cpu().contiguous() for k, v in estimator.network_.state_dict().items()}
        with atomic_write(path / WEIGHTS) as tmp:
            save_file(tensors, str(tmp), metadata={"format": str(FORMAT_VERSION)})
        history = estimator.history_
    else:
        import skops.io

        config["kind"] = "sklearn"
        with atomic_write(path / SKOPS) as tmp:
            skops.io.dump(estimator, tmp)
        history = []
    write_json(path / HISTORY, history)
    write_json(path / METRICS, metrics or {})
    write_json(path / CONFIG, config)  # last: a folder with config.json is complete
    return path


def _read_run_json(path: Path, default=None):
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
    config = _read_run_json(path / CONFIG)
    known = isinstance(config, dict) and config.get("kind") in {"torch", "sklearn"}
    if not known or config.get("format") not in READABLE_FORMATS:
        raise RunError(f"{path / CONFIG}: not a mnistlab run config (formats {READABLE_FORMATS})")
    return config


def load(path: str | Path) -> BaseEstimator:
    """The fitted estimator saved in a run folder; predictions are identical to the saved one's."""
    return load_run(path).estimator


def load_run(path: str | Path) -> Run:
    """Load a run folder: estimator, config, history and metrics."""
    path = Path(path)
    config = read_config(path)
    estimator = _load_torch(path, config) if config["kind"] == "torch" else _load_sklearn(path)
    history = _read_run_json(path / HISTORY, default=[])
    metrics = _read_run_json(path / METRICS, default={})
    return Run(path, estimator, config, history, metrics)


def _load_torch(path: Path, config: dict) -> TorchClassifier:
    try:
        clf = TorchClassifier(**config["params"])
        clf.validate_params()
        classes = np.asarray(config["classes_"])
        n_features = int(config.get("n_features_in", networks.IMAGE_FEATURES))
        net = networks.build(clf.architecture, len(classes), clf.width, n_features)
    except (TypeError, ValueError, KeyError) as exc:
        raise RunError(f"{path / CONFIG}: invalid model parameters ({exc})") from None
    try:
        state = load_file(str(path / WEIGHTS))
    except FileNotFoundError:
        raise RunError(f"{path / WEIGHTS}: missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunError(f"{path / WEIGHTS}: not a valid safetensors file ({exc})") from None
    if config["format"] == 1:
        state = networks.rename_format1_weights(state, clf.architecture)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise RunError(
            f"{path / WEIGHTS}: weights do not fit the {clf.architecture!r} network ({first})"
        ) from None
    net.eval()
    clf.network_, clf.classes_, clf.n_features_in_ = net, classes, n_features
    clf.history_ = _read_run_json(path / HISTORY, default=[])
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
            config = read_json(config_path)
            metrics = read_json(config_path.parent / METRICS, default={})
        except DataFormatError:
            continue  # not a run folder (or a damaged one): listing goes on
        if not isinstance(config, dict) or not isinstance(metrics, dict):
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
