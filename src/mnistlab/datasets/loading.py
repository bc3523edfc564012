"""Loading data by what a user typed: one split (:func:`load`), every split (:func:`load_splits`), and the
small rules every caller of them shares (a limit on the rows, the kind of a registered set).

Examples
--------
>>> kind_of("fashion-mnist-kaggle"), kind_of("mnist")
('objects', 'digits')
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mnistlab.datasets import shards
from mnistlab.datasets.dataset import Dataset
from mnistlab.datasets.registry import get_info
from mnistlab.datasets.sources import read_source, resolve
from mnistlab.params import integer, validates


def load_splits(
    spec: str | Path, classes=None, label_column: str | None = None, drop_columns: Sequence[str] | None = None
) -> dict[str, Dataset]:
    """Every split of a registered data set, or the one data set a file or folder holds (under its split name).

    Parameters
    ----------
    spec : str or Path
        A registered name, a name given with :func:`register`, or a file or folder.
    classes : sequence of str, optional
        New class names, in label order.
    label_column, drop_columns : optional
        A CSV file's label column and the columns to leave out (:func:`~mnistlab.datasets.from_csv`).

    Returns
    -------
    dict of str to Dataset
        ``{"train": ..., "test": ...}`` for registered data.

    Examples
    --------
    >>> list(load_splits("mnist"))  # doctest: +SKIP
    ['train', 'test']
    """
    source = resolve(spec, label_column=label_column, drop_columns=drop_columns)
    if source.registered:
        return {split: read_source(source, split, classes) for split in get_info(source.spec).split_sizes}
    splits = ("train", "test") if source.has_test_split else ("train",)
    if source.format == "user":
        return {split: read_source(source, split, classes) for split in splits}
    if source.format == "shards":  # a shard folder holds every split written into it
        return {split: read_source(source, split, classes) for split in shards.split_names(source.path)}
    dataset = read_source(source, classes=classes)
    return {dataset.split: dataset}


def load(
    spec: str | Path,
    split: str = "train",
    classes=None,
    limit: int | None = None,
    preprocess: str = "none",
    label_column: str | None = None,
    drop_columns: Sequence[str] | None = None,
) -> Dataset:
    """One split of data, fetched and verified on first use.

    Parameters
    ----------
    spec : str or Path
        A registered name (``available()``: ``"mnist"``, ``"fashion-mnist-kaggle"``, ``"fashion-mnist"``), a
        name given with :func:`register`, or a file or folder (a Kaggle-layout CSV, an image folder, an IDX
        images file, an ``.npz``), which holds one split.
    split : str
        ``"train"`` or ``"test"`` for registered data; ignored for a file or folder.
    classes : sequence of str, optional
        New class names, in label order.
    limit : int, optional
        Keep the first N images (quick runs).
    preprocess : {"none", "mnist", "resize"}
        How an image folder's images become 28x28 (:mod:`mnistlab.datasets.preprocess`).
    label_column, drop_columns : optional
        A CSV file's label column and the columns to leave out (:func:`~mnistlab.datasets.from_csv`).

    Returns
    -------
    Dataset
        ``images`` (N, 28, 28) uint8, ``labels`` (N,) int64 or None, ``classes``, ``kind``, ``name``, ``split``.

    Raises
    ------
    DataNotAvailableError
        When no mirror answers (or ``MNISTLAB_OFFLINE=1`` and the file is not cached), naming the folder to
        put the files in.
    ChecksumError
        When a downloaded or cached file does not match its recorded sha256.

    Examples
    --------
    >>> train = load("fashion-mnist-kaggle", split="train")  # doctest: +SKIP
    >>> train.classes[0], train.labels[:3].tolist()  # doctest: +SKIP
    ('T-shirt/top', [0, 1, 2])
    """
    check_limit(limit)
    return first(read_source(resolve(spec, preprocess, label_column, drop_columns), split, classes), limit)


@validates("options", limit=integer(low=1, none=True))
def check_limit(limit: int | None) -> None:
    """Refuse a ``limit`` that is not a whole number >= 1 or None (the rule is the decorator's)."""


def first(dataset: Dataset, limit: int | None) -> Dataset:
    """The first ``limit`` images of ``dataset`` (all of them for None)."""
    return dataset if limit is None else dataset.subset(slice(0, limit))


def kind_of(spec: str | Path) -> str | None:
    """The kind of a registered data set, known before its data is read (files tell theirs when read)."""
    source = resolve(spec)
    return get_info(source.spec).kind if source.registered else None
