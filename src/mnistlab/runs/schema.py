"""The layout of a run folder's JSON files, checked when they are read: a field of the wrong type, a label out of
range or a history without epochs is a one-line error naming the file and the field, never a traceback from
whatever used the value later (a report, the web app, an evaluation).

Each ``check_*`` takes the parsed document and the file it came from and returns the document unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mnistlab.datasets.dataset import check_class_names
from mnistlab.datasets.ink import POLARITIES
from mnistlab.errors import DataFormatError, RunError

MAX_CLASSES = 10_000
MAX_FEATURES = 1_000_000
MAX_EPOCHS = 1_000_000


def _refuse(file: Path, field: str, value: Any, expected: str) -> None:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise RunError(f"{file}: {field}={shown}; expected {expected}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_config(config: Any, file: Path) -> dict:
    """The fields of ``config.json`` that loaders and pages use: sizes bounded, types exact, labels in range."""
    if not isinstance(config, dict):
        _refuse(file, "config", type(config).__name__, "a JSON object")
    classes, labels = config.get("classes"), config.get("classes_")
    if not isinstance(classes, list) or not 2 <= len(classes) <= MAX_CLASSES:
        _refuse(file, "classes", classes, f"a list of 2..{MAX_CLASSES} class names")
    if not all(isinstance(c, str) for c in classes):
        _refuse(file, "classes", classes, "class names as strings")
    try:
        check_class_names(classes, f"{file}: classes")
    except DataFormatError as exc:
        raise RunError(str(exc)) from None
    if not isinstance(labels, list) or not 2 <= len(labels) <= len(classes):
        _refuse(
            file, "classes_", labels, "the list of labels the model was trained on, at most one per class"
        )
    if not all(_is_int(v) and 0 <= v < len(classes) for v in labels) or labels != sorted(set(labels)):
        _refuse(file, "classes_", labels, f"distinct class indices 0..{len(classes) - 1} in increasing order")
    n_features = config.get("n_features_in", 784)
    if not _is_int(n_features) or not 1 <= n_features <= MAX_FEATURES:
        _refuse(file, "n_features_in", n_features, f"an integer 1..{MAX_FEATURES}")
    if config["kind"] == "torch" and not isinstance(config.get("params"), dict):
        _refuse(file, "params", config.get("params"), "an object of TorchClassifier parameters")
    for field in ("data", "model"):
        if not isinstance(config.get(field), str) or not config[field]:
            _refuse(file, field, config.get(field), "a name")
    if config.get("seed") is not None and not _is_int(config["seed"]):
        _refuse(file, "seed", config["seed"], "an integer or null")
    temperature = config.get("temperature", 1.0)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not 0 < temperature < 1e3:
        _refuse(
            file, "temperature", temperature, "a positive number (the temperature fitted on validation data)"
        )
    for field in ("machine", "versions"):
        if config.get(field) is not None and not isinstance(config[field], dict):
            _refuse(file, field, config[field], "an object")
    if config.get("data_source") is not None:
        _check_data_source(config["data_source"], file)
    if config.get("ink") is not None:  # absent in runs saved before it was recorded: polarity unknown
        _check_ink(config["ink"], file)
    return config


def _check_ink(ink: Any, file: Path) -> None:
    """The training data's ink profile (:class:`~mnistlab.datasets.ink.InkProfile`): every field, typed."""
    if not isinstance(ink, dict):
        _refuse(file, "ink", ink, "an object (the training images' ink profile) or null")
    if ink.get("polarity") not in POLARITIES:
        _refuse(file, "ink.polarity", ink.get("polarity"), " or ".join(POLARITIES))
    bounds = {"dark_background_fraction": 1, "ink_fraction": 1, "background": 255, "mean_pixel": 255}
    for field, high in bounds.items():
        value = ink.get(field)
        if not (_is_number(value) and 0 <= value <= high):
            _refuse(file, f"ink.{field}", value, f"a number 0..{high}")
    if not (_is_int(ink.get("n_images")) and ink["n_images"] >= 0):
        _refuse(file, "ink.n_images", ink.get("n_images"), "a count")


def _check_data_source(source: Any, file: Path) -> None:
    if not isinstance(source, dict):
        _refuse(file, "data_source", source, "an object with train and test")
    limit = source.get("limit")
    if limit is not None and (not _is_int(limit) or limit < 1):
        _refuse(file, "data_source.limit", limit, "an integer >= 1 or null")
    for part in ("train", "test"):
        entry = source.get(part)
        if not isinstance(entry, dict):
            _refuse(file, f"data_source.{part}", entry, "an object")
        for field in ("spec", "sha256"):
            if not isinstance(entry.get(field), str):
                _refuse(file, f"data_source.{part}.{field}", entry.get(field), "a string")
        if not isinstance(entry.get("preprocess", "none"), str):
            _refuse(file, f"data_source.{part}.preprocess", entry.get("preprocess"), "a rule name")
        if not isinstance(entry.get("label_column", ""), str | None):
            _refuse(file, f"data_source.{part}.label_column", entry.get("label_column"), "a column name")
        drop = entry.get("drop_columns", [])
        if not isinstance(drop, list) or not all(isinstance(name, str) for name in drop):
            _refuse(file, f"data_source.{part}.drop_columns", drop, "a list of column names")
    test = source["test"]
    if test.get("fraction") is not None and not (_is_number(test["fraction"]) and 0 < test["fraction"] < 1):
        _refuse(file, "data_source.test.fraction", test["fraction"], "a number between 0 and 1, or null")
    if not _is_int(test.get("seed", 0)):
        _refuse(file, "data_source.test.seed", test.get("seed"), "an integer")


STEP_KEYS = {"step", "epoch", "train_loss", "lr"}


def check_steps(steps: Any, file: Path) -> list[dict]:
    """``steps.json``: a list of optimizer steps, each an object with integers ``step`` and ``epoch`` and numbers
    ``train_loss`` and ``lr``.

    Examples
    --------
    >>> check_steps([{"step": 1, "epoch": 1, "train_loss": 2.3, "lr": 0.01}], Path("steps.json"))[0]["step"]
    1
    """
    if not isinstance(steps, list) or len(steps) > MAX_EPOCHS:
        _refuse(file, "steps", type(steps).__name__, f"a list of at most {MAX_EPOCHS} optimizer steps")
    for i, row in enumerate(steps):
        if not isinstance(row, dict) or set(row) != STEP_KEYS:
            _refuse(file, f"steps[{i}]", row, f"an object with the keys {', '.join(sorted(STEP_KEYS))}")
        for key in ("step", "epoch"):
            if not _is_int(row[key]):
                _refuse(file, f"steps[{i}].{key}", row[key], "an integer")
        for key in ("train_loss", "lr"):
            if not _is_number(row[key]):
                _refuse(file, f"steps[{i}].{key}", row[key], "a number")
    return steps


def check_history(history: Any, file: Path) -> list[dict]:
    """``history.json``: a list of epochs, each an object with an integer ``epoch`` and numbers (the same keys
    in every epoch)."""
    if not isinstance(history, list) or len(history) > MAX_EPOCHS:
        _refuse(file, "history", type(history).__name__, f"a list of at most {MAX_EPOCHS} epochs")
    keys = set(history[0]) if history and isinstance(history[0], dict) else None
    for i, row in enumerate(history):
        if not isinstance(row, dict) or set(row) != keys:
            _refuse(file, f"history[{i}]", row, "an object with the same keys as the first epoch")
        if not _is_int(row.get("epoch")):
            _refuse(file, f"history[{i}].epoch", row.get("epoch"), "an integer")
        bad = next((k for k, v in row.items() if not (_is_number(v) or v is None)), None)
        if bad is not None:
            _refuse(file, f"history[{i}].{bad}", row[bad], "a number")
    if history and not {"train_loss", "train_accuracy"} <= keys:
        _refuse(file, "history[0]", sorted(keys), "train_loss and train_accuracy among the keys")
    return history


def check_metrics(metrics: Any, file: Path) -> dict:
    """``metrics.json``: an object; the fields reports and the web app read have their types."""
    if not isinstance(metrics, dict):
        _refuse(file, "metrics", type(metrics).__name__, "a JSON object")
    for field in ("test_accuracy", "test_loss", "train_seconds"):
        if metrics.get(field) is not None and not _is_number(metrics[field]):
            _refuse(file, field, metrics[field], "a number")
    for field in ("n_train", "n_test"):
        if metrics.get(field) is not None and not (_is_int(metrics[field]) and metrics[field] >= 0):
            _refuse(file, field, metrics[field], "a count")
    splits = metrics.get("splits")
    if splits is not None and not (
        isinstance(splits, dict) and all(isinstance(v, str | None) for v in splits.values())
    ):
        _refuse(file, "splits", splits, "an object of descriptions")
    if metrics.get("overrides") is not None and not isinstance(metrics["overrides"], dict):
        _refuse(file, "overrides", metrics["overrides"], "an object of the parameters set over the recipe")
    if metrics.get("evaluation") is not None:
        _check_evaluation(metrics["evaluation"], file)
    return metrics


def _check_evaluation(evaluation: Any, file: Path) -> None:
    if not isinstance(evaluation, dict):
        _refuse(file, "evaluation", evaluation, "an object")
    if not _is_number(evaluation.get("accuracy")):
        _refuse(file, "evaluation.accuracy", evaluation.get("accuracy"), "a number")
    if evaluation.get("log_loss") is not None and not _is_number(evaluation["log_loss"]):
        _refuse(file, "evaluation.log_loss", evaluation["log_loss"], "a number")
    report = evaluation.get("report")
    if not isinstance(report, dict) or not all(
        _is_number(row) if key == "accuracy" else isinstance(row, dict) and all(map(_is_number, row.values()))
        for key, row in report.items()
    ):
        _refuse(file, "evaluation.report", report, "an object of per-class objects of numbers")
    for average in ("macro avg", "weighted avg"):  # what reports and the web app show
        row = report.get(average)
        if not isinstance(row, dict) or not {"f1-score", "support"} <= set(row):
            _refuse(file, f"evaluation.report.{average}", row, "an object with f1-score and support")
    matrix = evaluation.get("confusion_matrix")
    if not (
        isinstance(matrix, list)
        and all(isinstance(r, list) and len(r) == len(matrix) and all(_is_int(v) for v in r) for r in matrix)
    ):
        _refuse(file, "evaluation.confusion_matrix", matrix, "a square list of lists of counts")
    for field in ("most_confused", "top_losses"):
        if evaluation.get(field) is not None and not isinstance(evaluation[field], list):
            _refuse(file, f"evaluation.{field}", evaluation[field], "a list")
