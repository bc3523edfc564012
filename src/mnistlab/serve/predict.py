"""Predictions a person asks for: the top classes of image files, and a Kaggle submission for a CSV.

Examples
--------
>>> from mnistlab.serve import predict_images
>>> for p in predict_images("runs/cnn-mnist", ["digit.png"]):  # doctest: +SKIP
...     print(p.path, p.top)
digit.png [('7', 0.998...), ('1', 0.001...), ('9', 0.000...)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab import datasets, runs
from mnistlab.datasets.preprocess import load_for_prediction
from mnistlab.errors import ParameterError, RunError
from mnistlab.fileio import write_table
from mnistlab.models.calibration import prediction_sets


@dataclass(frozen=True)
class ImagePrediction:
    """One image's best classes, best first, as (class name, value): probabilities, or decision scores for a
    model without probabilities (``kind`` says which)."""

    path: Path
    top: list[tuple[str, float]]
    image: np.ndarray  # the 28x28 image the model saw, after MNIST-style preprocessing
    kind: str = "probability"  # or "score"


def class_values(estimator, images: np.ndarray) -> tuple[np.ndarray, str]:
    """(N, n_classes) probabilities, or decision scores where the model has no probabilities (sgd, linear-svc)."""
    if hasattr(estimator, "predict_proba"):
        try:
            return estimator.predict_proba(images), "probability"
        except AttributeError:  # e.g. an SVC without probability=True exposes the method but refuses it
            pass
    scores = np.asarray(estimator.decision_function(images), dtype=float)
    return (np.column_stack([-scores, scores]) if scores.ndim == 1 else scores), "score"


def load_predictor(run: str | Path, onnx: bool = False, trust: bool = False):
    """The estimator of a run: PyTorch/scikit-learn as saved, or through ONNX Runtime with ``onnx=True``;
    ``trust`` as in :func:`mnistlab.runs.load`."""
    if onnx:
        from mnistlab.serve.onnx import load_onnx

        return load_onnx(run)
    return runs.load(run, trust)


def onnx_available(run: str | Path) -> bool:
    """Whether ONNX Runtime is installed and the run is a PyTorch model it can run (the faster path at batch 1;
    the README gives the measured latencies)."""
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None and (Path(run) / runs.WEIGHTS).is_file()


class Predictor:
    """A run loaded once for many predictions (the web app's model).

    Examples
    --------
    >>> predictor = Predictor("runs/cnn-mnist", onnx=True)  # doctest: +SKIP
    >>> predictor.top(images, k=3)  # doctest: +SKIP
    """

    def __init__(self, run: str | Path, onnx: bool = False, trust: bool = False) -> None:
        self.run = Path(run)
        self.config = runs.read_config(run)
        self.class_names: list[str] = list(self.config["classes"])
        self.estimator = load_predictor(run, onnx, trust)
        self.labels = np.asarray(self.estimator.classes_)
        self.engine = (
            "onnxruntime" if onnx else ("pytorch" if hasattr(self.estimator, "network_") else "scikit-learn")
        )
        # conformal sets, calibrated on the run's validation split (PyTorch runs saved with it)
        self.conformal = runs.read_conformal(run)

    def explain(self, image: np.ndarray) -> np.ndarray | None:
        """Integrated gradients of one 28x28 image for the class the network predicts, scaled to -1..1 (red
        raised that class's score, blue lowered it); ``None`` for a model without gradients. Through ONNX
        Runtime, the run's PyTorch network is loaded for this on first use."""
        if self.config["kind"] != "torch" or self.config.get("n_features_in", 784) != 784:
            return None
        if getattr(self, "_network", None) is None:
            self._network = self.estimator if self.engine == "pytorch" else runs.load(self.run)
        from mnistlab.models.explain import integrated_gradients

        heat = integrated_gradients(self._network, image[None])[0]
        return heat / max(float(np.abs(heat).max()), 1e-12)

    def top(self, images: np.ndarray, k: int = 3) -> tuple[list[list[tuple[str, float]]], str]:
        """The ``k`` best (class name, value) of each 28x28 image, and whether values are probabilities or scores."""
        ranked, kind, _ = self.predict(images, k)
        return ranked, kind

    def predict(
        self, images: np.ndarray, k: int = 3, alpha: float | None = None
    ) -> tuple[list[list[tuple[str, float]]], str, list[list[str]] | None]:
        """:meth:`top`, and with ``alpha`` each image's conformal prediction set (class names, most probable
        first; it holds the true class with probability >= 1 - alpha), or ``None`` where the run has none."""
        values, kind = class_values(self.estimator, images)
        if not np.isfinite(values).all():
            raise RunError(f"{self.run}: the model's outputs are NaN or infinite; are its weights damaged?")
        ranked = top_classes(values, self.labels, self.class_names, min(k, len(self.labels)))
        if alpha is None or self.conformal is None or kind != "probability":
            return ranked, kind, None
        sets = prediction_sets(values, self.conformal, alpha)
        order = np.argsort(-values, axis=1, kind="stable")
        named = [
            [self.class_names[self.labels[j]] for j in row if held[j]]
            for row, held in zip(order, sets, strict=True)
        ]
        return ranked, kind, named


def top_classes(proba: np.ndarray, labels: np.ndarray, class_names: Sequence[str], k: int) -> list:
    """For each row of probabilities, the ``k`` most probable (class name, probability), best first.

    Examples
    --------
    >>> top_classes(np.array([[0.1, 0.7, 0.2]]), np.array([0, 1, 2]), ["a", "b", "c"], 2)
    [[('b', 0.7), ('c', 0.2)]]
    """
    if k < 1:
        raise ParameterError(f"top={k}; expected an integer >= 1")
    best = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    return [
        [(class_names[labels[j]], float(row[j])) for j in order]
        for row, order in zip(proba, best, strict=True)
    ]


def predict_images(
    run: str | Path, paths: Sequence[str | Path], top: int = 3, onnx: bool = False, trust: bool = False
) -> list[ImagePrediction]:
    """Predict image files the way ``mnistlab predict`` does.

    Each image is converted the MNIST way (grayscale, inverted on light paper, cropped to the ink, fitted into
    20x20, centred by centre of mass in 28x28).

    Parameters
    ----------
    run : str or Path
        The run folder.
    paths : sequence of str or Path
        PNG or JPEG files of any size (photos are reduced while decoding).
    top : int
        How many classes to give per image.
    onnx : bool
        Predict through ONNX Runtime (``model.onnx``, exported on first use).
    trust : bool
        As for :func:`mnistlab.runs.load`.

    Returns
    -------
    list of ImagePrediction
        Per image: its path, the ``top`` (class, probability) pairs and the 28x28 image the model saw.

    Examples
    --------
    >>> [p.top for p in predict_images("runs/cnn-mnist", ["digit.png"])]  # doctest: +SKIP
    [[('7', 0.998), ('1', 0.001), ('2', 0.0004)]]
    """
    if not paths:
        raise ParameterError("no image files to predict")
    if top < 1:
        raise ParameterError(f"top={top}; expected an integer >= 1")
    predictor = Predictor(run, onnx, trust)
    images = np.stack([load_for_prediction(path) for path in paths])
    ranked, kind = predictor.top(images, top)
    return [ImagePrediction(Path(p), r, img, kind) for p, r, img in zip(paths, ranked, images, strict=True)]


def write_submission(path: str | Path, predicted: np.ndarray, overwrite: bool = False) -> Path:
    """Kaggle digit-recognizer layout: header ``ImageId,Label``; ImageId counts from 1. Written atomically; an
    existing file is replaced only with ``overwrite``."""
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{path}: is a folder; the submission is a file such as submission.csv")
    if path.exists() and not overwrite:
        raise ParameterError(
            f"{path}: exists; choose another submission=PATH, or overwrite=True to replace it"
        )
    ids = range(1, len(predicted) + 1)
    return write_table(path, zip(ids, np.asarray(predicted).tolist(), strict=True), ["ImageId", "Label"])


def predict_submission(
    run: str | Path,
    csv_path: str | Path,
    submission: str | Path = "submission.csv",
    onnx: bool = False,
    trust: bool = False,
    overwrite: bool = False,
) -> tuple[Path, int]:
    """Predict every row of a Kaggle-layout CSV and write a digit-recognizer submission.

    Parameters
    ----------
    run : str or Path
        The run folder.
    csv_path : str or Path
        A Kaggle-layout CSV, labelled or not (``test.csv``).
    submission : str or Path
        The file to write: ``ImageId,Label``, ImageId from 1.
    onnx, trust : bool
        As for :func:`predict_images`.
    overwrite : bool
        Replace an existing ``submission`` file.

    Returns
    -------
    tuple of (Path, int)
        The file written and the number of rows.

    Examples
    --------
    >>> predict_submission("runs/softmax-kaggle", "kaggle/test.csv", "submission.csv")  # doctest: +SKIP
    (PosixPath('submission.csv'), 28000)
    """
    if Path(submission).exists() and not overwrite:  # before the work, not after it
        write_submission(submission, np.zeros(0), overwrite)
    test = datasets.from_csv(csv_path)
    predicted = load_predictor(run, onnx, trust).predict(test.images)
    return write_submission(submission, predicted, overwrite), len(predicted)
