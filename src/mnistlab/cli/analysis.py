"""``mnistlab graph``: similarity graphs of test images in a layer of a run's model, and the comparison of graph
centrality with standard detectors of the model's mistakes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnistlab.cli.options import ClusterOpt, RunArg, TestOpt, TrustOpt, echo


def _n(text: str) -> int | str:
    return "all" if text == "all" else int(text)


def graph(
    run: RunArg,
    layer: Annotated[str | None, typer.Option(help="Feature source; default: the penultimate layer.")] = None,
    method: Annotated[str, typer.Option(help="correlation, lasso or knn.")] = "knn",
    n: Annotated[
        str, typer.Option(help="Test images (stratified by class), or 'all'. Default: 100, --compare 2000.")
    ] = "",
    k: Annotated[int, typer.Option(help="Neighbours per image (knn, correlation).")] = 10,
    out: Annotated[Path, typer.Option(help="Folder for the figure, nodes CSV and summary.")] = Path(
        "reports/graph"
    ),
    compare: Annotated[
        bool, typer.Option("--compare", help="Every source x method against baseline detectors.")
    ] = False,
    every: Annotated[
        bool, typer.Option("--all", help="A figure per source x method, and a panel of them all.")
    ] = False,
    trust: TrustOpt = False,
) -> None:
    """Similarity graph of test images in a layer (figure, nodes.csv), or with --compare the detector table."""
    from mnistlab import workflows

    if every:
        echo(f"written {workflows.graph_panel(run, _n(n or '100'), out, trust=trust)}")
        return
    if compare:
        rows = workflows.graph_compare(run, n=_n(n or "2000"), k=k, out=out, trust=trust)
        for row in rows:
            echo(
                f"{row['source']:>8s} {row['method']:>11s}  purity {row['edge_purity']:.3f}  {row['verdict']}"
            )
        echo(f"table written to {out / 'graph_compare.md'} and .csv")
        return
    result = workflows.graph(run, layer, method, _n(n or "100"), k, out, trust=trust)
    summary = result.summary()
    detection = result.error_detection()
    echo(
        f"{summary['source']} / {summary['method']}: {summary['nodes']} images, {summary['edges']} edges, "
        f"edge purity {summary['edge_purity']:.3f}, {summary['components']} components, "
        f"{summary['errors']} mistakes"
    )
    for name in ("degree", "betweenness"):
        d = detection[name]
        echo(
            f"{name:>11s} as a mistake detector: ROC AUC {d['roc_auc']:.3f}, top-10% error rate "
            f"{d['error_rate_top10']:.3f} (overall {d['error_rate']:.3f})"
        )
    echo(f"written to {out}")


def map_(
    run: RunArg,
    layer: Annotated[str | None, typer.Option(help="Feature source; default: the penultimate layer.")] = None,
    method: Annotated[str, typer.Option(help="pca or tsne.")] = "pca",
    n: Annotated[str, typer.Option(help="Test images (stratified by class), or 'all'.")] = "2000",
    out: Annotated[Path, typer.Option(help="Folder for the figure.")] = Path("reports/map"),
    trust: TrustOpt = False,
) -> None:
    """A 2-D map (PCA or t-SNE) of a layer's features for test images, coloured by class, mistakes marked."""
    from mnistlab import workflows

    echo(f"written {workflows.feature_map(run, layer, method, _n(n), out, trust=trust)}")


def health(
    data: Annotated[
        str, typer.Argument(help="Registered data set, or a CSV, image folder, IDX file or npz.")
    ],
    test: TestOpt = None,
    model: Annotated[
        str,
        typer.Option(
            help="Judge whose out-of-sample probabilities rank label errors and find weak groups; auto: the "
            "first of cnn-fast, mlp, logreg that judges this data well (measured on one fold), else the best."
        ),
    ] = "auto",
    folds: Annotated[int, typer.Option(help="Cross-validation folds for the label check.")] = 5,
    min_judge_accuracy: Annotated[
        float,
        typer.Option(
            help="No label-error verdict from a judge whose out-of-fold accuracy on the recorded labels is "
            "lower; lower it only if you know many labels are wrong (0: always judge)."
        ),
    ] = 0.8,
    near_ratio: Annotated[
        float,
        typer.Option(
            help="Near duplicate: closer than this x the class's median nearest-neighbour distance."
        ),
    ] = 0.2,
    checks: Annotated[
        str,
        typer.Option(
            help="Checks to run, separated by commas: duplicates, near, odd, properties, files, imbalance, "
            "outlier, order (kNN searches: near, outlier, order), label, groups (train a model); all: every one."
        ),
    ] = "all",
    skip: Annotated[
        str, typer.Option(help="Checks not to run, separated by commas (e.g. label,groups: no model).")
    ] = "",
    cross_split: Annotated[
        bool,
        typer.Option(
            help="Score the test split with the mean of the training split's fold models (else out-of-fold "
            "within the test split)."
        ),
    ] = True,
    features_from: Annotated[
        Path | None,
        typer.Option(help="A run folder: measure outliers in its network's penultimate layer, not pixels."),
    ] = None,
    out: Annotated[
        Path,
        typer.Option(help="Folder for health.html, findings.csv, health.json, per_image.csv, galleries."),
    ] = Path("reports/health"),
    trust: TrustOpt = False,
    jobs: Annotated[
        int,
        typer.Option(help="The judge's fold models trained at once on this machine (joblib's processes)."),
    ] = 1,
    cluster: ClusterOpt = None,
) -> None:
    """Duplicates inside and across splits, conflicting labels, suspected label errors, underperforming groups,
    outliers, non-IID order, odd images, unusual image properties, rare classes; a data-set score per check
    (0..1, 1 = nothing flagged), and every image's scores in per_image.csv."""
    from mnistlab import workflows

    report = workflows.health(
        data,
        model,
        folds,
        near_ratio,
        checks,
        out,
        skip=skip,
        cross_split=cross_split,
        features_from=features_from,
        trust=trust,
        test=test,
        min_judge_accuracy=min_judge_accuracy,
        jobs=jobs,
        cluster=cluster,
    )
    echo(f"images: {', '.join(f'{k} {len(v)}' for k, v in report.splits.items())}")
    for result in report.results.values():
        echo(f"{result.title}: {result.describe()}")
        if result.caveat and result.verdict:
            echo(f"  note: {result.caveat}")
    echo(f"\n{'check':34s} {'data-set score':>14s}  what the score is")
    for name, result in report.results.items():
        score = "no verdict" if not result.verdict else "-" if result.score is None else f"{result.score:.4f}"
        echo(f"{name:34s} {score:>14s}  {result.score_name if result.score is not None else ''}")
    echo(f"findings and galleries written to {out}; open {out / 'health.html'}")


def report(
    runs: Annotated[list[Path], typer.Argument(help="Run folder(s); with --compare also folders of runs.")],
    out: Annotated[Path | None, typer.Option(help="HTML file to write; default RUN/report.html.")] = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="One leaderboard page for all the runs.")
    ] = False,
    trust: TrustOpt = False,
) -> None:
    """Self-contained HTML report of a run (evaluate it first), or with --compare a leaderboard of runs."""
    from mnistlab import workflows
    from mnistlab.errors import ParameterError

    if compare:
        echo(f"written {workflows.leaderboard(runs, out or Path('reports/leaderboard.html'), trust)}")
        return
    if len(runs) != 1:
        raise ParameterError("give one run folder, or --compare for several")
    echo(f"written {workflows.report_run(runs[0], out, trust)}")
