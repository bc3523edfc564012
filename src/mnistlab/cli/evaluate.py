"""``mnistlab evaluate``, ``cv`` and ``detect``: evaluation and error analysis commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnistlab.cli.options import (
    DATA_HELP,
    ClassesOpt,
    ClusterOpt,
    DropColumnsOpt,
    JobsOpt,
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


def evaluate(
    run: RunArg,
    top: Annotated[int, typer.Option(help="How many top losses and confused pairs to keep.")] = 16,
    trust: TrustOpt = False,
    test: Annotated[
        str | None,
        typer.Option(
            "--test",
            help="Also score this labelled file or folder: a side evaluation, written to RUN/evaluations/NAME; "
            "the run's own metrics.json and model card are left as they are.",
        ),
    ] = None,
    preprocess: PreprocessOpt = "none",
    label_column: LabelColumnOpt = None,
    drop_columns: DropColumnsOpt = None,
) -> None:
    """Evaluate a run on its test split (metrics.json, figures and model card in the run folder), or on other
    data with --test (a side evaluation in its own folder); report printed."""
    from mnistlab import workflows

    metrics = workflows.evaluate_run(
        run, top, trust, test, preprocess, label_column, parse_columns(drop_columns)
    )
    evaluation = metrics["evaluation"]
    echo(
        f"accuracy {evaluation['accuracy']:.4f}"
        + (f"  log loss {evaluation['log_loss']:.4f}" if "log_loss" in evaluation else "")
    )
    report = evaluation["report"]
    echo(f"{'class':>14s} {'precision':>9s} {'recall':>9s} {'f1':>9s} {'support':>8s}")
    for name, row in report.items():
        if isinstance(row, dict):
            echo(
                f"{name:>14s} {row['precision']:9.4f} {row['recall']:9.4f} {row['f1-score']:9.4f} {int(row['support']):8d}"
            )
    echo(
        "most confused (actual -> predicted: count): "
        + ", ".join(f"{a} -> {p}: {n}" for a, p, n in evaluation["most_confused"][:5])
    )
    if test is None:
        echo(f"figures, metrics.json and model card written to {metrics['written_to']}")
    else:
        data = metrics["data"]
        echo(
            f"side evaluation on {data['spec']} ({data['rows']} images, sha256 {data['sha256'][:12]}...) written "
            f"to {metrics['written_to']}; {run}'s own metrics.json and model card are unchanged"
        )


def cv(
    data: Annotated[str, typer.Option(help=DATA_HELP)] = "mnist",
    model: Annotated[str, typer.Option(help="Registered model.")] = "sgd",
    folds: Annotated[int, typer.Option(help="Number of stratified folds.")] = 3,
    limit: Annotated[int | None, typer.Option(help="Use only the first N training images.")] = None,
    classes: ClassesOpt = None,
    jobs: JobsOpt = 1,
    cluster: ClusterOpt = None,
) -> None:
    """Stratified k-fold cross-validation accuracy of a model: fold scores, mean and std."""
    from mnistlab import workflows

    result = workflows.cross_validate(
        data, model, folds, limit, verbose=2, classes=parse_classes(classes), jobs=jobs, cluster=cluster
    )  # a line as each fold ends
    echo("fold accuracy: " + " ".join(f"{s:.5f}" for s in result["scores"]))
    echo(f"mean {result['mean']:.5f}  std {result['std']:.5f}")


def detect(
    data: Annotated[str, typer.Option(help=DATA_HELP)] = "mnist",
    positive: Annotated[str, typer.Option(help="The class to detect against the rest.")] = "5",
    models: Annotated[str, typer.Option(help="Comma-separated registered models.")] = "sgd,random-forest",
    folds: Annotated[int, typer.Option(help="Number of stratified folds.")] = 3,
    target_precision: Annotated[
        float, typer.Option(help="Find the threshold reaching this precision.")
    ] = 0.90,
    out: Annotated[Path, typer.Option(help="Folder for detect.json and the figures.")] = Path(
        "reports/detect"
    ),
    limit: Annotated[int | None, typer.Option(help="Use only the first N training images.")] = None,
    classes: ClassesOpt = None,
    jobs: JobsOpt = 1,
    cluster: ClusterOpt = None,
) -> None:
    """Binary detectors (Hands-On ML chapter 3): "K against the rest", a never-positive baseline, PR/ROC curves, thresholds."""
    names = tuple(m.strip() for m in models.split(",") if m.strip())
    from mnistlab import workflows

    summary = workflows.detect(
        data,
        positive,
        names,
        folds,
        target_precision,
        out,
        limit,
        verbose=2,
        classes=parse_classes(classes),
        jobs=jobs,
        cluster=cluster,
    )
    for name, r in summary.items():
        cells = f"{name:16s} cv accuracy {' '.join(f'{s:.5f}' for s in r['cv_accuracy'])}"
        cells += f"  precision {r['precision']:.4f}  recall {r['recall']:.4f}  f1 {r['f1']:.4f}"
        if "roc_auc" in r:
            cells += f"  roc auc {r['roc_auc']:.4f}"
        echo(cells)
        echo(f"{'':16s} confusion matrix {r['confusion_matrix']}")
        if "at_target_precision" in r:
            t = r["at_target_precision"]
            echo(
                f"{'':16s} threshold {t['threshold']:.1f} gives precision {t['precision']:.4f}, recall {t['recall']:.4f}"
            )
    echo(f"figures and detect.json written to {out}")


def multilabel(
    data: Annotated[str, typer.Option(help=DATA_HELP)] = "mnist",
    limit: Annotated[
        int | None, typer.Option(help="Use only the first N training images (N/6 test).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for multilabel.json.")] = Path("reports/multilabel"),
    test: TestOpt = None,
    test_fraction: TestFractionOpt = None,
) -> None:
    """Multilabel KNN on [class >= 7, class odd] (Hands-On ML chapter 3): F1 per label, macro and weighted."""
    from mnistlab import workflows

    result = workflows.multilabel(data, limit, out, test, test_fraction)
    for name, f1 in result["f1_per_label"].items():
        echo(f"f1 {name:8s} {f1:.4f}")
    echo(f"f1 macro {result['f1_macro']:.4f}  weighted {result['f1_weighted']:.4f}")


def denoise(
    data: Annotated[str, typer.Option(help=DATA_HELP)] = "mnist",
    limit: Annotated[
        int | None, typer.Option(help="Use only the first N training images (N/6 test).")
    ] = None,
    noise: Annotated[int, typer.Option(help="Noise amplitude: uniform 0..N added to each pixel.")] = 100,
    out: Annotated[Path, typer.Option(help="Folder for denoise.json and denoise.png.")] = Path(
        "reports/denoise"
    ),
    test: TestOpt = None,
    test_fraction: TestFractionOpt = None,
) -> None:
    """Multi-output KNN that removes noise (Hands-On ML chapter 3): MSE and PSNR before and after, a before/after grid."""
    from mnistlab import workflows

    r = workflows.denoise(data, limit, noise, out, test, test_fraction)
    echo(f"noisy:    mse {r['mse_noisy']:8.1f}  psnr {r['psnr_noisy']:.2f} dB")
    echo(f"denoised: mse {r['mse_denoised']:8.1f}  psnr {r['psnr_denoised']:.2f} dB")
    echo(f"written to {out}")


def robustness(
    run: RunArg,
    corruption: Annotated[
        list[str] | None,
        typer.Option(
            "--corruption", help="A corruption to measure (repeat it); all 15 MNIST-C ones by default."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="The corruptions' randomness: the same seed, the same images.")
    ] = 0,
    trust: TrustOpt = False,
) -> None:
    """Accuracy on corrupted copies of the run's test split (MNIST-C's corruptions): per corruption, the mean and
    the drop from clean; recorded in metrics.json, the report and the model card."""
    from mnistlab import workflows

    result = workflows.robustness(run, corruption, seed, trust)
    echo(f"{'corruption':>14s} {'accuracy':>9s}")
    echo(f"{'(clean)':>14s} {result['clean']:9.4f}")
    for name, accuracy in sorted(result["corruptions"].items(), key=lambda item: item[1]):
        echo(f"{name:>14s} {accuracy:9.4f}")
    echo(
        f"mean {result['mean']:.4f}, drop from clean {result['drop']:.4f}; {result['images']} test images, "
        f"{result['seconds']:.0f} s; robustness.png and corruptions.png written to {run}"
    )
