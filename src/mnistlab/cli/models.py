"""``mnistlab models``, ``train``, ``runs`` and ``predict``: the model commands."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from mnistlab import datasets, models, runs
from mnistlab.datasets.preprocess import load_for_prediction
from mnistlab.errors import MnistlabError
from mnistlab.experiment import train_model
from mnistlab.serve import export_onnx, load_onnx


def list_models() -> None:
    """The model registry: names, descriptions, defaults."""
    for name, spec in models.REGISTRY.items():
        typer.echo(f"{name:15s} {spec.kind:7s} {spec.description}")
        if spec.defaults:
            typer.echo(f"{'':23s} defaults: {', '.join(f'{k}={v}' for k, v in spec.defaults.items())}")
        if spec.objects_recipe:
            typer.echo(
                f"{'':23s} non-digit data: {', '.join(f'{k}={v}' for k, v in spec.objects_recipe.items())}"
            )


def _parse_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text  # bare strings such as adam or shift=2,rotate=10


def parse_settings(settings: list[str]) -> dict:
    """``["lr=0.01", "augment=shift=2"]`` -> ``{"lr": 0.01, "augment": "shift=2"}``."""
    params = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise MnistlabError(f"--set {item!r}: expected KEY=VALUE, e.g. --set lr=0.01")
        params[key.strip()] = _parse_value(value.strip())
    return params


def train(
    data: Annotated[str, typer.Option(help="Registered data set.")] = "mnist",
    model: Annotated[str, typer.Option(help="Registered model (see `mnistlab models`).")] = "cnn",
    epochs: Annotated[int | None, typer.Option(help="Epochs (PyTorch models).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed; default: the model's own.")] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder to write.")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for PyTorch.")] = None,
    limit: Annotated[
        int | None, typer.Option(help="Use only the first N training images (quick runs).")
    ] = None,
    setting: Annotated[
        list[str] | None, typer.Option("--set", help="Model parameter KEY=VALUE, repeatable.")
    ] = None,
    force_flip: Annotated[bool, typer.Option(help="Allow horizontal flips on digits.")] = False,
) -> None:
    """Train a model, print one line per epoch and the test accuracy, save the run folder."""
    params = parse_settings(setting or [])
    if epochs is not None:
        params["epochs"] = epochs
    if threads is not None:
        params["threads"] = threads
    try:
        run = train_model(data, model, params=params, seed=seed, out=out, limit=limit, force_flip=force_flip)
    except (ValueError, TypeError) as exc:  # bad parameter values from --set
        raise MnistlabError(f"{model}: {exc}") from None
    metrics = run.metrics
    typer.echo(
        f"test accuracy {metrics['test_accuracy']:.4f}"
        + (f"  test loss {metrics['test_loss']:.4f}" if "test_loss" in metrics else "")
    )
    if out is not None:
        typer.echo(f"run saved in {out}")


def list_runs(
    root: Annotated[Path, typer.Argument(help="Folder holding run folders.")] = Path("runs"),
) -> None:
    """Runs under a folder: data set, model, test accuracy."""
    rows = runs.list_runs(root)
    if not rows:
        typer.echo(f"no runs under {root}")
    for row in rows:
        accuracy = f"{row['test_accuracy']:.4f}" if row["test_accuracy"] is not None else "-"
        typer.echo(f"{row['path']:40s} {row['data'] or '-':22s} {row['model'] or '-':15s} {accuracy}")


def predict(
    run: Annotated[Path, typer.Argument(help="Run folder.")],
    images: Annotated[list[Path] | None, typer.Argument(help="PNG/JPEG files of any size.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Kaggle-layout CSV to predict.")] = None,
    submission: Annotated[
        Path | None, typer.Option(help="Write a Kaggle submission (ImageId,Label).")
    ] = None,
    top: Annotated[int, typer.Option(help="How many classes to show per image.")] = 3,
    onnx: Annotated[
        bool, typer.Option("--onnx", help="Run through ONNX Runtime (exported on first use).")
    ] = False,
) -> None:
    """Top classes for each image, or a Kaggle submission for a CSV."""
    class_names = runs.read_config(run)["classes"]
    estimator = load_onnx(run) if onnx else runs.load(run)
    if csv_path is not None:
        test = datasets.from_csv(csv_path)
        predicted = estimator.predict(test.images)
        target = submission or Path("submission.csv")
        write_submission(target, predicted)
        typer.echo(f"{len(predicted)} predictions written to {target}")
        return
    if not images:
        raise MnistlabError("give image files to predict, or --csv FILE for a Kaggle submission")
    batch = np.stack([load_for_prediction(path) for path in images])
    proba = estimator.predict_proba(batch)
    labels = np.asarray(estimator.classes_)
    for path, row in zip(images, proba, strict=True):
        best = np.argsort(row)[::-1][:top]
        typer.echo(f"{path}: " + ", ".join(f"{class_names[labels[k]]} {row[k]:.1%}" for k in best))


def write_submission(path: Path, predicted: np.ndarray) -> None:
    """Kaggle digit-recognizer layout: header ImageId,Label; ImageId counts from 1."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["ImageId", "Label"])
        writer.writerows(zip(range(1, len(predicted) + 1), np.asarray(predicted).tolist(), strict=True))


def export(
    run: Annotated[Path, typer.Argument(help="Run folder of a PyTorch model.")],
    onnx: Annotated[bool, typer.Option("--onnx", help="Write model.onnx for ONNX Runtime.")] = True,
) -> None:
    """Export a run for fast inference (ONNX)."""
    if onnx:
        typer.echo(f"written {export_onnx(run)}")
