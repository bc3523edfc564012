"""Feature vectors of images from any place in a model: the input, the scaled input, every named layer of a
PyTorch network (forward hooks, eval mode, batched), or a scikit-learn pipeline's scaled input and scores.

Examples
--------
>>> import numpy as np
>>> from mnistlab import models
>>> X = np.random.default_rng(0).integers(0, 256, (40, 28, 28), dtype=np.uint8)
>>> clf = models.create("mlp", epochs=1, threads=1).fit(X, np.arange(40) % 2)
>>> layers(clf)
{'input': 784, 'scaled': 784, 'dense': 128, 'relu': 128, 'logits': 2}
>>> features(clf, X, "relu").shape
(40, 128)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator

from mnistlab.errors import DataFormatError, ParameterError
from mnistlab.models import TorchClassifier, as_model_input

_SKIPPED = (torch.nn.Flatten, torch.nn.Dropout)  # they repeat their input's values


def _estimator(run_or_estimator) -> BaseEstimator:
    if isinstance(run_or_estimator, str | Path):
        from mnistlab import runs

        return runs.load(run_or_estimator)
    return getattr(run_or_estimator, "estimator", run_or_estimator)


def _torch_layers(clf: TorchClassifier) -> list[str]:
    from mnistlab.models import FastDropout

    return [
        name
        for name, module in clf.network_.named_children()
        if name != "scaling" and not isinstance(module, (*_SKIPPED, FastDropout))
    ]


def layers(run_or_estimator) -> dict[str, int]:
    """``{feature source: vector length}``: ``input``, ``scaled``, then each named layer (PyTorch) or
    ``scores`` (scikit-learn)."""
    est = _estimator(run_or_estimator)
    probe = np.zeros((1, est.n_features_in_), np.uint8)
    return {name: features(est, probe, name).shape[1] for name in _names(est)}


def _names(est) -> list[str]:
    if isinstance(est, TorchClassifier):
        return ["input", "scaled", *_torch_layers(est)]
    return ["input", "scaled", "scores"]


def features(run_or_estimator, X, layer: str = "input", batch_size: int = 2048) -> np.ndarray:
    """One float32 vector per image from a layer of a trained model.

    Parameters
    ----------
    run_or_estimator : str, Path or fitted estimator
        A run folder or a fitted mnistlab model.
    X : ndarray of shape (N, 28, 28) or (N, 784)
        Images, pixels 0..255.
    layer : str
        ``"input"``, ``"scaled"``, or a named layer (:func:`layers` lists them: ``pool3``, ``logits``, ...;
        ``scores`` for scikit-learn pipelines).
    batch_size : int
        Images per forward pass (in eval mode, without gradients).

    Returns
    -------
    ndarray of shape (N, size of the layer), float32

    Examples
    --------
    >>> from mnistlab.models.torch_classifier import TorchClassifier
    >>> X = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    >>> clf = TorchClassifier("mlp", epochs=1, threads=1).fit(X, np.arange(20) % 2)
    >>> features(clf, X, "input").shape, features(clf, X, "logits").shape
    ((20, 784), (20, 2))
    """
    est = _estimator(run_or_estimator)
    names = _names(est)
    if layer not in names:
        raise ParameterError(
            f"layer {layer!r} is not in this {type(est).__name__}; its layers: {', '.join(names)}"
        )
    X = np.asarray(X)
    rows = X.reshape(len(X), -1)
    if rows.shape[1] != est.n_features_in_:
        raise DataFormatError(
            f"images of shape {X.shape[1:]} ({rows.shape[1]} values each); this model takes "
            f"{est.n_features_in_} values per image"
        )
    if layer == "input":
        return rows.astype(np.float32)
    if not isinstance(est, TorchClassifier):
        return _sklearn_features(est, rows, layer)
    net = est.network_.eval()
    inputs = torch.from_numpy(np.ascontiguousarray(as_model_input(rows))).float().unsqueeze(1)
    module = net.scaling if layer == "scaled" else getattr(net, layer)
    captured: list[torch.Tensor] = []
    hook = module.register_forward_hook(lambda _m, _i, out: captured.append(out.detach().flatten(1).float()))
    try:
        with torch.inference_mode():
            for start in range(0, len(inputs), batch_size):
                net(inputs[start : start + batch_size])
    finally:
        hook.remove()
    return torch.cat(captured).numpy() if captured else np.zeros((0, 0), np.float32)


def _sklearn_features(pipeline, rows: np.ndarray, layer: str) -> np.ndarray:
    if layer == "scaled":
        return np.asarray(pipeline[:-1].transform(rows), np.float32)
    if hasattr(pipeline, "decision_function"):
        try:
            scores = np.asarray(pipeline.decision_function(rows), np.float32)
            return scores.reshape(len(rows), -1)
        except AttributeError:
            pass
    return np.asarray(pipeline.predict_proba(rows), np.float32)


def default_sources(run_or_estimator) -> list[str]:
    """The four places the graph tutorial compares: the input, the scaled input, the last convolutional feature
    map (the layer before ``flatten``) and the penultimate dense layer, plus the logits (duplicates dropped)."""
    est = _estimator(run_or_estimator)
    names = _names(est)
    if not isinstance(est, TorchClassifier):
        return names
    children = [name for name, _ in est.network_.named_children()]
    chosen = ["input", "scaled"]
    if "flatten" in children and children.index("flatten") > 1:
        chosen.append(_last_kept(est, children[: children.index("flatten")]))
    chosen.append(_last_kept(est, children[: children.index("logits")]))
    chosen.append("logits")
    return list(dict.fromkeys(name for name in chosen if name in names))


def _last_kept(est: TorchClassifier, children: list[str]) -> str:
    kept = set(_torch_layers(est)) | {"scaled"}
    return next((name for name in reversed(children) if name in kept), "scaled")
