"""A workflow's training and test data: a test file, a stratified hold-out of the training data, or a registered
set's test split, each with where it came from (what a run records so that its test data can be rebuilt).

Examples
--------
>>> limited_test_size(600)
100
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab.datasets.dataset import Dataset, train_val_split
from mnistlab.datasets.loading import check_limit, first
from mnistlab.datasets.preprocess import check_preprocess
from mnistlab.datasets.sources import Source, fingerprint, images_only, read_source, resolve, with_columns
from mnistlab.errors import DataFormatError, ParameterError


def split_off_test(dataset: Dataset, fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
    """A stratified, seeded hold-out of ``fraction`` of the rows as test data (the Kaggle tutorial's 80/20)."""
    train, test = train_val_split(dataset, fraction, seed, parameter="test_fraction")
    return train, dataclasses.replace(test, split="test")


@dataclass(frozen=True)
class TrainTest:
    """Training and test data of one workflow, and where each came from (what a run folder records)."""

    train: Dataset
    test: Dataset
    provenance: dict


def train_and_test(
    data: str | Path,
    test: str | Path | None = None,
    test_fraction: float | None = None,
    classes=None,
    seed: int = 0,
    limit: int | None = None,
    preprocess: str = "none",
    label_column: str | None = None,
    drop_columns: Sequence[str] | None = None,
) -> TrainTest:
    """The training data of a workflow and its test data, with where each came from.

    Parameters
    ----------
    data : str or Path
        A registered data set, a name given with :func:`register`, or a file or folder.
    test : str or Path, optional
        A file or folder of test data.
    test_fraction : float, optional
        Without ``test``: the stratified share of ``data`` held out as test data, with ``seed``. Without
        either, a registered data set's test split.
    classes : sequence of str, optional
        Class names, for files that carry only label indices; train and test must agree on them.
    seed : int
        Seed of the ``test_fraction`` hold-out.
    limit : int, optional
        Keep the first N training and N // 6 test images (quick runs); the provenance still describes the
        whole data.
    preprocess : {"none", "mnist", "resize"}
        How the images of image folders (training and test) become 28x28.
    label_column, drop_columns : optional
        The label column and the columns to leave out of CSV files (training and test): see
        :func:`~mnistlab.datasets.from_csv`.

    Returns
    -------
    TrainTest
        ``train``, ``test`` and ``provenance`` (source, split rule and content sha256 of each part: what a
        run records so that its test data can be rebuilt, or refused if changed).

    Examples
    --------
    >>> parts = train_and_test("mnist")  # doctest: +SKIP
    >>> len(parts.train), len(parts.test), parts.provenance["test"]["split"]  # doctest: +SKIP
    (60000, 10000, 'registered test split')
    """
    check_limit(limit)
    source, test_source = _sources(data, test, test_fraction, preprocess)  # test data comes from elsewhere
    source, test_source = _csv_columns(source, test_source, label_column, drop_columns)
    everything = _labelled(read_source(source, "train", classes), "training")
    if test_source is not None:
        held_out = _labelled(_same_classes(everything, read_source(test_source, "test", classes)), "test")
        train, split = everything, f"file {test}"
    elif test_fraction is not None:
        train, held_out = split_off_test(everything, test_fraction, seed)
        test_source, split = source, f"{test_fraction:g} of {data} held out (stratified, seed {seed})"
    else:
        test_source = source
        train, held_out, split = everything, read_source(source, "test", classes), "registered test split"
    provenance = {
        "train": _describe(source, everything),
        "test": {**_describe(test_source, held_out), "split": split, "fraction": test_fraction, "seed": seed},
    }
    if limit is None:
        return TrainTest(train, held_out, provenance)
    limited = first(train, limit), first(held_out, limited_test_size(limit))
    return TrainTest(*limited, {**provenance, "limit": limit})


def limited_test_size(limit: int) -> int:
    """How many test images a run limited to ``limit`` training images is measured on."""
    return max(limit // 6, 1)


def check_train_test(
    data: str | Path, test: str | Path | None, test_fraction: float | None, preprocess: str = "none"
) -> Source:
    """Check where training and test data come from without reading them (so a mistake fails before any work);
    returns the training source. ``preprocess`` applies to whichever of the two is an image folder (and must
    apply to one of them)."""
    return _sources(data, test, test_fraction, preprocess)[0]


def _sources(
    data: str | Path, test: str | Path | None, test_fraction: float | None, preprocess: str
) -> tuple[Source, Source | None]:
    """The training source and the test file's source (None without one), each resolved once, checked."""
    if test is not None and test_fraction is not None:
        raise ParameterError(
            "give the test data as a file (`test`) or as a fraction (`test_fraction`), not both"
        )
    if test_fraction is not None and (
        not isinstance(test_fraction, float | int) or not 0 < test_fraction < 1
    ):
        raise ParameterError("test_fraction", test_fraction, "a number between 0 and 1, e.g. 0.2")
    check_preprocess(preprocess)
    source = resolve(data)
    test_source = resolve(test) if test is not None else None
    if "images" not in {source.format, test_source and test_source.format}:
        images_only(source, preprocess)  # neither is an image folder: the error says so (none is fine)
    source, test_source = (_with_rule(s, preprocess) for s in (source, test_source))
    if test_fraction is not None and source.format == "shards":
        raise ParameterError(  # a hold-out of a shard folder would be a copy of its images in memory
            f"{data}: a shard folder is split once, when it is written: give it a test split of its own (export "
            "one into the folder), or test=PATH; test_fraction applies to data held in memory"
        )
    if test_source is None and test_fraction is None and not source.has_test_split:
        raise ParameterError(
            f"{data}: data from a file needs test data: test=PATH, or test_fraction=0.2 to hold out a "
            "share of it"
        )
    return source, test_source


def _csv_columns(
    source: Source, test_source: Source | None, label_column: str | None, drop_columns: Sequence[str] | None
) -> tuple[Source, Source | None]:
    """The CSV layout applied to whichever of training and test data is a CSV (and it must apply to one)."""
    if label_column is None and not drop_columns:
        return source, test_source
    if "csv" not in {source.format, test_source and test_source.format}:
        with_columns(source, label_column, drop_columns)  # neither is a CSV: the error says so
    parts = (
        s if s is None or s.format != "csv" else with_columns(s, label_column, drop_columns)
        for s in (source, test_source)
    )
    return next(parts), next(parts)  # type: ignore[return-value]


def _with_rule(source: Source | None, preprocess: str) -> Source | None:
    """``source`` with the rule ``preprocess`` when it is an image folder; anything else as it is."""
    return images_only(source, preprocess) if source is not None and source.format == "images" else source


def _describe(source: Source, dataset: Dataset) -> dict:
    described = {
        "spec": source.spec,
        "format": source.format,
        "preprocess": source.preprocess,
        "path": str(source.path.resolve()) if source.path else None,
        "rows": len(dataset),
        "sha256": fingerprint(dataset),
    }
    if source.label_column is not None or source.drop_columns:  # how the CSV was read, to read it again
        described.update(label_column=source.label_column, drop_columns=list(source.drop_columns))
    return described


def _labelled(dataset: Dataset, role: str) -> Dataset:
    if dataset.labels is None:
        raise DataFormatError(
            f"{dataset.source or dataset.name}: has no labels, so it cannot be {role} data "
            "(predict an unlabelled file instead: serve.predict_submission, or mnistlab predict RUN --csv FILE)"
        )
    return dataset


def _same_classes(train: Dataset, test: Dataset) -> Dataset:
    """Test data adopts the training names when it only has indices (a CSV without metadata); named classes must
    be among the training classes (a test folder without a folder for some class is fine: its labels are
    renumbered in the training data's order)."""
    indices = [str(i) for i in range(len(test.classes))]
    if test.classes == train.classes:
        return test
    if test.classes != indices and set(test.classes) <= set(train.classes) and test.labels is not None:
        order = np.array([train.classes.index(name) for name in test.classes], np.int64)
        return dataclasses.replace(test, labels=order[test.labels], classes=train.classes)
    if test.classes == indices[: len(test.classes)] and (
        test.labels is None or test.labels.max(initial=0) < train.n_classes
    ):
        return dataclasses.replace(test, classes=train.classes, kind=train.kind)
    raise DataFormatError(
        f"{test.source}: its classes {test.classes[:12]} differ from the training data's {train.classes[:12]}"
    )
