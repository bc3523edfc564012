"""``mnistlab graph`` and ``mnistlab map``: what a run's network learned, as similarity graphs of test images (one,
all of them side by side, or compared as mistake detectors against standard baselines) and 2-D feature maps."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mnistlab import datasets, runs
from mnistlab.datasets import stratified_sample
from mnistlab.fileio import atomic_write, markdown_text, write_json, write_table

log = logging.getLogger("mnistlab.graphs")
BASELINES = ("max_softmax", "deep_knn", "trust_score")


def graph(
    path: str | Path,
    layer: str | None = None,
    method: str = "knn",
    n: int | str = 100,
    k: int = 10,
    out: str | Path | None = None,
    seed: int = 0,
    trust: bool = False,
):
    """The similarity graph of ``n`` test images (stratified by class) in a layer of a run's model.

    Parameters
    ----------
    path : str or Path
        The run folder.
    layer : str, optional
        The feature source (``representations.default_sources``); default the penultimate layer.
    method : {"knn", "correlation", "lasso"}
        How edges are chosen (``representations.similarity_graph``).
    n : int or "all"
        Test images in the graph.
    k : int
        Neighbours per image (``knn``, ``correlation``).
    out : str or Path, optional
        Folder for the figure, the most central images, ``..._nodes.csv`` and ``....json``.
    seed : int
        Seed of the stratified sample.
    trust : bool
        As for :func:`mnistlab.runs.load`.

    Returns
    -------
    representations.GraphAnalysis

    Examples
    --------
    >>> analysis = graph("runs/cnn-fashion", layer="pool3", method="correlation")  # doctest: +SKIP
    >>> analysis.summary()["edge_purity"]  # doctest: +SKIP
    """
    run = runs.load_run(path, trust)
    return _graph_of(run, runs.test_data(run), layer, method, n, k, out, seed)


def _graph_of(run: runs.Run, test: datasets.Dataset, layer, method, n, k, out, seed):
    """:func:`graph` for a run and test data already loaded (``graph_panel`` draws 15 graphs of one run)."""
    from mnistlab import representations, viz

    layer = layer or representations.default_sources(run.estimator)[-2]
    chosen = stratified_sample(test.labels, n, seed)
    images = test.images[chosen]
    vectors = representations.features(run.estimator, images, layer)
    with counted_lasso_stops() as stopped:
        result = representations.GraphAnalysis.from_features(
            vectors,
            test.labels[chosen],
            run.estimator.predict(images),
            test.classes,
            method,
            source=layer,
            k=k,
        )
    result.indices = chosen
    _log_lasso_stops(stopped, layer)
    if out is not None:
        out = Path(out)
        stem = f"graph_{layer}_{method}"
        viz.GraphDisplay.from_analysis(result).save(out / f"{stem}.png")
        viz.CentralImagesDisplay(
            images,
            result.y_true,
            result.y_pred,
            test.classes,
            result.betweenness(),
            title=f"most central images ({layer} / {method}): true / predicted",
        ).save(out / f"{stem}_central.png")
        nodes = result.nodes()
        write_table(out / f"{stem}_nodes.csv", zip(*nodes.values(), strict=True), list(nodes))
        summary = {
            "run": str(run.path),
            **result.summary(),
            "error_detection": result.error_detection(),
            "lasso_stopped_at_iteration_limit": stopped[0],
        }
        write_json(out / f"{stem}.json", summary)
    return result


def graph_panel(
    path: str | Path, n: int = 100, out: str | Path = "reports/graph", seed: int = 0, trust: bool = False
) -> Path:
    """One figure per feature source x graph method for ``n`` test images, and a panel of them all.

    Parameters
    ----------
    path : str or Path
        The run folder.
    n : int
        Test images (stratified), the tutorial's 100.
    out : str or Path
        Folder for the figures.
    seed : int
        Seed of the sample.
    trust : bool
        As for :func:`mnistlab.runs.load`.

    Returns
    -------
    Path
        The panel figure.

    Examples
    --------
    >>> graph_panel("runs/mlp-fashion", out="reports/graph")  # doctest: +SKIP
    PosixPath('reports/graph/graph_panel.png')
    """
    from mnistlab import representations, viz

    out = Path(out)
    run = runs.load_run(path, trust)
    test = runs.test_data(run)  # loaded once for all the graphs
    results = {
        (source, method): _graph_of(run, test, source, method, n, 10, out, seed)
        for source in representations.default_sources(run.estimator)
        for method in representations.METHODS
    }
    return viz.GraphPanelDisplay.from_analyses(results).save(out / "graph_panel.png")


def feature_map(
    path: str | Path,
    layer: str | None = None,
    method: str = "pca",
    n: int | str = 2000,
    out: str | Path = "reports/map",
    seed: int = 0,
    trust: bool = False,
) -> Path:
    """A 2-D map of test images' features in a layer, coloured by class, mistakes marked.

    Parameters
    ----------
    path : str or Path
        The run folder.
    layer : str, optional
        A feature source (:func:`mnistlab.representations.layers`); default the penultimate layer.
    method : {"pca", "tsne"}
        How the features become two dimensions.
    n : int or "all"
        Test images (stratified).
    out : str or Path
        Folder for the figure.
    seed, trust
        Seed of the sample and of t-SNE; as for :func:`mnistlab.runs.load`.

    Returns
    -------
    Path
        The figure.

    Examples
    --------
    >>> feature_map("runs/cnn-mnist", method="tsne")  # doctest: +SKIP
    """
    from mnistlab import representations, viz

    run = runs.load_run(path, trust)
    layer = layer or representations.default_sources(run.estimator)[-2]
    test = runs.test_data(run)
    chosen = stratified_sample(test.labels, n, seed)
    coordinates = representations.embed(
        representations.features(run.estimator, test.images[chosen], layer), method, seed
    )
    title = f"{layer} features of {len(chosen)} test images, {method.upper() if method == 'pca' else 't-SNE'}"
    predicted = run.estimator.predict(test.images[chosen])
    display = viz.FeatureMapDisplay(coordinates, test.labels[chosen], predicted, test.classes, title)
    return display.save(Path(out) / f"map_{layer}_{method}.png")


def graph_compare(
    path: str | Path,
    n: int | str = 2000,
    k: int = 10,
    methods: tuple[str, ...] = ("knn", "correlation", "lasso"),
    lasso_n: int = 300,
    train_n: int = 10000,
    out: str | Path | None = None,
    seed: int = 0,
    trust: bool = False,
) -> list[dict]:
    """Do central images in similarity graphs flag the model's mistakes better than the standard detectors?

    For each feature source (input, scaled input, last conv map, penultimate layer, logits) x graph method, on
    ``n`` test images (stratified; ``lasso_n`` of them for the lasso, one regression per image): edge class
    purity, ROC AUC / average precision of degree and betweenness as "misclassified" scores, against one minus
    the max softmax probability, deep k-NN disagreement and the trust score, computed from ``train_n`` training
    images of the run's own training data. Nothing here is tuned on the test data. With ``out``:
    ``graph_compare.csv`` and ``graph_compare.md`` (the run's report shows the latter).

    Parameters
    ----------
    path : str or Path
        The run folder.
    n : int or "all"
        Test images (stratified).
    k : int
        Neighbours per image of the kNN and correlation graphs, and of deep k-NN.
    methods : tuple of str
        Graph methods (``correlation``, ``lasso``, ``knn``).
    lasso_n : int
        Test images for the lasso graph (one regression per image).
    train_n : int
        Training images for deep k-NN and the trust score.
    out : str or Path, optional
        Folder for the tables.
    seed, trust
        Seed of the samples; as for :func:`mnistlab.runs.load`.

    Returns
    -------
    list of dict
        One row per source x method, with a ``verdict``.

    Examples
    --------
    >>> rows = graph_compare("runs/cnn-fashion", n=2000)  # doctest: +SKIP
    >>> rows[0]["verdict"]  # doctest: +SKIP
    """
    from mnistlab import representations

    run = runs.load_run(path, trust)
    estimator = run.estimator
    test = runs.test_data(run)
    chosen = stratified_sample(test.labels, n, seed)
    images, y_true = test.images[chosen], test.labels[chosen]
    proba = estimator.predict_proba(images)
    y_pred = np.asarray(estimator.classes_)[proba.argmax(1)]
    train = runs.training_data(run)
    train_idx = stratified_sample(train.labels, min(train_n, len(train)), seed)
    rows = []
    for source in representations.default_sources(estimator):
        test_f = representations.features(estimator, images, source)
        train_f = representations.features(estimator, train.images[train_idx], source)
        baselines = {
            "max_softmax": representations.max_softmax(proba),
            "deep_knn": representations.deep_knn(train_f, train.labels[train_idx], test_f, y_pred, k),
            "trust_score": representations.trust_score(train_f, train.labels[train_idx], test_f, y_pred),
        }
        for method in methods:
            size = (
                len(chosen) if method == "knn" else min(lasso_n if method == "lasso" else 5000, len(chosen))
            )
            keep = np.arange(size)
            with counted_lasso_stops() as stopped:
                graph = representations.similarity_graph(test_f[keep], method, k=k)
            _log_lasso_stops(stopped, source)
            result = representations.GraphAnalysis(
                graph,
                y_true[keep],
                y_pred[keep],
                test.classes,
                source,
                extra_scores={name: values[keep] for name, values in baselines.items()},
            )
            rows.append({**_comparison_row(result), "lasso_stopped": stopped[0]})
            log.info("%s / %s: %s", source, method, rows[-1]["verdict"])
    if out is not None:
        _write_comparison(rows, Path(out))
    return rows


@contextlib.contextmanager
def counted_lasso_stops() -> Iterator[list[int]]:
    """Count, rather than print, scikit-learn's ``ConvergenceWarning`` of the lasso graph (one regression per
    image; on some feature sources a few of them reach the 2000-iteration limit before the tolerance): a user of
    ``graph`` cannot act on the warning, and the count is recorded in the results instead. Any other warning is
    shown as usual. The block yields a one-element list that holds the count when it ends.

    Examples
    --------
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> with counted_lasso_stops() as stopped:
    ...     warnings.warn("Objective did not converge", ConvergenceWarning)
    >>> stopped
    [1]
    """
    from sklearn.exceptions import ConvergenceWarning

    stopped = [0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        yield stopped
    for warning in caught:
        if issubclass(warning.category, ConvergenceWarning):
            stopped[0] += 1
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def _log_lasso_stops(stopped: list[int], source: str) -> None:
    if stopped[0]:
        log.info(
            "%s / lasso: %d regressions stopped at the iteration limit (recorded as lasso_stopped)",
            source,
            stopped[0],
        )


def _comparison_row(result) -> dict:
    summary, detection = result.summary(), result.error_detection()
    baseline = max(BASELINES, key=lambda name: _auc(detection[name]))
    central = max(("degree", "betweenness"), key=lambda name: _auc(detection[name]))
    beats = _auc(detection[central]) > _auc(detection[baseline])
    row = {
        "source": summary["source"],
        "method": summary["method"],
        "images": summary["nodes"],
        "edges": summary["edges"],
        "errors": summary["errors"],
        "edge_purity": round(summary["edge_purity"], 4),
        "degree_auc": detection["degree"]["roc_auc"],
        "betweenness_auc": detection["betweenness"]["roc_auc"],
        "betweenness_ap": detection["betweenness"]["average_precision"],
        "betweenness_top10_error_rate": detection["betweenness"]["error_rate_top10"],
        "error_rate": detection["betweenness"]["error_rate"],
        **{f"{name}_auc": detection[name]["roc_auc"] for name in BASELINES},
    }
    verb = "beats" if beats else "does not beat"
    row["verdict"] = (
        f"{central} (AUC {_auc(detection[central]):.3f}) {verb} the best baseline, {baseline} "
        f"(AUC {_auc(detection[baseline]):.3f})"
    )
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}


def _auc(metrics: dict) -> float:
    value = metrics["roc_auc"]
    return -1.0 if value != value else value  # NaN (no errors in the sample) ranks last


def _write_comparison(rows: list[dict], out: Path) -> None:
    write_table(out / "graph_compare.csv", rows, list(rows[0]))
    keys = [k for k in rows[0] if k != "verdict"]
    md = markdown_text  # a data set's name is the user's: never HTML, a link or a table cell break there
    lines = ["| " + " | ".join(md(k) for k in keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(md(row[k]) for k in keys) + " |" for row in rows]
    lines += ["", *[f"- {md(row['source'])} / {md(row['method'])}: {md(row['verdict'])}" for row in rows]]
    stopped = [row for row in rows if row.get("lasso_stopped")]
    if stopped:
        lines += [
            "",
            "lasso_stopped: images whose lasso regression stopped at scikit-learn's iteration limit (2000) before "
            "its tolerance; their neighbours are the coefficients reached by then: "
            + ", ".join(f"{md(row['source'])} {row['lasso_stopped']} of {row['images']}" for row in stopped),
        ]
    with atomic_write(out / "graph_compare.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
