"""``mnistlab evaluate`` and ``mnistlab cv``: a saved run measured on its test data with every figure, and the
cross-validated accuracy of a registered model."""

from __future__ import annotations

import time
from pathlib import Path

from mnistlab import datasets, models, runs
from mnistlab.datasets import kind_of, resolve
from mnistlab.errors import RunError
from mnistlab.evaluation import check_folds, evaluate_estimator, trust_numbers
from mnistlab.fileio import atomic_write, write_json
from mnistlab.parallel import parallel
from mnistlab.params import integer, validates
from mnistlab.reports import MODEL_CARD, SIDE_CARD, model_card_text, side_evaluation_text


@validates("evaluate", top=integer(low=1, high=10_000))
def evaluate_run(
    path: str | Path,
    top: int = 16,
    trust: bool = False,
    test: str | None = None,
    preprocess: str = "none",
    label_column: str | None = None,
    drop_columns: list[str] | None = None,
) -> dict:
    """Evaluate a saved run: on its own test data, the run's record (``metrics.json``, its figures and the model
    card); on other data (``test``), a side evaluation in a folder of its own, ``RUN/evaluations/NAME``.

    A side evaluation never changes the run's record: its ``metrics.json``, model card, report and leaderboard
    row keep the numbers of the test data the run was trained with. The side evaluation's ``metrics.json`` names
    the data it scored (its path, rows and content sha256) and ``evaluation.md`` sums it up; NAME comes from the
    data's name (:func:`mnistlab.runs.side_evaluation_name`), and the same data evaluated again replaces it.

    Parameters
    ----------
    path : str or Path
        The run folder.
    top : int
        How many of the worst mistakes the top-losses figure and the metrics list.
    trust : bool
        Load tree models that this machine did not save (``runs.load``).
    test : str, optional
        Any labelled file or folder of the same classes, or a registered data set's test split: a side
        evaluation. By default the data the run recorded, checked unchanged.
    preprocess : str
        How the images of a ``test`` image folder become 28x28: ``"none"`` (28x28 only), ``"mnist"`` (photos, as
        ``mnistlab predict`` reads them) or ``"resize"``.
    label_column, drop_columns : optional
        How a ``test`` CSV's columns are read (:func:`~mnistlab.datasets.from_csv`): its label column and the
        columns to leave out; recorded in the side evaluation's provenance.

    Returns
    -------
    dict
        The metrics written, with ``evaluation`` (accuracy, log loss, report, confusion matrix, ...), the names of
        the ``figures``, ``written_to`` (the folder written) and, for a side evaluation, ``data`` (its provenance).

    Examples
    --------
    >>> metrics = evaluate_run("runs/cnn-mnist")  # doctest: +SKIP
    >>> metrics["evaluation"]["accuracy"]  # doctest: +SKIP
    >>> evaluate_run("runs/cnn-mnist", test="digits.npz")["written_to"]  # doctest: +SKIP
    'runs/cnn-mnist/evaluations/digits.npz'
    """
    path = Path(path)
    run = runs.load_run(path, trust)
    data = runs.test_data(run, test, preprocess, label_column, drop_columns)
    # The provenance of the data as read, before match_polarity may invert it for the model: its sha256 is the
    # same content fingerprint a run records of its own data.
    provenance = None if test is None else side_provenance(test, preprocess, data, label_column, drop_columns)
    data = datasets.ink.match_polarity(run.config, data, preprocess)  # the run's ink polarity, or a warning
    evaluation = evaluate_estimator(run.estimator, data.images, data.labels, data.classes)
    scored = {
        "test_accuracy": evaluation.accuracy,
        "n_test": len(data),
        "evaluation": {**evaluation.to_dict(top), **trust_numbers(run.estimator, evaluation)},
    }
    if test is None:
        return _record_on_run(run, data, evaluation, scored, top)
    return _record_side_evaluation(
        run,
        data,
        evaluation,
        scored,
        top,
        provenance,
    )


def _record_on_run(run, data, evaluation, scored: dict, top: int) -> dict:
    """The run's own record: ``metrics.json``, the figures and the model card in the run folder."""
    from mnistlab import viz

    metrics = {**run.metrics, **scored}
    write_json(run.path / runs.METRICS, metrics)
    figures = _figures(run, data, evaluation, top)
    if run.history:
        title = f"{run.config['model']} on {run.config['data']}"
        figures["learning_curves.png"] = viz.LearningCurveDisplay.from_history(run.history, title, run.steps)
    for name, display in figures.items():
        display.save(run.path / name)
    metrics["figures"] = sorted(figures)
    with atomic_write(run.path / MODEL_CARD) as tmp:
        tmp.write_text(model_card_text(run.config, metrics), encoding="utf-8")
    return {**metrics, "written_to": str(run.path)}


def _record_side_evaluation(run, data, evaluation, scored: dict, top: int, provenance: dict) -> dict:
    """A side evaluation in ``RUN/evaluations/NAME``: its figures, then ``metrics.json`` (written last: a folder
    holding it is complete) and ``evaluation.md``; nothing of the run's own record is touched."""
    folder = runs.side_evaluation_folder(run.path, provenance)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{folder}: cannot write the side evaluation there ({exc.strerror or exc})") from None
    figures = _figures(run, data, evaluation, top)
    for name, display in figures.items():
        display.save(folder / name)
    record = {
        "run": str(run.path),
        "run_identity": runs.run_identity(run.path),  # which saved model this scored
        "model": run.config["model"],
        "data": provenance,
        "evaluated": time.strftime("%Y-%m-%d %H:%M"),
        **scored,
        "figures": sorted(figures),
    }
    write_json(folder / runs.METRICS, record)
    with atomic_write(folder / SIDE_CARD) as tmp:
        tmp.write_text(side_evaluation_text(run.config, record), encoding="utf-8")
    return {**record, "written_to": str(folder)}


def side_provenance(
    test: str,
    preprocess: str,
    data: datasets.Dataset,
    label_column: str | None = None,
    drop_columns: list[str] | None = None,
) -> dict:
    """What a side evaluation scored: the data's name as given, its format, the rule its images were read with,
    its resolved path (None for a registered data set's test split), rows and content sha256 (the same
    fingerprint a run records of its own data)."""
    source = resolve(test, preprocess, label_column, drop_columns)
    columns = {"label_column": label_column, "drop_columns": list(drop_columns or ())}
    return {
        "spec": str(test),
        "format": source.format,
        "preprocess": source.preprocess,
        "path": str(source.path.resolve()) if source.path else None,
        "split": "test" if source.has_test_split else None,
        "rows": len(data),
        "sha256": datasets.fingerprint(data),
        **(columns if label_column is not None or drop_columns else {}),  # how a CSV was read, when given
    }


def _figures(run, data, evaluation, top: int) -> dict:
    """The figures of an evaluation, by file name (the learning curves belong to the run, not to its data)."""
    from mnistlab import viz

    figures = {
        f"confusion_{kind}.png": viz.ConfusionDisplay.from_evaluation(evaluation, kind)
        for kind in viz.CONFUSION_KINDS
    }
    figures["most_confused.png"] = viz.MostConfusedDisplay.from_evaluation(evaluation, data.images, top=6)
    if evaluation.proba is not None:
        figures["reliability.png"] = viz.ReliabilityDisplay.from_estimator(run.estimator, evaluation)
        if viz.ExplanationDisplay.can_explain(run.estimator):
            figures["explanations.png"] = viz.ExplanationDisplay.from_estimator(
                run.estimator, evaluation, data.images, top
            )
        figures["top_losses.png"] = viz.TopLossesDisplay.from_evaluation(evaluation, data.images, k=top)
        figures["predictions.png"] = viz.PredictionGridDisplay.from_evaluation(evaluation, data.images, n=15)
    return figures


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

    Parameters
    ----------
    data : str or Path
        A registered data set or a file or folder.
    model : str
        A registered model.
    folds : int
        Folds (at least 2, and no more than the smallest class has images).
    limit : int, optional
        Keep the first N training images.
    params : dict, optional
        Model parameters over its recipe.
    verbose : int
        Print each fold's progress when 1.
    classes : list of str, optional
        Class names, for files that carry only label indices.
    jobs, cluster
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
