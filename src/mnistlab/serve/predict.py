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
from mnistlab.datasets import (
    LIGHT_ON_DARK,
    PREDICT_RULES,
    check_preprocess,
    image_polarities,
    ink_profile,
    polarity_mismatch,
    read_for_model,
    recorded_profile,
    warn_if_mismatched,
)
from mnistlab.errors import ParameterError, RunError
from mnistlab.fileio import write_table
from mnistlab.models import DEFAULT_METHOD, prediction_sets
from mnistlab.params import integer, validates


@dataclass(frozen=True)
class ImagePrediction:
    """One image's best classes, best first, as (class name, value): probabilities, or decision scores for a
    model without probabilities (``kind`` says which)."""

    path: Path
    top: list[tuple[str, float]]
    image: np.ndarray  # the 28x28 image the model saw, in its training polarity
    kind: str = "probability"  # or "score"
    read_as: str = "read the MNIST way"  # how the file became that image ("read as stored: 28x28", ...)


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

    Images are read for the model by the rule ``preprocess`` (:data:`~mnistlab.datasets.preprocess.PREDICT_RULES`):
    ``"auto"`` (the default) reads a 28x28 image of the training data's ink polarity as stored, as ``evaluate``
    reads that data, and any other image the MNIST way; the model is always handed its training polarity (the
    run's recorded ink profile: ``ink``, None for a run saved before runs recorded it).

    Examples
    --------
    >>> predictor = Predictor("runs/cnn-mnist", onnx=True)  # doctest: +SKIP
    >>> image, how = predictor.read("digit.png")  # doctest: +SKIP
    >>> predictor.top(image[None], k=3)  # doctest: +SKIP
    """

    def __init__(
        self, run: str | Path, onnx: bool = False, trust: bool = False, preprocess: str = "auto"
    ) -> None:
        check_preprocess(preprocess, PREDICT_RULES)
        self.run = Path(run)
        self.preprocess = preprocess
        self.config = runs.read_config(run)
        self.ink = recorded_profile(self.config)
        self.polarity = None if self.ink is None else self.ink.polarity
        source = self.config.get("data_source") or {}
        self.trained_rule = source.get("train", {}).get("preprocess", "none")
        self.class_names: list[str] = list(self.config["classes"])
        self.estimator = load_predictor(run, onnx, trust)
        self.labels = np.asarray(self.estimator.classes_)
        self.engine = (
            "onnxruntime" if onnx else ("pytorch" if hasattr(self.estimator, "network_") else "scikit-learn")
        )
        # conformal sets, calibrated on the run's validation split (PyTorch runs saved with it)
        self.conformal = runs.read_conformal(run)

    def read(
        self, source: str | Path | bytes, name: str | None = None, max_pixels: int | None = None
    ) -> tuple[np.ndarray, str]:
        """One PNG/JPEG (a file or an upload's bytes) as the 28x28 image this model is handed, in its training
        polarity, and how it was read (:func:`~mnistlab.datasets.preprocess.read_for_model`)."""
        return read_for_model(source, self.preprocess, self.polarity, self.trained_rule, max_pixels, name)

    def mismatch(self, images: np.ndarray, name: str) -> str | None:
        """How 28x28 ``images`` given as they are (JSON pixels, images read as stored) differ in ink polarity
        from the training data, in a sentence; None when they match or the run recorded no profile."""
        return None if self.ink is None else polarity_mismatch(self.ink, ink_profile(images), name)

    def explain(self, image: np.ndarray) -> np.ndarray | None:
        """Integrated gradients of one 28x28 image for the class the network predicts, scaled to -1..1 (red
        raised that class's score, blue lowered it); ``None`` for a model without gradients. Through ONNX
        Runtime, the run's PyTorch network is loaded for this on first use."""
        if self.config["kind"] != "torch" or self.config.get("n_features_in", 784) != 784:
            return None
        if getattr(self, "_network", None) is None:
            self._network = self.estimator if self.engine == "pytorch" else runs.load(self.run)
        from mnistlab.models import integrated_gradients

        heat = integrated_gradients(self._network, image[None])[0]
        return heat / max(float(np.abs(heat).max()), 1e-12)

    def top(self, images: np.ndarray, k: int = 3) -> tuple[list[list[tuple[str, float]]], str]:
        """The ``k`` best (class name, value) of each 28x28 image, and whether values are probabilities or scores."""
        ranked, kind, _ = self.predict(images, k)
        return ranked, kind

    def predict(
        self, images: np.ndarray, k: int = 3, alpha: float | None = None, method: str = DEFAULT_METHOD
    ) -> tuple[list[list[tuple[str, float]]], str, list[list[str]] | None]:
        """:meth:`top`, and with ``alpha`` each image's conformal prediction set of ``method`` (class names, most
        probable first; it holds the true class with probability >= 1 - alpha), or ``None`` where the run has
        none."""
        values, kind = class_values(self.estimator, images)
        if not np.isfinite(values).all():
            raise RunError(f"{self.run}: the model's outputs are NaN or infinite; are its weights damaged?")
        ranked = top_classes(values, self.labels, self.class_names, min(k, len(self.labels)))
        if alpha is None or self.conformal is None or kind != "probability":
            return ranked, kind, None
        sets = prediction_sets(values, self.conformal, alpha, method)
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
        raise ParameterError("k", k, "an integer >= 1")
    best = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    return [
        [(class_names[labels[j]], float(row[j])) for j in order]
        for row, order in zip(proba, best, strict=True)
    ]


@validates("predict", top=integer(low=1))
def predict_images(
    run: str | Path,
    paths: Sequence[str | Path],
    top: int = 3,
    onnx: bool = False,
    trust: bool = False,
    preprocess: str = "auto",
) -> list[ImagePrediction]:
    """Predict image files the way ``mnistlab predict`` does.

    By default (``preprocess="auto"``) a 28x28 image whose ink polarity matches the run's training data is read
    as stored (as ``evaluate`` reads that data), and any other image the MNIST way (grayscale, cropped to the
    ink, fitted into 20x20, centred by centre of mass in 28x28); the model is handed its training polarity.
    Images read as stored of the other polarity are named in a warning.

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
    preprocess : {"auto", "mnist", "none", "resize"}
        How each file becomes 28x28 (:data:`~mnistlab.datasets.preprocess.PREDICT_RULES`).

    Returns
    -------
    list of ImagePrediction
        Per image: its path, the ``top`` (class, probability) pairs, the 28x28 image the model saw and how it
        was read (``read_as``).

    Examples
    --------
    >>> [p.top for p in predict_images("runs/cnn-mnist", ["digit.png"])]  # doctest: +SKIP
    [[('7', 0.998), ('1', 0.001), ('2', 0.0004)]]
    """
    if not paths:
        raise ParameterError("no image files to predict")
    predictor = Predictor(run, onnx, trust, preprocess)
    images, read_as = zip(*(predictor.read(path) for path in paths), strict=True)
    images = np.stack(images)
    _warn_of_other_polarity(predictor, images, read_as, paths)
    ranked, kind = predictor.top(images, top)
    return [
        ImagePrediction(Path(p), r, img, kind, how)
        for p, r, img, how in zip(paths, ranked, images, read_as, strict=True)
    ]


def _warn_of_other_polarity(
    predictor: Predictor, images: np.ndarray, read_as: Sequence[str], paths: Sequence[str | Path]
) -> None:
    """One warning naming the images read as stored (``none``, ``resize``) whose polarity is not the model's."""
    if predictor.ink is None:
        return
    dark = image_polarities(images)
    other = [
        i
        for i, how in enumerate(read_as)
        if not how.startswith("read the MNIST way") and (dark[i] != (predictor.polarity == LIGHT_ON_DARK))
    ]
    if other:
        named = ", ".join(str(paths[i]) for i in other[:3]) + (", ..." if len(other) > 3 else "")
        fix = "predict them with preprocess='auto' or preprocess='mnist', or train a run on images of their polarity"
        warn_if_mismatched(
            predictor.ink, images[other], f"{len(other)} images read as stored ({named})", fix, 4
        )


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
    fix = "invert its pixels (255 - value) to match the model, or train a run on data of its polarity"
    warn_if_mismatched(recorded_profile(runs.read_config(run)), test.images, str(csv_path), fix)
    predicted = load_predictor(run, onnx, trust).predict(test.images)
    return write_submission(submission, predicted, overwrite), len(predicted)
