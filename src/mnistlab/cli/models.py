"""``mnistlab models``, ``train``, ``runs``, ``predict`` and ``export``: the model commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mnistlab.cli.options import (
    DATA_HELP,
    ClassesOpt,
    DropColumnsOpt,
    LabelColumnOpt,
    PreprocessOpt,
    RunArg,
    TestFractionOpt,
    TestOpt,
    TrustOpt,
    echo,
    parse_classes,
    parse_columns,
)
from mnistlab.errors import ParameterError


def list_models() -> None:
    """The model registry: names, descriptions, defaults."""
    from mnistlab import models

    for name, spec in models.specs().items():
        echo(f"{name:15s} {spec.kind:7s} {spec.description}")
        if spec.defaults:
            echo(f"{'':23s} defaults: {', '.join(f'{k}={v}' for k, v in spec.defaults.items())}")
        if spec.objects_recipe:
            echo(
                f"{'':23s} objects (not digits): {', '.join(f'{k}={v}' for k, v in spec.objects_recipe.items())}"
            )


def _parse_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text  # bare strings such as adam or shift=2,rotate=10


def parse_settings(settings: list[str]) -> dict:
    """``["lr=0.01", "augment=shift=2"]`` -> ``{"lr": 0.01, "augment": "shift=2"}``.

    Examples
    --------
    >>> parse_settings(["lr=0.01", "augment=shift=2"])
    {'lr': 0.01, 'augment': 'shift=2'}
    """
    params = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"--set {item!r}: expected KEY=VALUE, e.g. --set lr=0.01")
        params[key.strip()] = _parse_value(value.strip())
    return params


def train(
    data: Annotated[str, typer.Option(help=DATA_HELP)] = "mnist",
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
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a run already in --out.")] = False,
    test: TestOpt = None,
    test_fraction: TestFractionOpt = None,
    classes: ClassesOpt = None,
    preprocess: PreprocessOpt = "none",
    validation_fraction: Annotated[
        float,
        typer.Option(help="Share of the training data held out for validation (PyTorch models; 0: none)."),
    ] = 0.1,
    label_column: LabelColumnOpt = None,
    drop_columns: DropColumnsOpt = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="Checkpoint file written after every epoch (PyTorch models); training again with the same "
            "file continues where it stopped."
        ),
    ] = None,
) -> None:
    """Train a model, print one line per epoch and the test accuracy, save the run folder.

    Under torchrun (`torchrun --nproc-per-node 2 -m mnistlab train ...`) every process trains its share of each
    batch; rank 0 prints and saves the run."""
    from mnistlab.workflows import train_model

    params = parse_settings(setting or [])
    if checkpoint is not None:
        params["checkpoint"] = str(checkpoint)
    if epochs is not None:
        params["epochs"] = epochs
    if threads is not None:
        params["threads"] = threads
    metrics = train_model(
        data,
        model,
        test=test,
        test_fraction=test_fraction,
        classes=parse_classes(classes),
        preprocess=preprocess,
        label_column=label_column,
        drop_columns=parse_columns(drop_columns),
        validation_fraction=validation_fraction,
        params=params,
        seed=seed,
        out=out,
        limit=limit,
        force_flip=force_flip,
        overwrite=overwrite,
    ).metrics
    from mnistlab.training import distributed

    if not distributed.is_writer():  # another process of a torchrun job: rank 0 reports
        return
    loss = f"  test loss {metrics['test_loss']:.4f}" if "test_loss" in metrics else ""
    echo(f"test accuracy {metrics['test_accuracy']:.4f}{loss}")
    if metrics.get("interrupted"):
        echo(f"interrupted after {metrics['epochs_completed']} epochs: the best weights so far were kept")
    if out is not None:
        echo(f"run saved in {out}" + (" (marked as interrupted)" if metrics.get("interrupted") else ""))


def list_runs(
    root: Annotated[Path, typer.Argument(help="Folder holding run folders.")] = Path("runs"),
) -> None:
    """Runs under a folder: data set, model, its own test accuracy, epochs and what was set over the recipe; a
    damaged run is listed with its reason."""
    from mnistlab import runs

    rows = runs.list_runs(root)
    if not rows:
        echo(f"no runs under {root}")
        return
    echo(f"{'run':40s} {'data':22s} {'model':15s} {'test acc':>8s} {'epochs':>8s}  set over the recipe")
    for row in rows:
        if row["error"] is not None:
            echo(f"{row['path']:40s} damaged: {row['error']}")
            continue
        accuracy = f"{row['test_accuracy']:.4f}" if row["test_accuracy"] is not None else "-"
        echo(
            f"{row['path']:40s} {row['data'] or '-':22s} {row['model'] or '-':15s} {accuracy:>8s} "
            f"{row['epochs']:>8s}  {runs.overrides_text(row['overrides'])}"
        )


def predict(
    run: RunArg,
    images: Annotated[list[Path] | None, typer.Argument(help="PNG/JPEG files of any size.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Kaggle-layout CSV to predict.")] = None,
    submission: Annotated[Path, typer.Option(help="Where --csv writes its Kaggle submission.")] = Path(
        "submission.csv"
    ),
    top: Annotated[int, typer.Option(help="How many classes to show per image.")] = 3,
    onnx: Annotated[
        bool, typer.Option("--onnx", help="Run through ONNX Runtime (exported on first use).")
    ] = False,
    trust: TrustOpt = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing submission file.")
    ] = False,
    preprocess: Annotated[
        str,
        typer.Option(
            help="How each image becomes 28x28: auto (a 28x28 image of the training data's ink polarity as "
            "stored, any other the MNIST way), mnist (photos and drawings: cropped to the ink, 20x20, centred), "
            "none (28x28 as stored) or resize (plain). The model always gets its training polarity."
        ),
    ] = "auto",
) -> None:
    """Top classes for each image (and how it was read), or a Kaggle submission (ImageId,Label) for a CSV."""
    from mnistlab import serve

    if csv_path is not None:
        if preprocess != "auto":
            raise ParameterError(
                "--preprocess applies to image files; a CSV's rows are 28x28 and read as stored"
            )
        target, rows = serve.predict_submission(run, csv_path, submission, onnx, trust, overwrite)
        echo(f"{rows} predictions written to {target}")
        return
    if not images:
        raise ParameterError("give image files to predict, or --csv FILE for a Kaggle submission")
    for p in serve.predict_images(run, images, top, onnx, trust, preprocess):
        shown = [
            f"{name} {v:.1%}" if p.kind == "probability" else f"{name} (score {v:.3g})" for name, v in p.top
        ]
        echo(f"{p.path}: " + ", ".join(shown) + f" ({p.read_as})")


def export(
    run: Annotated[Path, typer.Argument(help="Run folder of a PyTorch model.")],
    onnx: Annotated[bool, typer.Option("--onnx", help="Write model.onnx for ONNX Runtime.")] = False,
) -> None:
    """Export a run for fast inference: --onnx writes model.onnx into the run folder."""
    if not onnx:
        raise ParameterError("nothing to export: choose a format (--onnx)")
    from mnistlab.serve import export_onnx

    echo(f"written {export_onnx(run)}")


def doctor(
    measure: Annotated[
        bool, typer.Option("--measure", help="Time every network afresh (replaces the stored choices).")
    ] = False,
) -> None:
    """What this machine is, and what mnistlab chose for it: the precision, memory layout and threads each
    convolutional network trains with (timed once per machine and torch version, then read from
    $MNISTLAB_HOME/machine.json)."""
    from mnistlab.workflows import doctor as diagnose

    found = diagnose(measure)
    echo(f"cpu: {found['cpu']}; flags: {', '.join(found['flags']) or 'none of ' + 'avx2/avx512/amx'}")
    echo(f"torch {found['torch']}, {found['threads']} threads, bf16 supported: {found['bf16_supported']}")
    for name, chosen in found["precision"].items():
        layout = "channels-last" if chosen["channels_last"] else "contiguous"
        echo(
            f"{name:12s} trains in {chosen['precision']}, {layout}, {chosen['threads']} threads: {chosen['reason']}"
        )
        timings = ", ".join(f"{label} {ms} ms" for label, ms in chosen["timings_ms"].items())
        if timings:
            echo(f"{'':12s} step times: {timings}; measured {chosen.get('measured', '?')}")
        if not chosen.get("steady", True):
            echo(
                f"{'':12s} timings unsteady (other work on the cores?): not stored, measured again next time"
            )
