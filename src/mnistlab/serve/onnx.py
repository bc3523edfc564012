"""ONNX export of a PyTorch run and an ONNX Runtime classifier with the same predict API.

ONNX Runtime runs small CNNs several times faster than PyTorch eager on a CPU (see the benchmark suite), so the
predict path can use it: ``mnistlab export RUN --onnx`` then ``mnistlab predict RUN --onnx ...``.
Needs the optional packages ``onnx`` and ``onnxruntime`` (``pip install 'mnistlab[onnx]'``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from mnistlab import runs
from mnistlab.errors import DataFormatError, MnistlabError
from mnistlab.fileio import atomic_write, read_bounded
from mnistlab.models import TorchClassifier
from mnistlab.runs import signature, signed_here

ONNX_FILE = "model.onnx"
SIGNATURE_FILE = "model.onnx.sig"  # this machine's HMAC of model.onnx: only graphs it exported are ever run
# the sha256 of what the graph was exported from: the weights and config.json (temperature, test-time
# augmentation, the network's parameters: everything its answers depend on); a graph whose stamp differs is stale
STAMP_KEY = "mnistlab.source_sha256"


def _require_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise MnistlabError("ONNX Runtime is not installed: pip install onnx onnxruntime") from None
    return onnxruntime


def export_onnx(run_path: str | Path) -> Path:
    """Write ``model.onnx`` into a PyTorch run folder, signed by this machine (``model.onnx.sig``).

    The graph takes float pixels (N, 1, 28, 28) on the 0..255 scale and gives the logits over the run's fitted
    temperature, whose softmax is ``predict_proba``; test-time flips are inside it.

    Parameters
    ----------
    run_path : str or Path
        A PyTorch run folder.

    Returns
    -------
    Path
        ``model.onnx``.

    Examples
    --------
    >>> export_onnx("runs/cnn-mnist")  # doctest: +SKIP
    PosixPath('runs/cnn-mnist/model.onnx')"""
    run_path = Path(run_path)
    # before loading: a change meanwhile leaves a stale stamp (exported again), never a wrong one
    source = source_digest(run_path) if (run_path / runs.WEIGHTS).is_file() else None
    estimator = runs.load(run_path)
    if not isinstance(estimator, TorchClassifier):
        raise MnistlabError(
            f"{run_path}: only PyTorch runs export to ONNX (this one is {type(estimator).__name__})"
        )
    if estimator.n_features_in_ != 784:
        raise MnistlabError(
            f"{run_path}: ONNX export takes image models (784 pixels), this one has "
            f"{estimator.n_features_in_} features"
        )
    net = estimator.network_.float().eval()
    if getattr(estimator, "tta", None) == "flip":  # the same logits as predict_proba, in the graph
        net = FlipAverage(net)
    temperature = float(getattr(estimator, "temperature_", 1.0))
    if (
        temperature != 1.0
    ):  # calibrated in the graph: any ONNX consumer's softmax gives predict_proba's numbers
        net = Tempered(net, temperature)
    target = run_path / ONNX_FILE
    with atomic_write(target) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(
            net,
            (torch.zeros(1, 1, 28, 28),),
            str(tmp),
            input_names=["pixels"],
            output_names=["logits"],
            dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}},
            dynamo=False,
        )
        _stamp(tmp, source or source_digest(run_path))
        signed = signature(tmp)
    with atomic_write(run_path / SIGNATURE_FILE) as tmp:
        tmp.write_text(signed + "\n")
    return target


class Tempered(torch.nn.Module):
    """A network's logits divided by its temperature (fitted on validation data; ``TorchClassifier``)."""

    def __init__(self, net: torch.nn.Module, temperature: float) -> None:
        super().__init__()
        self.net, self.temperature = net, temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) / self.temperature


class FlipAverage(torch.nn.Module):
    """The mean of a network's logits for the image and its mirror image (TorchClassifier's ``tta="flip"``)."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.net(x) + self.net(torch.flip(x, [3]))) / 2


def source_digest(run_path: str | Path) -> str:
    """The sha256 of everything a run's exported graph is made from: its weights and its config.json (read as
    JSON, so a change of layout alone is not a change). Editing the temperature, the test-time augmentation or
    any parameter after ``export --onnx`` changes it, and the stale graph is exported again before it is used.

    Examples
    --------
    >>> source_digest("runs/cnn-mnist")  # doctest: +SKIP
    '3f1c...'
    """
    import hashlib
    import json

    run_path = Path(run_path)
    digest = hashlib.sha256((run_path / runs.WEIGHTS).read_bytes())
    digest.update(json.dumps(runs.read_config(run_path), sort_keys=True).encode())
    return digest.hexdigest()


def _stamp(onnx_file: Path, digest: str) -> None:
    """Record in the ONNX file what it was exported from (:func:`source_digest`), so a stale export is never
    served."""
    import onnx

    model = onnx.load(str(onnx_file))
    onnx.helper.set_model_props(model, {STAMP_KEY: digest})
    onnx.save(model, str(onnx_file))


def _exported_from(onnx_file: Path) -> str | None:
    import onnx

    try:
        model = onnx.load(str(onnx_file), load_external_data=False)
    except Exception:  # a damaged or foreign file: export again
        return None
    return next((p.value for p in model.metadata_props if p.key == STAMP_KEY), None)


class OnnxClassifier:
    """predict / predict_proba of an exported run through ONNX Runtime; ``classes_`` as the saved estimator's."""

    def __init__(self, onnx_path: str | Path, classes: np.ndarray, threads: int | None = None) -> None:
        ort = _require_onnxruntime()
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise MnistlabError(f"{onnx_path}: not a loadable ONNX model ({exc})") from None
        self.classes_ = np.asarray(classes)

    def decision_function(self, X) -> np.ndarray:
        pixels = np.asarray(X)
        if pixels.ndim not in (2, 3) or pixels[0].size != 784 or not np.issubdtype(pixels.dtype, np.number):
            raise DataFormatError(
                f"expected images (N, 28, 28) or (N, 784) of numbers, got {pixels.shape} {pixels.dtype}"
            )
        pixels = pixels.astype(np.float32, copy=False).reshape(-1, 1, 28, 28)
        return self.session.run(None, {"pixels": pixels})[0].astype(np.float64)

    def predict_proba(self, X) -> np.ndarray:
        logits = self.decision_function(X)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(axis=1)]


def exported_here(run_path: Path) -> bool:
    """Whether the run's ``model.onnx`` is a graph this machine exported (its HMAC in ``model.onnx.sig``, made
    with this machine's key) from the run's current weights and config.json (:func:`source_digest`, recorded
    inside the graph). A graph from anywhere else is never run: anyone can write a stamp, nobody else has the
    key; a graph exported before the weights or the config changed is stale and is never run either."""
    onnx_path, signature_path = run_path / ONNX_FILE, run_path / SIGNATURE_FILE
    if not (onnx_path.is_file() and signature_path.is_file()) or signature_path.stat().st_size > 1024:
        return False
    saved = read_bounded(signature_path, "a signature", 1024).decode("ascii", "replace").strip()
    return signed_here(onnx_path, saved) and _exported_from(onnx_path) == source_digest(run_path)


def load_onnx(run_path: str | Path, threads: int | None = None) -> OnnxClassifier:
    """The ONNX Runtime classifier of a run.

    ``model.onnx`` is exported afresh unless this machine exported it from the run's current weights and
    config.json (:func:`exported_here`): a graph from elsewhere, or one made before the run's temperature,
    test-time augmentation or parameters were edited, never runs. Where a stale graph cannot be replaced (a
    read-only run folder), this is an error that says so, never the old graph's answers.

    Parameters
    ----------
    run_path : str or Path
        A PyTorch run folder.
    threads : int, optional
        ONNX Runtime's intra-op threads; default its own choice.

    Returns
    -------
    OnnxClassifier
        ``predict`` / ``predict_proba`` with the run's ``classes_``.

    Examples
    --------
    >>> clf = load_onnx("runs/cnn-mnist")  # doctest: +SKIP
    >>> clf.predict(images)  # doctest: +SKIP
    """
    run_path = Path(run_path)
    onnx_path = run_path / ONNX_FILE
    if not (run_path / runs.WEIGHTS).is_file():
        raise MnistlabError(f"{run_path}: no {runs.WEIGHTS}; only PyTorch runs run through ONNX Runtime")
    if not exported_here(run_path):
        try:
            export_onnx(run_path)
        except OSError as exc:
            raise MnistlabError(
                f"{onnx_path}: missing, or exported before the run's weights or config.json changed (or on another "
                f"machine), and it cannot be exported again here ({exc.strerror or exc}); make the run folder "
                "writable, or predict with PyTorch (--no-onnx)"
            ) from None
    return OnnxClassifier(onnx_path, np.asarray(runs.read_config(run_path)["classes_"]), threads)
