"""The layout of a run folder's JSON files, checked when they are read: a field of the wrong type, a label out of
range or a history without epochs is a one-line error naming the file and the field, never a traceback from
whatever used the value later (a report, the web app, an evaluation).

Each ``check_*`` takes the parsed document and the file it came from and returns the document unchanged.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mnistlab.datasets import POLARITIES, check_class_names
from mnistlab.errors import DataFormatError, RunError

MAX_CLASSES = 10_000
MAX_FEATURES = 1_000_000
MAX_EPOCHS = 1_000_000
MACHINE_FIELDS = {
    "cpu": "a string",
    "cpu_flags": "a list of strings",
    "cores": "a count",
    "threads": "a count",
    "bf16": "true or false",
    "precision": "a string",
    "channels_last": "true or false",
}
DATA_FIELDS = {  # a data source (each part of config.json's data_source, a side evaluation's data)
    "spec": "a string",
    "format": "a string",
    "path": "a string",
    "split": "a string",
    "rows": "a count",
    "sha256": "a string",
    "preprocess": "a string",
}


_SHOWN = reprlib.Repr()  # shortened, and safe for a value nested 900 deep
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict, _SHOWN.maxstring, _SHOWN.maxother = 2, 4, 4, 40, 40


def _refuse(file: Path, field: str, value: Any, expected: str) -> None:
    shown = _SHOWN.repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    raise RunError(f"{file}: {field}={shown}; expected {expected}")


MAX_DEPTH = 32  # a run file nests 5 deep at most (metrics.json evaluation.conformal.sets.KEY.coverage)


def _check_depth(document: Any, file: Path) -> None:
    """Values nested deeper than :data:`MAX_DEPTH` are refused, naming the top-level field, before anything prints
    or compares them (printing a list nested 900 deep exhausts Python's stack inside a page template). Walked
    without recursion."""
    stack: list[tuple[Any, int, str]] = [(document, 0, "")]
    while stack:
        node, depth, field = stack.pop()
        if depth > MAX_DEPTH:
            raise RunError(
                f"{file}: {field or 'the document'} nests values more than {MAX_DEPTH} deep; expected a mnistlab run file"
            )
        if isinstance(node, dict):
            stack.extend((value, depth + 1, field or str(key)[:40]) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, depth + 1, field or f"[{i}]") for i, value in enumerate(node))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return _is_int(value) and value >= 0


def _is_texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# What each expected kind of value is, by the words the error uses for it.
_KINDS: dict[str, Callable[[Any], bool]] = {
    "a number": _is_number,
    "a number >= 0": lambda value: _is_number(value) and value >= 0,
    "a fraction 0..1": lambda value: _is_number(value) and 0 <= value <= 1,
    "a count": _is_count,
    "a string": lambda value: isinstance(value, str),
    "true or false": lambda value: isinstance(value, bool),
    "a list of strings": _is_texts,
    "an object": lambda value: isinstance(value, dict),
}


def _check_fields(
    file: Path,
    document: dict,
    prefix: str,
    fields: dict[str, str],
    required: tuple[str, ...] = (),
    nullable: bool = True,
) -> None:
    """Each of ``fields`` (name: expected kind, a key of :data:`_KINDS`) absent, null (when ``nullable``: readers
    use ``.get``; pages that test ``is defined`` need a value) or of its kind; ``required`` ones of their kind."""
    for name, expected in fields.items():
        value = document.get(name)
        given = value is not None if nullable else name in document
        if (given or name in required) and not _KINDS[expected](value):
            _refuse(file, f"{prefix}{name}", value, expected)


def check_config(config: Any, file: Path) -> dict:
    """The fields of ``config.json`` that loaders and pages use: sizes bounded, types exact, labels in range."""
    _check_depth(config, file)
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
    _check_fields(
        file,
        config,
        "",
        {"machine": "an object", "versions": "an object", "params": "an object", "saved": "a string"}
        | {"skops_signature": "a string"},
    )
    machine = config.get("machine") or {}
    _check_fields(file, machine, "machine.", MACHINE_FIELDS)
    for name, version in (config.get("versions") or {}).items():
        if not isinstance(version, str):
            _refuse(file, f"versions.{name}", version, "a version string")
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
        _check_fields(file, entry, f"data_source.{part}.", DATA_FIELDS, required=("spec", "sha256"))
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
REPORT_KEYS = {
    "precision",
    "recall",
    "f1-score",
    "support",
}  # of each row of scikit-learn's classification report


def check_steps(steps: Any, file: Path) -> list[dict]:
    """``steps.json``: a list of optimizer steps, each an object with integers ``step`` and ``epoch`` and numbers
    ``train_loss`` and ``lr``.

    Examples
    --------
    >>> check_steps([{"step": 1, "epoch": 1, "train_loss": 2.3, "lr": 0.01}], Path("steps.json"))[0]["step"]
    1
    """
    _check_depth(steps, file)
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
    _check_depth(history, file)
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
    _check_depth(metrics, file)
    if not isinstance(metrics, dict):
        _refuse(file, "metrics", type(metrics).__name__, "a JSON object")
    _check_fields(file, metrics, "", METRICS_FIELDS)
    splits = metrics.get("splits")
    if splits is not None and not (
        isinstance(splits, dict) and all(isinstance(v, str | None) for v in splits.values())
    ):
        _refuse(file, "splits", splits, "an object of descriptions")
    if metrics.get("overrides") is not None and not isinstance(metrics["overrides"], dict):
        _refuse(file, "overrides", metrics["overrides"], "an object of the parameters set over the recipe")
    if metrics.get("evaluation") is not None:
        _check_evaluation(metrics["evaluation"], file)
    if metrics.get("robustness") is not None:
        _check_robustness(metrics["robustness"], file)
    if metrics.get("data") is not None:  # a side evaluation's record: the data it scored
        _check_fields(file, metrics["data"], "data.", DATA_FIELDS, required=("spec",))
    return metrics


METRICS_FIELDS = {
    "test_accuracy": "a fraction 0..1",
    "test_loss": "a number >= 0",
    "train_seconds": "a number >= 0",
    "n_train": "a count",
    "n_test": "a count",
    "epochs": "a count",
    "epochs_completed": "a count",
    "optimizer_steps": "a count",
    "interrupted": "true or false",
    # a side evaluation's record
    "run": "a string",
    "run_identity": "a string",
    "model": "a string",
    "evaluated": "a string",
    "figures": "a list of strings",
    "data": "an object",
}


def _check_robustness(result: Any, file: Path) -> None:
    """``metrics.json`` ``robustness`` (``mnistlab robustness``): accuracies per corruption, clean, mean."""
    if not isinstance(result, dict):
        _refuse(file, "robustness", result, "an object (mnistlab robustness's result)")
    numbers = {
        "clean": "a fraction 0..1",
        "mean": "a fraction 0..1",
        "drop": "a number",
        "seconds": "a number >= 0",
    }
    _check_fields(
        file, result, "robustness.", numbers | {"seed": "a count", "images": "a count"}, ("clean", "mean")
    )
    corruptions = result.get("corruptions")
    if not (isinstance(corruptions, dict) and corruptions and all(map(_is_number, corruptions.values()))):
        _refuse(file, "robustness.corruptions", corruptions, "an object of accuracies per corruption")
    worst = result.get("worst", [])
    if not (
        isinstance(worst, list)
        and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and _is_number(p[1]) for p in worst
        )
    ):
        _refuse(file, "robustness.worst", worst, "a list of [corruption, accuracy] pairs")


def _check_evaluation(evaluation: Any, file: Path) -> None:
    if not isinstance(evaluation, dict):
        _refuse(file, "evaluation", evaluation, "an object")
    fields = {"accuracy": "a fraction 0..1", "log_loss": "a number >= 0"}
    _check_fields(file, evaluation, "evaluation.", fields, required=("accuracy",))
    report = evaluation.get("report")
    if not isinstance(report, dict) or not all(
        _is_number(row) if key == "accuracy" else isinstance(row, dict) and all(map(_is_number, row.values()))
        for key, row in report.items()
    ):
        _refuse(file, "evaluation.report", report, "an object of per-class objects of numbers")
    for key, row in report.items():  # what the report's table shows of each class and average
        if key != "accuracy" and not set(row) >= REPORT_KEYS:
            _refuse(
                file, f"evaluation.report.{key[:40]}", row, f"an object with {', '.join(sorted(REPORT_KEYS))}"
            )
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
    confused = evaluation.get("most_confused") or []
    if not (
        isinstance(confused, list)
        and all(isinstance(t, list) and len(t) == 3 and _is_count(t[2]) for t in confused)
        and all(
            isinstance(name, str | int) and not isinstance(name, bool) for t in confused for name in t[:2]
        )
    ):
        _refuse(file, "evaluation.most_confused", confused, "a list of [actual, predicted, count]")
    losses = evaluation.get("top_losses") or []
    if not (isinstance(losses, list) and all(map(_is_count, losses))):
        _refuse(file, "evaluation.top_losses", losses, "a list of image indices")
    if evaluation.get("calibration") is not None:
        _check_calibration(evaluation["calibration"], file)
    if evaluation.get("conformal") is not None:
        _check_conformal(evaluation["conformal"], file)


def _check_calibration(calibration: Any, file: Path) -> None:
    if not isinstance(calibration, dict):
        _refuse(file, "evaluation.calibration", calibration, "an object")
    fields = {
        "ece": "a fraction 0..1",
        "mce": "a fraction 0..1",
        "bins": "a count",
        "temperature": "a number",
    }
    _check_fields(
        file, calibration, "evaluation.calibration.", fields | {"before": "an object"}, ("ece", "mce"), False
    )
    if "temperature" in calibration and calibration.get("before") is None:
        _refuse(file, "evaluation.calibration.before", None, "the ECE before the temperature, an object")
    if calibration.get("before") is not None:
        before, where = calibration["before"], "evaluation.calibration.before."
        _check_fields(file, before, where, {"ece": "a number", "mce": "a number"}, required=("ece",))


def _check_conformal(conformal: Any, file: Path) -> None:
    """Conformal prediction sets: ``sets`` keyed ``"ALPHA METHOD"``, each with its coverage and set size."""
    if not isinstance(conformal, dict):
        _refuse(file, "evaluation.conformal", conformal, "an object")
    fields = {"calibrated_on": "a string", "default_method": "a string", "sets": "an object"}
    _check_fields(file, conformal, "evaluation.conformal.", fields, required=("sets",))
    rows = {"coverage": "a fraction 0..1", "mean_size": "a number >= 0", "empty": "a fraction 0..1"}
    for key, row in conformal["sets"].items():
        alpha, _, method = key.partition(" ")
        if not (_is_alpha(alpha) and method):
            _refuse(file, "evaluation.conformal.sets", key, "keys 'ALPHA METHOD' with ALPHA between 0 and 1")
        if not isinstance(row, dict):
            _refuse(file, f"evaluation.conformal.sets.{key}", row, "an object")
        where = f"evaluation.conformal.sets.{key}."
        _check_fields(
            file, row, where, rows | {"lowest_class_coverage": "a fraction 0..1"}, tuple(rows), False
        )


def _is_alpha(text: str) -> bool:
    try:
        return 0 < float(text) < 1
    except ValueError:
        return False
