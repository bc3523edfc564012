"""``mnistlab train``: train a registered model, measure it once on the test data, save the run."""

from __future__ import annotations

import contextlib
import logging
import secrets
import tempfile
import time
from pathlib import Path

from mnistlab import datasets, models, runs
from mnistlab.datasets import check_train_test, kind_of
from mnistlab.errors import RunError, RunNotSavedError
from mnistlab.evaluation import evaluate_estimator
from mnistlab.params import real, validates

log = logging.getLogger("mnistlab.train")


@validates("train", validation_fraction=real(low=0, high=1, high_open=True))
def train_model(
    data: str | Path = "mnist",
    model: str = "cnn",
    *,
    test: str | Path | None = None,
    test_fraction: float | None = None,
    classes: list[str] | None = None,
    preprocess: str = "none",
    label_column: str | None = None,
    drop_columns: list[str] | None = None,
    validation_fraction: float = 0.1,
    params: dict | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    limit: int | None = None,
    force_flip: bool = False,
    overwrite: bool = False,
    verbose: int = 1,
) -> runs.Run:
    """Train ``model`` on ``data``, measure it once on the test data, and save the run to ``out``.

    Parameters
    ----------
    data : str or Path
        A registered data set, a name given with ``datasets.register``, or a file or folder.
    model : str
        A registered model (``mnistlab models``).
    test : str, optional
        A file or folder of test data. Without it, ``test_fraction`` of ``data`` is held out, or a registered
        data set's test split is used.
    test_fraction : float, optional
        The stratified share of ``data`` held out as test data (with ``seed``).
    classes : list of str, optional
        Class names for data that has none.
    preprocess : str
        How the images of image folders become 28x28: ``"none"`` (28x28 only), ``"mnist"`` (photos, as
        ``mnistlab predict`` reads them) or ``"resize"``; recorded in the run, so evaluation reads the same way.
    label_column, drop_columns : optional
        How a CSV's columns are read (:func:`~mnistlab.datasets.from_csv`): its label column and the columns to
        leave out; recorded in the run, so evaluation reads the file the same way.
    validation_fraction : float
        Share of the training data PyTorch models hold out (stratified) for learning curves and early
        stopping, unless their recipe or ``params`` set ``validation_split``.
    params : dict, optional
        Model parameters over the model's recipe for this kind of data.
    seed : int, optional
        The PyTorch seed or a scikit-learn ``random_state``, and the test hold-out's seed.
    out : str or Path, optional
        The run folder to write; it must not hold a run already unless ``overwrite``.
    limit : int, optional
        Keep only the first N training and N // 6 test images (quick runs).
    force_flip : bool
        Allow horizontal flips on digits.
    overwrite : bool
        Replace a run already in ``out``.
    verbose : int
        PyTorch models print one line per epoch when 1.

    Notes
    -----
    Launched by ``torchrun`` (``torchrun --nproc-per-node 2 -m mnistlab.cli train ...``), every process trains
    its share of each batch with PyTorch's DistributedDataParallel (:mod:`mnistlab.training.distributed`); only
    rank 0 prints and writes the run. ``params={"checkpoint": path}`` lets a restarted job continue.

    Returns
    -------
    runs.Run
        The fitted estimator, its history and its metrics (``test_accuracy``, ``test_loss``, ...). The test data
        is used once, after training.

    Examples
    --------
    >>> run = train_model("train.csv", "softmax", test_fraction=0.2, out="runs/softmax")  # doctest: +SKIP
    >>> run.metrics["test_accuracy"]  # doctest: +SKIP
    0.92...
    """
    spec = models.get_spec(model)
    model = spec.name  # an old name is saved under today's
    # a path is recorded as the text the command line would have given (config.json holds it)
    data, test = str(data), None if test is None else str(test)
    params = dict(params or {})
    overrides = dict(
        params
    )  # what the caller set over the recipe: `mnistlab runs` and the leaderboard show it
    if spec.kind == "torch":
        from mnistlab.training import distributed

        if (
            not distributed.is_writer()
        ):  # a process of a torchrun job other than rank 0: it trains, rank 0 speaks and saves
            verbose, out = 0, None
        params.setdefault("verbose", verbose)
        if "validation_split" not in spec.defaults:
            params.setdefault("validation_split", validation_fraction)
        if seed is not None:
            params["seed"] = seed
    models.create(
        model, kind_of(data), force_flip=force_flip, **params
    )  # bad parameters fail before data is read
    check_train_test(data, test, test_fraction, preprocess)
    claim = runs.claim_folder(out, overwrite) if out is not None else contextlib.nullcontext()
    with claim:  # held until the run is saved: a second training into `out` meanwhile fails at once
        if out is not None and spec.kind == "sklearn":
            _check_signing_key()  # needed to save the run: a read-only home fails now, not after training
        parts = datasets.train_and_test(
            data, test, test_fraction, classes, seed or 0, limit, preprocess, label_column, drop_columns
        )
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
            "overrides": overrides,
        }
        if spec.kind == "torch":  # what the recipe resolved for this data: epochs rise on small data
            metrics.update(epochs=estimator.epochs_, optimizer_steps=estimator.steps_)
        metrics.update(split_metrics(estimator, held_out))
        metrics.update(runs.interruption(estimator))
        log.info(
            "%s on %s: test accuracy %.4f (trained in %.1f s)", model, data, metrics["test_accuracy"], seconds
        )
        history = getattr(estimator, "history_", [])
        if out is not None:
            save_args = {
                "model": model,
                "data": data,
                "classes": train.classes,
                "seed": seed,
                "metrics": metrics,
                "data_source": parts.provenance,
                # predict and the web app hand the model images in its training data's polarity
                "ink": datasets.ink_profile(train.images).to_dict(),
            }
            try:
                runs.save(out, estimator, **save_args)
            except RunError as exc:
                raise _kept_elsewhere(exc, Path(out), estimator, save_args) from None
        steps = getattr(estimator, "step_history_", [])
        return runs.Run(
            Path(out) if out else Path(), estimator, {"data": data, "model": model}, history, metrics, steps
        )


def _kept_elsewhere(error: RunError, out: Path, estimator, save_args: dict) -> RunNotSavedError:
    """The run could not be saved in ``out`` (a full disk, a file-size limit, a read-only folder): save it in a
    folder of its own under the temporary folder, else under mnistlab's home, and say where; when neither
    takes it, say so, with the model kept on the error for Python callers."""
    from mnistlab.datasets import data_home

    name = f"mnistlab-unsaved-{runs.side_evaluation_name(out.name or 'run')}-{secrets.token_hex(3)}"
    tried = []
    for place in (Path(tempfile.gettempdir()), data_home() / "unsaved-runs"):
        try:
            saved = runs.save(place / name, estimator, **save_args)
        except (RunError, OSError):
            tried.append(str(place / name))
            if place.name == "unsaved-runs":
                with contextlib.suppress(OSError):
                    place.rmdir()  # made for this run only, if nothing else is kept there
            continue
        return RunNotSavedError(
            f"{error}; the trained model was saved instead in {saved} (a complete run folder: use it from "
            f"there, or move its files into {out} once there is room)",
            estimator,
            saved,
            save_args,
        )
    return RunNotSavedError(
        f"{error}; it could not be saved elsewhere either ({', '.join(tried)}): free some space and train again "
        "(from Python, the error's `estimator` holds the trained model: "
        "runs.save(path, error.estimator, **error.save_args))",
        estimator,
        None,
        save_args,
    )


def _check_signing_key() -> None:
    from mnistlab.runs import signing_key

    try:
        signing_key()
    except OSError as exc:
        from mnistlab.datasets import data_home
        from mnistlab.errors import RunError

        raise RunError(
            f"{data_home() / 'keys'}: cannot create this machine's key for signing scikit-learn runs "
            f"({exc.strerror or exc}); set MNISTLAB_HOME to a writable folder"
        ) from None


def _split_note(estimator, parts: datasets.TrainTest) -> dict:
    """Which data each number of metrics.json and history.json comes from."""
    fraction = getattr(estimator, "validation_split", 0) or 0
    held_out = f", less {fraction:g} held out for validation" if fraction else ""
    return {
        "train": f"{parts.provenance['train']['spec']}{held_out}",
        "validation": f"{fraction:g} of the training data, stratified (history.json val_*)"
        if fraction
        else None,
        "test": f"{parts.provenance['test']['split']} (test_accuracy, test_loss), used once after training",
    }


def split_metrics(estimator, test: datasets.Dataset) -> dict:
    """Accuracy and, where the model gives probabilities, the mean cross-entropy on a labelled split.

    Parameters
    ----------
    estimator : fitted estimator
        Its labels are the split's class indices.
    test : Dataset
        A labelled split.

    Returns
    -------
    dict
        ``test_accuracy``, and ``test_loss`` for a model with ``predict_proba``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> test = datasets.Dataset(np.zeros((4, 28, 28), np.uint8), np.array([0, 0, 0, 1]), ["a", "b"])
    >>> model = DummyClassifier().fit(test.images.reshape(4, -1), test.labels)
    >>> split_metrics(model, test)["test_accuracy"]
    0.75
    """
    evaluation = evaluate_estimator(estimator, test.images, test.labels, test.classes)
    metrics = {"test_accuracy": evaluation.accuracy}
    if evaluation.proba is not None:
        metrics["test_loss"] = evaluation.log_loss
    return metrics
