"""``mnistlab evaluate`` and ``mnistlab cv``: a saved run measured on its test data with every figure, and the
cross-validated accuracy of a registered model."""

from __future__ import annotations

from pathlib import Path

from mnistlab import datasets, models, runs
from mnistlab.datasets.sources import kind_of
from mnistlab.evaluation import check_folds, evaluate_estimator
from mnistlab.fileio import write_json
from mnistlab.parallel import parallel
from mnistlab.params import check_params, integer


def evaluate_run(
    path: str | Path,
    top: int = 16,
    trust: bool = False,
    test: str | None = None,
    preprocess: str = "none",
) -> dict:
    """Evaluate a saved run and write ``metrics.json`` and its figures into the run folder.

    Parameters
    ----------
    path : str or Path
        The run folder.
    top : int
        How many of the worst mistakes the top-losses figure and the metrics list.
    trust : bool
        Load tree models that this machine did not save (``runs.load``).
    test : str, optional
        Any labelled file or folder of the same classes; by default the data the run recorded, checked
        unchanged.
    preprocess : str
        How the images of a ``test`` image folder become 28x28: ``"none"`` (28x28 only), ``"mnist"`` (photos, as
        ``mnistlab predict`` reads them) or ``"resize"``.

    Returns
    -------
    dict
        The metrics written, with ``evaluation`` (accuracy, log loss, report, confusion matrix, ...) and the
        names of the ``figures``.

    Examples
    --------
    >>> metrics = evaluate_run("runs/cnn-mnist")  # doctest: +SKIP
    >>> metrics["evaluation"]["accuracy"]  # doctest: +SKIP
    """
    from mnistlab import viz

    check_params("evaluate", {"top": top}, {"top": integer(low=1, high=10_000)})
    path = Path(path)
    run = runs.load_run(path, trust)
    data = runs.test_data(run, test, preprocess)
    evaluation = evaluate_estimator(run.estimator, data.images, data.labels, data.classes)
    metrics = {
        **run.metrics,
        "test_accuracy": evaluation.accuracy,
        "n_test": len(data),
        "evaluation": evaluation.to_dict(top),
    }
    write_json(path / runs.METRICS, metrics)
    figures: dict[str, viz.Display] = {
        f"confusion_{kind}.png": viz.ConfusionDisplay.from_evaluation(evaluation, kind)
        for kind in viz.CONFUSION_KINDS
    }
    figures["most_confused.png"] = viz.MostConfusedDisplay.from_evaluation(evaluation, data.images, top=6)
    if evaluation.proba is not None:
        figures["top_losses.png"] = viz.TopLossesDisplay.from_evaluation(evaluation, data.images, k=top)
        figures["predictions.png"] = viz.PredictionGridDisplay.from_evaluation(evaluation, data.images, n=15)
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
    """Stratified k-fold accuracy of a registered model on a data set's training split.

    Folds run ``jobs`` at once, or on the Dask cluster at address ``cluster`` (``mnistlab.parallel``).

    Returns
    -------
    dict
        ``scores`` (one per fold), ``mean`` and ``std``.

    Examples
    --------
    >>> cross_validate("mnist", "sgd", folds=3, limit=3000)["mean"]  # doctest: +SKIP
    """
    from mnistlab.evaluation import cross_validate_model

    estimator = models.create(model, kind_of(data), **(params or {}))
    train = datasets.load(data, "train", classes, limit)
    check_folds(folds, train.labels)
    with parallel(jobs, cluster) as n_jobs:
        result = cross_validate_model(
            estimator, train.images, train.labels, folds, n_jobs=n_jobs, verbose=verbose
        )
    return {
        "scores": result.scores.tolist(),
        "mean": float(result.scores.mean()),
        "std": float(result.scores.std()),
    }
