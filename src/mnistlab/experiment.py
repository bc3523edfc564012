"""The workflows behind the command line: train, evaluate a run, cross-validate, and the Hands-On ML chapter 3
studies (binary detectors, multilabel, denoising). Each is one function; the command line only prints."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from mnistlab import datasets, models, runs
from mnistlab.errors import DataFormatError, MnistlabError, ParameterError, RunError
from mnistlab.evaluation import evaluate_estimator
from mnistlab.fileio import write_json
from mnistlab.parallel import parallel
from mnistlab.params import check_params, integer, real

log = logging.getLogger("mnistlab.experiment")


def _check_limit(limit: int | None) -> None:
    check_params("options", {"limit": limit}, {"limit": integer(low=1, none=True)})


def _first(dataset: datasets.Dataset, limit: int | None) -> datasets.Dataset:
    return dataset if limit is None else dataset.subset(slice(0, limit))


def _train_test(
    data: str,
    limit: int | None,
    test: str | None = None,
    test_fraction: float | None = None,
    classes=None,
    seed: int = 0,
) -> datasets.TrainTest:
    """Training and test data (``datasets.train_and_test``); with ``limit``, the first N training and N // 6 test
    images (quick runs)."""
    _check_limit(limit)
    parts = datasets.train_and_test(data, test, test_fraction, classes, seed)
    if limit is None:
        return parts
    train, held_out = _first(parts.train, limit), _first(parts.test, max(limit // 6, 1))
    return datasets.TrainTest(train, held_out, {**parts.provenance, "limit": limit})


def _kind(data: str) -> str | None:
    """The kind of a registered data set, known before its data is read (files tell theirs when read)."""
    source = datasets.resolve(data)
    return datasets.get_info(data).kind if source.registered else None


def _training_data(data: str, limit: int | None, classes=None) -> datasets.Dataset:
    _check_limit(limit)
    return _first(datasets.read_source(datasets.resolve(data), "train", classes), limit)


def _check_folds(folds: int, labels) -> None:
    import numpy as np

    present = np.bincount(labels)
    smallest = int(present[present > 0].min()) if present.any() else 0
    if not isinstance(folds, int) or not 2 <= folds <= max(smallest, 2):
        raise ParameterError(
            f"folds={folds}; expected 2..{max(smallest, 2)} (each fold needs an image of each "
            f"class; the rarest class has {smallest})"
        )


def train_model(
    data: str = "mnist",
    model: str = "cnn",
    *,
    test: str | None = None,
    test_fraction: float | None = None,
    classes: list[str] | None = None,
    validation_fraction: float = 0.1,
    params: dict | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    limit: int | None = None,
    force_flip: bool = False,
    overwrite: bool = False,
    verbose: int = 1,
) -> runs.Run:
    """Train ``model`` on ``data`` (a registered name or a file/folder), measure it once on the test data, save
    the run to ``out``.

    Test data: ``test`` (a file or folder), a stratified ``test_fraction`` of ``data``, or a registered data set's
    test split. PyTorch models hold out ``validation_fraction`` of the training data (stratified) for their
    learning curves and early stopping unless their recipe or ``params`` set ``validation_split``; the test data
    is used once, after training. ``params`` override the model's recipe for this kind of data;
    ``seed`` sets the PyTorch seed or a scikit-learn ``random_state`` (and the test hold-out);
    ``limit`` keeps only the first N training and N // 6 test images (quick runs); ``force_flip`` allows
    horizontal flips on digits; ``out`` must not hold a run already unless ``overwrite``.

    >>> run = train_model("train.csv", "softmax", test_fraction=0.2, out="runs/softmax")  # doctest: +SKIP
    >>> run.metrics["test_accuracy"]  # doctest: +SKIP
    0.92...
    """
    spec = models.get_spec(model)
    params = dict(params or {})
    check_params(
        "train",
        {"validation_fraction": validation_fraction},
        {"validation_fraction": real(low=0, high=1, high_open=True)},
    )
    if spec.kind == "torch":
        params.setdefault("verbose", verbose)
        if "validation_split" not in spec.defaults:
            params.setdefault("validation_split", validation_fraction)
        if seed is not None:
            params["seed"] = seed
    models.create(
        model, _kind(data), force_flip=force_flip, **params
    )  # bad parameters fail before data is read
    datasets.check_train_test(data, test, test_fraction)
    if out is not None:
        runs.prepare_folder(out, overwrite)
    parts = _train_test(data, limit, test, test_fraction, classes, seed or 0)
    train, held_out = parts.train, parts.test
    estimator = models.create(model, train, force_flip=force_flip, **params)
    if spec.kind == "sklearn" and seed is not None:
        estimator.set_params(**{k: seed for k in estimator.get_params() if k.endswith("random_state")})
    start = time.perf_counter()
    estimator.fit(train.images, train.labels)
    seconds = time.perf_counter() - start
    metrics = {
        "train_seconds": round(seconds, 2),
        "n_train": len(train),
        "n_test": len(held_out),
        "splits": _split_note(estimator, parts),
    }
    metrics.update(split_metrics(estimator, held_out))
    log.info(
        "%s on %s: test accuracy %.4f (trained in %.1f s)", model, data, metrics["test_accuracy"], seconds
    )
    history = getattr(estimator, "history_", [])
    if out is not None:
        runs.save(
            out,
            estimator,
            model=model,
            data=data,
            classes=train.classes,
            seed=seed,
            metrics=metrics,
            data_source=parts.provenance,
        )
    return runs.Run(Path(out) if out else Path(), estimator, {"data": data, "model": model}, history, metrics)


def _split_note(estimator, parts: datasets.TrainTest) -> dict:
    """Which data each number of metrics.json and history.json comes from."""
    fraction = getattr(estimator, "validation_split", 0) or 0
    return {
        "train": f"{parts.provenance['train']['spec']}"
        + (f", less {fraction:g} held out for validation" if fraction else ""),
        "validation": f"{fraction:g} of the training data, stratified (history.json val_*)"
        if fraction
        else None,
        "test": f"{parts.provenance['test']['split']} (test_accuracy, test_loss), used once after training",
    }


def _run_test_data(run: runs.Run, test: str | None) -> datasets.Dataset:
    """The data to evaluate a run on: ``test``, or what the run recorded, refused if its content has changed."""
    classes = run.config["classes"]
    recorded = run.config.get("data_source")
    if test is not None:
        dataset = datasets.read_source(datasets.resolve(test), "test", classes)
    elif recorded is None:  # runs saved before data sources were recorded: registered data only
        dataset = datasets.load(run.config["data"], "test")
    else:
        source = recorded["test"]
        parts = _recorded_parts(run)
        dataset = (
            parts.test
            if recorded.get("limit") is None
            else _first(parts.test, max(recorded["limit"] // 6, 1))
        )
        if datasets.fingerprint(parts.test) != source["sha256"]:
            raise DataFormatError(
                f"{source['spec']}: its test data changed since {run.path} was trained (sha256 "
                f"{datasets.fingerprint(parts.test)[:12]}... now, {source['sha256'][:12]}... "
                "then); evaluate on a file explicitly with --test"
            )
    if dataset.labels is None:
        raise DataFormatError(
            f"{dataset.source}: has no labels, so it cannot be scored; predict it with "
            f"mnistlab predict {run.path} --csv FILE"
        )
    unknown = sorted(
        {dataset.classes[k] for k in set(dataset.labels.tolist())}
        - {classes[int(k)] for k in run.config["classes_"] if str(k).isdigit()}
    )
    if unknown:
        raise DataFormatError(
            f"{dataset.source or dataset.name}: class {unknown[0]!r} never appeared in training; "
            f"the model knows {', '.join(classes)}"
        )
    return dataset


def split_metrics(estimator, test: datasets.Dataset) -> dict:
    """Accuracy and, where the model gives probabilities, the mean cross-entropy on a labelled split."""
    evaluation = evaluate_estimator(estimator, test.images, test.labels, test.classes)
    metrics = {"test_accuracy": evaluation.accuracy}
    if evaluation.proba is not None:
        metrics["test_loss"] = evaluation.log_loss
    return metrics


def evaluate_run(path: str | Path, top: int = 16, trust: bool = False, test: str | None = None) -> dict:
    """Evaluate a saved run on its test data (the data it recorded, checked unchanged) or on ``test`` (any
    labelled file of the same classes): writes ``metrics.json`` and figures into the run.

    >>> metrics = evaluate_run("runs/cnn-mnist")  # doctest: +SKIP
    >>> metrics["evaluation"]["accuracy"]  # doctest: +SKIP
    """
    from mnistlab import viz

    check_params("evaluate", {"top": top}, {"top": integer(low=1, high=10_000)})
    path = Path(path)
    run = runs.load_run(path, trust)
    test = _run_test_data(run, test)
    evaluation = evaluate_estimator(run.estimator, test.images, test.labels, test.classes)
    metrics = {
        **run.metrics,
        "test_accuracy": evaluation.accuracy,
        "n_test": len(test),
        "evaluation": evaluation.to_dict(top),
    }
    write_json(path / runs.METRICS, metrics)
    figures: dict[str, viz.Display] = {
        f"confusion_{kind}.png": viz.ConfusionDisplay.from_evaluation(evaluation, kind)
        for kind in viz.CONFUSION_KINDS
    }
    figures["most_confused.png"] = viz.MostConfusedDisplay.from_evaluation(evaluation, test.images, top=6)
    if evaluation.proba is not None:
        figures["top_losses.png"] = viz.TopLossesDisplay.from_evaluation(evaluation, test.images, k=top)
        figures["predictions.png"] = viz.PredictionGridDisplay.from_evaluation(evaluation, test.images, n=15)
    if run.history:
        title = f"{run.config['model']} on {run.config['data']}"
        figures["learning_curves.png"] = viz.LearningCurveDisplay.from_history(run.history, title)
    for name, display in figures.items():
        display.save(path / name)
    metrics["figures"] = sorted(figures)
    return metrics


def cross_validate(
    data: str,
    model: str,
    folds: int = 3,
    limit: int | None = None,
    params: dict | None = None,
    verbose: int = 0,
    classes: list[str] | None = None,
    jobs: int = 1,
    cluster: str | None = None,
) -> dict:
    """Stratified k-fold accuracy of a registered model on a data set's training split: scores, mean, std.
    Folds run ``jobs`` at once, or on a Dask cluster (``mnistlab.parallel``)."""
    from mnistlab.evaluation import cross_validate_model

    _check_limit(limit)
    estimator = models.create(model, _kind(data), **(params or {}))
    train = _training_data(data, limit, classes)
    _check_folds(folds, train.labels)
    with parallel(jobs, cluster) as n_jobs:
        result = cross_validate_model(
            estimator, train.images, train.labels, folds, n_jobs=n_jobs, verbose=verbose
        )
    return {
        "scores": result.scores.tolist(),
        "mean": float(result.scores.mean()),
        "std": float(result.scores.std()),
    }


def detect(
    data: str = "mnist",
    positive: str = "5",
    model_names: tuple[str, ...] = ("sgd", "random-forest"),
    folds: int = 3,
    target_precision: float | None = 0.90,
    out: str | Path | None = None,
    limit: int | None = None,
    verbose: int = 0,
    classes: list[str] | None = None,
    jobs: int = 1,
    cluster: str | None = None,
) -> dict:
    """The Hands-On ML binary study: each model as a "``positive`` against the rest" detector, with a "never
    positive" baseline, cross-validated on the training split; figures and ``detect.json`` go to ``out``.
    Folds run ``jobs`` at once, or on a Dask cluster (``mnistlab.parallel``).
    """
    from mnistlab import viz
    from mnistlab.evaluation import detector_study

    _check_limit(limit)
    if not model_names:
        raise ParameterError("no models to study: give at least one, e.g. sgd,random-forest")
    check_params(
        "detect",
        {"target_precision": target_precision},
        {"target_precision": real(low=0, high=1, low_open=True, none=True)},
    )
    estimators = {name: models.create(name) for name in model_names}  # unknown names fail before data loads
    train = _training_data(data, limit, classes)
    _check_folds(folds, train.labels)
    if positive not in train.classes:
        raise MnistlabError(f"{data}: no class {positive!r}; classes are {', '.join(train.classes)}")
    label = train.classes.index(positive)
    estimators["never-positive"] = models.create("dummy-negative")
    log.info(
        "cross-validating %s as '%s vs rest' detectors (%d folds)", ", ".join(estimators), positive, folds
    )
    with parallel(jobs, cluster) as n_jobs:
        results = detector_study(estimators, train.images, train.labels, label, folds, verbose, n_jobs)
    summary = {name: r.to_dict() for name, r in results.items()}
    first = results[model_names[0]]
    if target_precision is not None:
        summary[model_names[0]]["at_target_precision"] = first.threshold_for(precision=target_precision)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        scored = {n: r for n, r in results.items() if n != "never-positive"}
        viz.PrecisionRecallThresholdDisplay.from_detector(first, target_precision).save(
            out / "precision_recall_vs_threshold.png"
        )
        viz.PrecisionRecallCurvesDisplay.from_detectors(scored).save(out / "pr_curve.png")
        viz.RocCurvesDisplay.from_detectors(scored).save(out / "roc_curve.png")
        write_json(
            out / "detect.json", {"data": data, "positive": positive, "folds": folds, "results": summary}
        )
    return summary


def _check_neighbours(train: datasets.Dataset, k: int = 5) -> None:
    if len(train) < k:
        raise ParameterError(
            f"{len(train)} training images; the {k}-nearest-neighbour model needs at least {k}"
        )


def multilabel(
    data: str = "mnist",
    limit: int | None = None,
    out: str | Path | None = None,
    test: str | None = None,
    test_fraction: float | None = None,
) -> dict:
    """The Hands-On ML multilabel example: KNN on [class >= 7, class odd]; F1 per label, macro, weighted on
    the test split."""
    from mnistlab.evaluation.extensions import multilabel_study

    parts = _train_test(data, limit, test, test_fraction)
    train, test = parts.train, parts.test
    _check_neighbours(train)
    log.info("multilabel KNN on %d training images, %d test images", len(train), len(test))
    result = multilabel_study(train.images, train.labels, test.images, test.labels)
    result.pop("predicted")
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        write_json(Path(out) / "multilabel.json", {"data": data, "n_train": len(train), **result})
    return result


def denoise(
    data: str = "mnist",
    limit: int | None = None,
    noise: int = 100,
    out: str | Path | None = None,
    test: str | None = None,
    test_fraction: float | None = None,
) -> dict:
    """The Hands-On ML multi-output example: learn noisy -> clean with KNN; MSE and PSNR before and after."""
    from mnistlab import viz
    from mnistlab.evaluation.extensions import denoise_study

    check_params("denoise", {"noise": noise}, {"noise": integer(low=1, high=255)})
    parts = _train_test(data, limit, test, test_fraction)
    train, test = parts.train, parts.test
    _check_neighbours(train)
    log.info("denoising KNN on %d training images, %d test images", len(train), len(test))
    result = denoise_study(train.images, test.images, noise)
    noisy, cleaned = result.pop("noisy"), result.pop("denoised")
    if out is not None:
        out = Path(out)
        viz.DenoiseDisplay(noisy, cleaned, test.images).save(out / "denoise.png")
        write_json(out / "denoise.json", {"data": data, "noise": noise, "n_train": len(train), **result})
    return result


def _stratified_sample(labels, n: int | str, seed: int):
    """Indices of a stratified, seeded sample of ``n`` images (``"all"``: every image), in their original order."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    total = len(labels)
    if n == "all" or n == total:
        return np.arange(total)
    if not isinstance(n, int) or not 3 <= n <= total:
        raise ParameterError(f"n={n!r}; expected 3..{total} images, or 'all'")
    chosen, _ = train_test_split(np.arange(total), train_size=n, random_state=seed, stratify=labels)
    return np.sort(chosen)


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
    """The similarity graph of ``n`` test images (stratified by class) in a layer of a run's model (default: the
    penultimate layer), by ``method``; with ``out``: the figure, ``nodes.csv`` and ``graph.json``.

    >>> analysis = graph("runs/cnn-fashion", layer="pool3", method="correlation")  # doctest: +SKIP
    >>> analysis.summary()["edge_purity"]  # doctest: +SKIP
    """
    run = runs.load_run(path, trust)
    return _graph_of(run, _run_test_data(run, None), layer, method, n, k, out, seed)


def _graph_of(run: runs.Run, test: datasets.Dataset, layer, method, n, k, out, seed):
    """:func:`graph` for a run and test data already loaded (``graph_panel`` draws 15 graphs of one run)."""
    from mnistlab import analysis, viz

    layer = layer or analysis.default_sources(run.estimator)[-2]
    chosen = _stratified_sample(test.labels, n, seed)
    images = test.images[chosen]
    vectors = analysis.features(run.estimator, images, layer)
    result = analysis.GraphAnalysis.from_features(
        vectors, test.labels[chosen], run.estimator.predict(images), test.classes, method, source=layer, k=k
    )
    result.indices = chosen
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
        _write_table(out / f"{stem}_nodes.csv", result.nodes())
        write_json(
            out / f"{stem}.json",
            {"run": str(run.path), **result.summary(), "error_detection": result.error_detection()},
        )
    return result


def _write_table(path: Path, columns: dict) -> Path:
    import csv

    from mnistlab.fileio import atomic_write

    names = list(columns)
    with atomic_write(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows(zip(*[list(columns[name]) for name in names], strict=True))
    return path


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
    images of the run's own training data. Nothing here is tuned on the test data.
    """
    from mnistlab import analysis

    run = runs.load_run(path, trust)
    estimator = run.estimator
    test = _run_test_data(run, None)
    chosen = _stratified_sample(test.labels, n, seed)
    images, y_true = test.images[chosen], test.labels[chosen]
    proba = estimator.predict_proba(images)
    y_pred = np.asarray(estimator.classes_)[proba.argmax(1)]
    train = _run_training_data(run)
    train_idx = _stratified_sample(train.labels, min(train_n, len(train)), seed)
    rows = []
    for source in analysis.default_sources(estimator):
        test_f = analysis.features(estimator, images, source)
        train_f = analysis.features(estimator, train.images[train_idx], source)
        baselines = {
            "max_softmax": analysis.max_softmax(proba),
            "deep_knn": analysis.deep_knn(train_f, train.labels[train_idx], test_f, y_pred, k),
            "trust_score": analysis.trust_score(train_f, train.labels[train_idx], test_f, y_pred),
        }
        for method in methods:
            keep = (
                np.arange(len(chosen))
                if method == "knn"
                else np.arange(min(lasso_n if method == "lasso" else 5000, len(chosen)))
            )
            result = analysis.GraphAnalysis(
                analysis.similarity_graph(test_f[keep], method, k=k),
                y_true[keep],
                y_pred[keep],
                test.classes,
                source,
                extra_scores={name: values[keep] for name, values in baselines.items()},
            )
            rows.append(_comparison_row(result))
            log.info("%s / %s: %s", source, method, rows[-1]["verdict"])
    if out is not None:
        _write_comparison(rows, Path(out))
    return rows


def _comparison_row(result) -> dict:
    summary, detection = result.summary(), result.error_detection()
    baseline = max(("max_softmax", "deep_knn", "trust_score"), key=lambda name: _auc(detection[name]))
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
        "max_softmax_auc": detection["max_softmax"]["roc_auc"],
        "deep_knn_auc": detection["deep_knn"]["roc_auc"],
        "trust_score_auc": detection["trust_score"]["roc_auc"],
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
    _write_table(out / "graph_compare.csv", {key: [row[key] for row in rows] for key in rows[0]})
    keys = [k for k in rows[0] if k != "verdict"]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row[k]) for k in keys) + " |" for row in rows]
    lines += ["", *[f"- {row['source']} / {row['method']}: {row['verdict']}" for row in rows]]
    from mnistlab.fileio import atomic_write

    with atomic_write(out / "graph_compare.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def _run_training_data(run: runs.Run) -> datasets.Dataset:
    """The training data a run was trained on (the registered training split for runs that predate provenance)."""
    recorded = run.config.get("data_source")
    if recorded is None:
        return datasets.load(run.config["data"], "train")
    train = _recorded_parts(run).train
    limit = run.config["data_source"].get("limit")
    return train if limit is None else _first(train, limit)


def _recorded_parts(run: runs.Run) -> datasets.TrainTest:
    """The training and test data a run recorded, rebuilt from their sources (same files, fraction and seed)."""
    recorded = run.config["data_source"]
    train, test = recorded["train"], recorded["test"]
    test_file = None if test["fraction"] is not None or test["spec"] == train["spec"] else test["spec"]
    return datasets.train_and_test(
        train["spec"], test_file, test["fraction"], run.config["classes"], test["seed"]
    )


def graph_panel(
    path: str | Path, n: int = 100, out: str | Path = "reports/graph", seed: int = 0, trust: bool = False
) -> Path:
    """One figure per feature source x method for ``n`` test images (the tutorial's comparison), and one panel
    figure with all of them side by side; returns the panel's path."""
    from mnistlab import analysis, viz
    from mnistlab.viz.style import house_style, new_figure

    out = Path(out)
    run = runs.load_run(path, trust)
    test = _run_test_data(run, None)  # loaded once for all the graphs
    sources = analysis.default_sources(run.estimator)
    results = {
        (s, m): _graph_of(run, test, s, m, n, 10, out, seed) for s in sources for m in analysis.METHODS
    }
    with house_style():
        figure = new_figure(5.2 * len(analysis.METHODS), 4.6 * len(sources))
        axes = figure.subplots(len(sources), len(analysis.METHODS), squeeze=False)
        for (r, source), (c, method) in (
            (rs, cm) for rs in enumerate(sources) for cm in enumerate(analysis.METHODS)
        ):
            display = viz.GraphDisplay.from_analysis(results[(source, method)])
            display.plot(ax=axes[r, c])
            axes[r, c].get_legend().remove() if r or c else None
    return viz.save_figure(figure, out / "graph_panel.png")


def feature_map(
    path: str | Path,
    layer: str | None = None,
    method: str = "pca",
    n: int | str = 2000,
    out: str | Path = "reports/map",
    seed: int = 0,
    trust: bool = False,
) -> Path:
    """A 2-D map (PCA or t-SNE) of ``n`` test images' features in a layer, coloured by class, mistakes marked."""
    from mnistlab import analysis, viz

    run = runs.load_run(path, trust)
    layer = layer or analysis.default_sources(run.estimator)[-2]
    test = _run_test_data(run, None)
    chosen = _stratified_sample(test.labels, n, seed)
    coordinates = analysis.embed(analysis.features(run.estimator, test.images[chosen], layer), method, seed)
    title = f"{layer} features of {len(chosen)} test images, {method.upper() if method == 'pca' else 't-SNE'}"
    display = viz.FeatureMapDisplay(
        coordinates, test.labels[chosen], run.estimator.predict(test.images[chosen]), test.classes, title
    )
    return display.save(Path(out) / f"map_{layer}_{method}.png")


def health(
    data: str | Path,
    model: str = "mlp",
    folds: int = 5,
    near_ratio: float = 0.2,
    label_errors: bool = True,
    out: str | Path | None = None,
    classes=None,
    seed: int = 0,
    gallery: int = 24,
    near: bool = True,
):
    """Check a data set (registered or a file/folder): exact and near duplicates inside and across its splits,
    conflicting labels, suspected label errors (out-of-fold probabilities of ``model``, ``folds``-fold
    cross-validated on each split) and odd images; with ``out``: ``findings.csv``, ``health.json`` and galleries.

    >>> report = health("fashion-mnist-kaggle", label_errors=False)  # doctest: +SKIP
    >>> report.duplicate_pairs()  # doctest: +SKIP
    {'train': 43, 'test': 1, 'across': 10, 'across conflicting': 1}
    """
    from mnistlab.analysis import health as checks

    splits = datasets.splits_of(data, classes)
    for dataset in splits.values():
        checks.check_dataset(dataset)
    if label_errors:
        spec = models.get_spec(model)
        probe = models.create(model, next(iter(splits.values())))
        if spec.kind == "sklearn" and not hasattr(probe, "predict_proba"):
            raise ParameterError(
                f"model {model!r} gives no probabilities; suspected label errors need them "
                "(e.g. mlp, logreg, random-forest)"
            )
    images = np.concatenate([ds.images for ds in splits.values()])
    labels = np.concatenate([ds.labels for ds in splits.values()])
    start = time.perf_counter()
    report = checks.HealthReport(splits, checks.exact_duplicates(images, labels))
    log.info("exact duplicates of %d images: %.1f s", len(images), time.perf_counter() - start)
    if near:
        start = time.perf_counter()
        report.near = checks.near_duplicates(images, labels, near_ratio, seed)
        log.info("near duplicates: %.1f s", time.perf_counter() - start)
    for name, dataset in splits.items():
        report.odd_images[name] = checks.odd_images(dataset)
        if label_errors:
            start = time.perf_counter()
            report.label_errors[name] = _label_errors(dataset, model, folds, seed)
            log.info("%s: suspected label errors with %s: %.1f s", name, model, time.perf_counter() - start)
    if out is not None:
        _write_health(report, Path(out), gallery)
    return report


def _label_errors(dataset: datasets.Dataset, model: str, folds: int, seed: int) -> dict:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from mnistlab.analysis.health import suspected_label_errors

    _check_folds(folds, dataset.labels)
    estimator = models.create(
        model, dataset, **({"verbose": 0} if models.get_spec(model).kind == "torch" else {})
    )
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    proba = cross_val_predict(estimator, dataset.images, dataset.labels, cv=cv, method="predict_proba")
    suspects = suspected_label_errors(proba, dataset.labels)
    return {
        "indices": suspects.tolist(),
        "given": dataset.labels[suspects].tolist(),
        "predicted": proba[suspects].argmax(1).tolist(),
        "p": proba[suspects, dataset.labels[suspects]].tolist(),
        "p_predicted": proba[suspects].max(1).tolist(),
    }


def _write_health(report, out: Path, gallery: int) -> None:
    from mnistlab import viz

    rows = report.findings_table()
    keys = ["kind", "splits", "indices", "labels", "value"]
    _write_table(out / "findings.csv", {k: [row[k] for row in rows] for k in keys})
    write_json(out / "health.json", report.summary())
    splits = list(report.splits.values())
    classes = splits[0].classes
    images = np.concatenate([ds.images for ds in splits])
    spans = {id(g): len({report.locate(i)[0] for i in g.indices}) > 1 for g in report.duplicates}
    first = sorted(report.duplicates, key=lambda g: (not g.conflicting, not spans[id(g)]))  # the worst first
    pairs = [(g.indices[0], g.indices[1], "identical") for g in first[: gallery // 2]]
    pairs += [(i, j, f"d={d:.2f}") for i, j, d in report.near[: gallery // 2]]
    labels = np.concatenate([ds.labels for ds in splits])
    if pairs:
        shown = [k for i, j, _ in pairs for k in (i, j)]
        captions = [f"{report.locate(k)[0]} {report.locate(k)[1]}: {classes[labels[k]]}"[:24] for k in shown]
        flagged = [labels[i] != labels[j] for i, j, _ in pairs for _ in (0, 1)]
        viz.ImageGalleryDisplay(
            images[shown],
            captions,
            flagged,
            cols=8,
            title="duplicate pairs side by side (red: labels disagree)",
        ).save(out / "duplicates.png")
    for name, found in report.label_errors.items():
        if not found["indices"]:
            continue
        chosen = found["indices"][:gallery]
        captions = [
            f"{classes[g][:8]} -> {classes[p][:8]} {q:.2f}"
            for g, p, q in zip(found["given"], found["predicted"], found["p_predicted"], strict=False)
        ][:gallery]
        viz.ImageGalleryDisplay(
            report.splits[name].images[chosen],
            captions,
            cols=8,
            title=f"{name}: suspected label errors (recorded -> model, its probability)",
        ).save(out / f"label_errors_{name}.png")


def report_run(path: str | Path, out: str | Path | None = None, trust: bool = False) -> Path:
    """One self-contained HTML page for a run (``report.html`` in the run folder unless ``out``): headline numbers
    from its metrics.json, the data, the model, the learning curves and the whole evaluation.

    >>> report_run("runs/cnn-mnist")  # doctest: +SKIP
    PosixPath('runs/cnn-mnist/report.html')
    """
    return _report_of(runs.load_run(path, trust), out)


def _report_of(run: runs.Run, out: str | Path | None) -> Path:
    """:func:`report_run` for a run already loaded (the leaderboard reports every run it lists)."""
    from mnistlab import reports, viz

    path = run.path
    recorded = run.metrics.get("evaluation")
    if recorded is None:
        raise RunError(f"{path}: not evaluated yet; run `mnistlab evaluate {path}` first")
    out = Path(out) if out is not None else path / "report.html"
    if out.is_dir():
        raise ParameterError(f"{out}: is a folder; --out names the .html file to write")
    test = _run_test_data(run, None)
    evaluation = evaluate_estimator(run.estimator, test.images, test.labels, test.classes)
    figures = {
        "balance": reports.svg_markup(viz.ClassBalanceDisplay.from_datasets(test)),
        "samples": reports.png_data_uri(viz.SampleGridDisplay.from_dataset(test, n=25)),
        "confusion": {
            kind: reports.svg_markup(viz.ConfusionDisplay.from_evaluation(evaluation, kind))
            for kind in viz.CONFUSION_KINDS
        },
        "confused": reports.png_data_uri(viz.MostConfusedDisplay.from_evaluation(evaluation, test.images)),
        "curves": reports.svg_markup(viz.LearningCurveDisplay.from_history(run.history))
        if run.history
        else None,
        "losses": None,
        "predictions": None,
    }
    if evaluation.proba is not None:
        figures["losses"] = reports.png_data_uri(
            viz.TopLossesDisplay.from_evaluation(evaluation, test.images)
        )
        figures["predictions"] = reports.png_data_uri(
            viz.PredictionGridDisplay.from_evaluation(evaluation, test.images)
        )
    return reports.render(
        "run.html",
        out,
        h=_headline(run, recorded),
        figures=figures,
        model=_model_card(run),
        report=recorded["report"],
        extras=_extras(path),
    )


def _headline(run: runs.Run, recorded: dict) -> dict:
    source = run.config.get("data_source") or {}
    machine = run.config.get("machine") or {}
    estimator = run.estimator
    network = getattr(estimator, "network_", None)
    return {
        "run": str(run.path),
        "model": run.config["model"],
        "data": run.config["data"],
        "accuracy": recorded["accuracy"],
        "log_loss": recorded.get("log_loss"),
        "macro_f1": recorded["report"]["macro avg"]["f1-score"],
        "train_seconds": run.metrics.get("train_seconds", "-"),
        "parameters": f"{sum(p.numel() for p in network.parameters()):,}" if network is not None else "-",
        "n_test": int(recorded["report"]["macro avg"]["support"]),
        "date": run.config.get("saved", "-"),
        "machine": f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores"
        if machine
        else "machine not recorded",
        "versions": run.config.get("versions", {}),
        "source": source.get("test", {}).get("split", run.config["data"]),
        "sha256": source.get("test", {}).get("sha256"),
        "splits": "; ".join(f"{k}: {v}" for k, v in (run.metrics.get("splits") or {}).items() if v),
    }


def _model_card(run: runs.Run) -> dict:
    estimator = run.estimator
    network = getattr(estimator, "network_", None)
    if network is not None:
        return {"architecture": str(network), "settings": run.config.get("params", {})}
    return {"architecture": repr(estimator), "settings": estimator[-1].get_params(deep=False)}


def _extras(path: Path) -> dict:
    """Text results other workflows left in the run folder (graph comparison tables)."""
    found = {}
    for name, title in (("graph_compare.md", "Similarity graphs and mistake detectors"),):
        if (path / name).is_file():
            found[title] = (path / name).read_text()
    return found


def leaderboard(paths, out: str | Path = "reports/leaderboard.html", trust: bool = False) -> Path:
    """One page comparing runs (run folders, or folders holding runs): a sortable table per data set, learning
    curves overlaid, per-class recall side by side; each run links to its own report, written beside it."""
    from os.path import relpath

    from mnistlab import reports, viz

    out = Path(out)
    if out.is_dir():
        raise ParameterError(f"{out}: is a folder; --out names the .html file to write")
    folders = []
    for path in map(Path, paths):
        found = (
            [path]
            if (path / runs.CONFIG).is_file()
            else sorted(p.parent for p in path.glob("*/" + runs.CONFIG))
        )
        if not found:
            raise RunError(f"{path}: neither a run folder nor a folder of runs")
        folders += found
    rows, by_data, histories, recalls = [], {}, {}, {}
    for folder in folders:
        run = runs.load_run(folder, trust)
        page = _report_of(run, None)
        head = _headline(run, run.metrics["evaluation"])
        row = {
            **head,
            "link": relpath(page, out.parent),
            "run": folder.name,
            "parameters_n": int(head["parameters"].replace(",", "")) if head["parameters"] != "-" else 0,
        }
        rows.append(row)
        by_data.setdefault(head["data"], []).append(row)
        histories.setdefault(head["data"], {})[folder.name] = run.history
        report = run.metrics["evaluation"]["report"]
        recalls.setdefault(head["data"], {})[folder.name] = {
            k: v["recall"] for k, v in report.items() if isinstance(v, dict) and "avg" not in k
        }
    curves = {
        data: reports.svg_markup(viz.RunComparisonDisplay.curves(h)) if any(h.values()) else None
        for data, h in histories.items()
    }
    per_class = {
        data: reports.svg_markup(viz.RunComparisonDisplay.per_class(r)) for data, r in recalls.items()
    }
    for group in by_data.values():
        group.sort(key=lambda row: -row["accuracy"])
    columns = [
        ("run", "run"),
        ("model", "model"),
        ("accuracy", "test accuracy"),
        ("macro_f1", "macro F1"),
        ("log_loss", "log loss"),
        ("train_seconds", "training s"),
        ("parameters", "parameters"),
        ("date", "date"),
    ]
    return reports.render(
        "leaderboard.html",
        out,
        rows=rows,
        groups=by_data,
        columns=columns,
        curves=curves,
        per_class=per_class,
    )
