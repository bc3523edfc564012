"""The data a run was trained and measured on, rebuilt from what its ``config.json`` recorded (the same files,
fraction, seed and limit), and refused when its content has changed since."""

from __future__ import annotations

from mnistlab import datasets
from mnistlab.datasets import first, limited_test_size
from mnistlab.errors import DataFormatError, MnistlabError, ParameterError, RunError
from mnistlab.runs.folder import CONFIG, Run


def recorded_parts(run: Run) -> datasets.TrainTest:
    """The whole training and test data a run recorded (before any ``limit``), rebuilt from their sources."""
    recorded = run.config["data_source"]
    train, test = recorded["train"], recorded["test"]
    test_file = None if test["fraction"] is not None or test["spec"] == train["spec"] else test["spec"]
    rules = {part.get("preprocess", "none") for part in (train, test)} - {"none"}
    # How a CSV was read (recorded only when given): the same columns again, whichever part was the CSV.
    label_column = train.get("label_column") or test.get("label_column")
    drop_columns = train.get("drop_columns") or test.get("drop_columns") or None
    return datasets.train_and_test(
        train["spec"],
        test_file,
        test["fraction"],
        run.config["classes"],
        test["seed"],
        preprocess=rules.pop() if rules else "none",
        label_column=label_column,
        drop_columns=drop_columns,
    )


def test_data(
    run: Run,
    test: str | None = None,
    preprocess: str = "none",
    label_column: str | None = None,
    drop_columns: list[str] | None = None,
) -> datasets.Dataset:
    """The data to evaluate a run on: ``test`` (any labelled file of the same classes; an image folder's images
    made 28x28 by the rule ``preprocess``; a CSV's columns read by ``label_column`` and ``drop_columns``), or what
    the run recorded, refused if its content has changed.

    Examples
    --------
    >>> test = test_data(load_run("runs/cnn-mnist"))  # doctest: +SKIP
    """
    classes = run.config["classes"]
    recorded = run.config.get("data_source")
    if test is None and preprocess != "none":
        raise ParameterError(
            f"preprocess={preprocess!r} applies to image folders given as `test`; the run's own data is read "
            "with the rule it recorded"
        )
    if test is None and (label_column is not None or drop_columns):
        raise ParameterError(
            "label_column and drop_columns apply to a CSV given as `test`; the run's own data is read the way "
            "it recorded"
        )
    if test is not None:
        dataset = datasets.load(
            test, "test", classes, preprocess=preprocess, label_column=label_column, drop_columns=drop_columns
        )
    elif recorded is None:  # runs saved before data sources were recorded: registered data only
        dataset = datasets.load(run.config["data"], "test")
    else:
        source = recorded["test"]
        parts = _recorded_parts_named(run)
        limit = recorded.get("limit")
        dataset = parts.test if limit is None else first(parts.test, limited_test_size(limit))
        if datasets.fingerprint(parts.test) != source["sha256"]:
            raise DataFormatError(
                f"{source['spec']}: its test data changed since {run.path} was trained (sha256 "
                f"{datasets.fingerprint(parts.test)[:12]}... now, {source['sha256'][:12]}... "
                "then); evaluate it on a file explicitly (test=PATH)"
            )
    if dataset.labels is None:
        raise DataFormatError(
            f"{dataset.source}: has no labels, so it cannot be scored; predict it with "
            f"serve.predict_submission, or mnistlab predict {run.path} --csv FILE"
        )
    known = {classes[int(k)] for k in run.config["classes_"] if str(k).isdigit()}
    unknown = sorted({dataset.classes[k] for k in set(dataset.labels.tolist())} - known)
    if unknown:
        raise DataFormatError(
            f"{dataset.source or dataset.name}: class {unknown[0]!r} never appeared in training; "
            f"the model knows {', '.join(classes)}"
        )
    return dataset


def training_data(run: Run) -> datasets.Dataset:
    """The training data a run was trained on (the registered training split for runs that predate provenance)."""
    recorded = run.config.get("data_source")
    if recorded is None:
        return datasets.load(run.config["data"], "train")
    return first(_recorded_parts_named(run).train, recorded.get("limit"))


def _recorded_parts_named(run: Run) -> datasets.TrainTest:
    """:func:`recorded_parts`, a failure saying it is the data the run's ``config.json`` recorded (moved, renamed,
    or a record edited by hand)."""
    try:
        return recorded_parts(run)
    except MnistlabError as exc:
        raise RunError(
            f"{run.path / CONFIG}: the data_source it records cannot be read again: {exc}"
        ) from None
