"""A PyTorch run's weights file (safetensors): the network checked against its config's size before it is built,
and the conformal calibration saved beside the weights (formats 1-3; 3 adds the validation probabilities that APS
and RAPS sets need)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from mnistlab.errors import RunError
from mnistlab.models import IMAGE_FEATURES, TorchClassifier, build_network, rename_format1_weights
from mnistlab.runs.folder import CONFIG, WEIGHTS, read_config, read_history

MAX_NETWORK_BYTES = 4 << 30  # 4 GiB of float32 weights: a thousand times the largest registered network


def _check_network_size(shape_only: torch.nn.Module, path: Path) -> None:
    """The network a config implies must fit in its weights file (and under :data:`MAX_NETWORK_BYTES`) before it
    is built: a config of width 4096 over 1,000,000 features would otherwise allocate 16 GB, then fail to load
    a 100 KB file into it."""
    implied = sum(t.numel() * t.element_size() for t in shape_only.state_dict().values())
    try:
        on_disk = os.stat(path / WEIGHTS).st_size
    except FileNotFoundError:
        raise RunError(f"{path / WEIGHTS}: missing") from None
    if implied > MAX_NETWORK_BYTES:
        raise RunError(
            f"{path / CONFIG}: describes a network of {implied:,} bytes; mnistlab builds at most "
            f"{MAX_NETWORK_BYTES >> 30} GiB"
        )
    if implied > on_disk:
        raise RunError(
            f"{path / WEIGHTS}: holds {on_disk:,} bytes, fewer than the {implied:,} bytes of the network "
            f"{CONFIG} describes (truncated, or the config does not belong to these weights)"
        )


def load_network(path: str | Path, config: dict) -> TorchClassifier:
    """The fitted ``TorchClassifier`` of the run folder ``path`` whose checked ``config.json`` is ``config``."""
    path = Path(path)
    try:
        clf = TorchClassifier(**config["params"])
        clf.validate_params()  # before anything is built: a width of 10**6 is refused, not allocated
        classes = np.asarray(config["classes_"])
        n_features = int(config.get("n_features_in", IMAGE_FEATURES))
        with torch.device("meta"):  # shapes only: nothing is allocated yet
            shape_only = build_network(clf.architecture, len(classes), clf.width, n_features)
    except (TypeError, ValueError, KeyError) as exc:
        raise RunError(f"{path / CONFIG}: invalid model parameters ({exc})") from None
    _check_network_size(shape_only, path)
    net = build_network(clf.architecture, len(classes), clf.width, n_features)
    try:
        state = load_file(str(path / WEIGHTS))
    except FileNotFoundError:
        raise RunError(f"{path / WEIGHTS}: missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunError(f"{path / WEIGHTS}: not a valid safetensors file ({exc})") from None
    if config["format"] == 1:
        state = rename_format1_weights(state, clf.architecture)
    clf.temperature_, clf.conformal_ = _calibration_of(state, config, len(classes), path)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise RunError(
            f"{path / WEIGHTS}: weights do not fit the {clf.architecture!r} network ({first})"
        ) from None
    net.eval()
    clf.network_, clf.classes_, clf.n_features_in_ = net, classes, n_features
    clf.history_ = read_history(path)
    return clf


CONFORMAL_SCORES, CONFORMAL_LABELS = "calibration.conformal_scores", "calibration.conformal_labels"
# from format 3: the validation split's probabilities (N, classes), which APS and RAPS sets are calibrated on
CONFORMAL_PROBABILITIES = "calibration.conformal_probabilities"
CONFORMAL_TENSORS = (CONFORMAL_SCORES, CONFORMAL_LABELS, CONFORMAL_PROBABILITIES)


def calibration_tensors(estimator: TorchClassifier) -> dict:
    """The conformal calibration (validation scores, labels and probabilities) as tensors beside the weights."""
    held_out = getattr(estimator, "conformal_", None)
    if held_out is None:
        return {}
    tensors = {
        CONFORMAL_SCORES: torch.from_numpy(np.ascontiguousarray(held_out.scores, dtype=np.float64)),
        CONFORMAL_LABELS: torch.from_numpy(np.ascontiguousarray(held_out.labels, dtype=np.int64)),
    }
    if held_out.probabilities is not None:  # None: a model loaded from a run saved before format 3
        tensors[CONFORMAL_PROBABILITIES] = torch.from_numpy(
            np.ascontiguousarray(held_out.probabilities, dtype=np.float64)
        )
    return tensors


def read_conformal(path: str | Path):
    """The conformal calibration saved with a PyTorch run (``None`` for other runs, or one saved before
    calibration existed), read without building the network (the web app on ONNX Runtime needs only this)."""
    from safetensors import safe_open

    path = Path(path)
    config = read_config(path)
    if config["kind"] != "torch":
        return None
    try:
        with safe_open(str(path / WEIGHTS), framework="pt") as file:
            names = set(file.keys())
            if not {CONFORMAL_SCORES, CONFORMAL_LABELS} <= names:
                return None
            state = {name: file.get_tensor(name) for name in CONFORMAL_TENSORS if name in names}
    except FileNotFoundError:
        raise RunError(f"{path / WEIGHTS}: missing") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise RunError(f"{path / WEIGHTS}: not a valid safetensors file ({exc})") from None
    return _calibration_of(state, config, len(config["classes_"]), path)[1]


def _calibration_of(state: dict, config: dict, n_classes: int, path: Path) -> tuple:
    """(temperature, conformal calibration or None) of a saved run, taken out of ``state``; a run saved before
    calibration existed has temperature 1 and no prediction sets, one saved before format 3 no probabilities
    (its split and class-conditional sets work; APS and RAPS say why not)."""
    from mnistlab.models import ConformalCalibration

    temperature = config.get("temperature", 1.0)  # checked with the rest of config.json (runs/schema.py)
    scores, labels = state.pop(CONFORMAL_SCORES, None), state.pop(CONFORMAL_LABELS, None)
    probabilities = state.pop(CONFORMAL_PROBABILITIES, None)
    if scores is None or labels is None:
        return float(temperature), None
    scores, labels = scores.numpy(), labels.numpy()
    if (
        scores.shape != labels.shape
        or scores.ndim != 1
        or (len(labels) and not 0 <= labels.min() <= labels.max() < n_classes)
        or (probabilities is not None and tuple(probabilities.shape) != (len(labels), n_classes))
    ):
        raise RunError(
            f"{path / WEIGHTS}: its conformal calibration does not fit the model's {n_classes} classes"
        )
    # each score is 1 - a probability; a NaN would make every prediction set empty, silently
    if not np.all((scores >= 0) & (scores <= 1)):
        raise RunError(f"{path / WEIGHTS}: its conformal scores are not all in 0..1 (damaged or edited)")
    if probabilities is not None:
        probabilities = probabilities.numpy()
        true_class = probabilities[np.arange(len(labels)), labels]
        if not (np.all((probabilities >= 0) & (probabilities <= 1)) and np.allclose(1 - true_class, scores)):
            raise RunError(
                f"{path / WEIGHTS}: its conformal probabilities are not in 0..1 or disagree with its scores "
                "(damaged or edited)"
            )
    return float(temperature), ConformalCalibration(scores, labels, n_classes, probabilities)
