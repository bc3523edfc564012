"""``mnistlab graph``: similarity graphs of test images in a layer of a run's model, and the comparison of graph
centrality with standard detectors of the model's mistakes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mnistlab.cli.options import RunArg, TrustOpt


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
    from mnistlab import experiment

    if every:
        typer.echo(f"written {experiment.graph_panel(run, _n(n or '100'), out, trust=trust)}")
        return
    if compare:
        rows = experiment.graph_compare(run, n=_n(n or "2000"), k=k, out=out, trust=trust)
        for row in rows:
            typer.echo(f"{row['source']:>8s} {row['method']:>11s}  purity {row['edge_purity']:.3f}  "
                       f"{row['verdict']}")  # fmt: skip
        typer.echo(f"table written to {out / 'graph_compare.md'} and .csv")
        return
    result = experiment.graph(run, layer, method, _n(n or "100"), k, out, trust=trust)
    summary = result.summary()
    detection = result.error_detection()
    typer.echo(f"{summary['source']} / {summary['method']}: {summary['nodes']} images, {summary['edges']} edges, "
               f"edge purity {summary['edge_purity']:.3f}, {summary['components']} components, "
               f"{summary['errors']} mistakes")  # fmt: skip
    for name in ("degree", "betweenness"):
        d = detection[name]
        typer.echo(f"{name:>11s} as a mistake detector: ROC AUC {d['roc_auc']:.3f}, top-10% error rate "
                   f"{d['error_rate_top10']:.3f} (overall {d['error_rate']:.3f})")  # fmt: skip
    typer.echo(f"written to {out}")


def map_(
    run: RunArg,
    layer: Annotated[str | None, typer.Option(help="Feature source; default: the penultimate layer.")] = None,
    method: Annotated[str, typer.Option(help="pca or tsne.")] = "pca",
    n: Annotated[str, typer.Option(help="Test images (stratified by class), or 'all'.")] = "2000",
    out: Annotated[Path, typer.Option(help="Folder for the figure.")] = Path("reports/map"),
    trust: TrustOpt = False,
) -> None:
    """A 2-D map (PCA or t-SNE) of a layer's features for test images, coloured by class, mistakes marked."""
    from mnistlab import experiment

    typer.echo(f"written {experiment.feature_map(run, layer, method, _n(n), out, trust=trust)}")
