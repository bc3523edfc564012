"""Where data comes from: the one resolver that turns what a user typed (a registered name, a name of the user's
registry, or a path) into a :class:`Source`, and the reader of a source's data.

The ways in built on it: :func:`~mnistlab.datasets.load` and :func:`~mnistlab.datasets.load_splits`
(``loading``), :func:`~mnistlab.datasets.train_and_test` (``splits``), :func:`~mnistlab.datasets.register`
(``naming``).

Examples
--------
>>> resolve("mnist").format
'registered'
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab.datasets import files, shards
from mnistlab.datasets.dataset import Dataset, class_list
from mnistlab.datasets.preprocess import check_preprocess
from mnistlab.datasets.registered import load_registered
from mnistlab.datasets.registry import REGISTRY
from mnistlab.datasets.user_registry import is_user_name, user_datasets, user_registry_path
from mnistlab.errors import DataFormatError, DataNotAvailableError, ParameterError
from mnistlab.fileio import open_regular

ACCEPTED = (
    "a registered data set ({names}), a Kaggle-layout .csv file, an image folder (one sub-folder per class, or "
    "a labels.csv manifest), an IDX images file (its labels file beside it), an .npz file, or a name given with "
    "datasets.register"
)


@dataclass(frozen=True)
class Source:
    """One place data comes from: a registered name, or a file or folder (``format``: csv, images, idx, npz)."""

    spec: str
    format: str
    path: Path | None = None
    preprocess: str = "none"  # how images of an image folder become 28x28 (datasets.preprocess.PREPROCESSING)
    label_column: str | None = None  # a CSV's label column (datasets.csvfile.read_csv_table)
    drop_columns: tuple[str, ...] = ()  # a CSV's columns to leave out

    @property
    def registered(self) -> bool:
        """Built in (the registry), with train and test splits of its own."""
        return self.format == "registered"

    @property
    def has_test_split(self) -> bool:
        if self.format == "shards":
            return "test" in shards.split_names(self.path)
        return self.registered or (self.format == "user" and "test" in user_datasets()[self.spec])


def resolve(
    spec: str | Path,
    preprocess: str = "none",
    label_column: str | None = None,
    drop_columns: Sequence[str] | None = None,
) -> Source:
    """Decide what ``spec`` names; a clear error lists what is accepted when it is neither a name nor a file.
    ``preprocess`` (a rule of :data:`~mnistlab.datasets.preprocess.PREPROCESSING`) applies to image folders only,
    ``label_column`` and ``drop_columns`` (:func:`~mnistlab.datasets.csvfile.read_csv_table`) to CSV files only."""
    return with_columns(_resolve(spec, preprocess), label_column, drop_columns)


def with_columns(source: Source, label_column: str | None, drop_columns: Sequence[str] | None) -> Source:
    if label_column is None and not drop_columns:
        return source
    if source.format != "csv":
        given = "label_column" if label_column is not None else "drop_columns"
        raise ParameterError(f"`{given}` applies to CSV files; {source.spec} is {source.format} data")
    # A string is a comma-separated list (as read_csv_table and --drop-columns take it), never its characters.
    names = drop_columns.split(",") if isinstance(drop_columns, str) else drop_columns or ()
    drop = tuple(name for name in (str(n).strip() for n in names) if name)
    return dataclasses.replace(source, label_column=label_column, drop_columns=drop)


def _resolve(spec: str | Path, preprocess: str) -> Source:
    text = str(spec)
    check_preprocess(preprocess)
    if text in REGISTRY:
        return images_only(Source(text, "registered"), preprocess)
    if is_user_name(text) and text in (users := user_datasets()):  # "./x.csv" is no name: registry unread
        return images_only(Source(text, "user", _user_path(users[text]["train"])), preprocess)
    return images_only(path_source(text), preprocess)


def path_source(text: str) -> Source:
    """A file or folder (never a name: a registry entry's path that says "mnist" or its own name is a path)."""
    path = Path(text).expanduser()
    if not path.exists():
        close = difflib.get_close_matches(text, list(REGISTRY), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise DataNotAvailableError(
            f"{text}: no registered data set of that name and no such file or folder; expected "
            f"{ACCEPTED.format(names=', '.join(REGISTRY))}.{hint}"
        )
    return Source(text, _format_of(path), path)


def _user_path(recorded: str) -> Path:
    """A path recorded in the user's registry: absolute as :func:`register` writes it; a relative one (written
    by hand) is relative to the registry's own folder, never to wherever a command happens to run."""
    path = Path(recorded).expanduser()
    return path if path.is_absolute() else user_registry_path().parent / path


def images_only(source: Source, preprocess: str) -> Source:
    if preprocess == "none":
        return source
    if source.format != "images":
        raise ParameterError(
            f"preprocess={preprocess!r} applies to image folders; {source.spec} is {source.format} data, "
            "already 28x28"
        )
    return dataclasses.replace(source, preprocess=preprocess)


def _format_of(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir():
        return "shards" if shards.is_shard_folder(path) else "images"
    if name.endswith(".npz"):
        return "npz"
    if "idx3" in name:
        return "idx"
    if name.endswith(".csv"):
        with open_regular(path, "a CSV file") as f:
            first = f.read(64).lstrip(b"\xef\xbb\xbf").lower()
        return "images" if first.startswith(b"filename") else "csv"  # a manifest names image files
    raise DataFormatError(
        f"{path}: cannot tell what data this file holds; expected {ACCEPTED.format(names=', '.join(REGISTRY))}"
    )


def idx_labels_path(images: Path) -> Path:
    """The labels file beside an IDX images file, by the official naming (``...-images-idx3-ubyte`` ->
    ``...-labels-idx1-ubyte``)."""
    labels = images.with_name(images.name.replace("images-idx3", "labels-idx1").replace("idx3", "idx1"))
    if labels == images or not labels.exists():
        raise DataFormatError(f"{images}: no labels file beside it (expected {labels.name})")
    return labels


def read_source(source: Source, split: str = "train", classes=None, kind: str | None = None) -> Dataset:
    """The data of a source: a registered data set's ``split`` (or a shard folder's: its images stay on disk), or
    everything in the file or folder."""
    classes = class_list(classes)
    if source.registered:
        dataset = load_registered(source.spec, split)  # type: ignore[arg-type]
        return rename_classes(dataset, classes) if classes else dataset
    if source.format == "user":
        return _read_user_dataset(source.spec, split, classes, kind)
    path = source.path
    readers = {
        "csv": lambda: files.from_csv(
            path,
            classes,
            kind=kind,
            label_column=source.label_column,
            drop_columns=source.drop_columns or None,
        ),
        "images": lambda: files.from_image_folder(path, classes, source.preprocess, kind=kind),
        "idx": lambda: files.from_idx(path, idx_labels_path(path), classes, kind=kind),
        "npz": lambda: files.from_npz(path, kind=kind),
        "shards": lambda: shards.load_split(path, split, kind=kind),
    }
    dataset = readers[source.format]()
    return rename_classes(dataset, classes) if classes and source.format == "npz" else dataset


def _read_user_dataset(name: str, split: str, classes, kind: str | None) -> Dataset:
    entry = user_datasets()[name]
    role = "test" if split == "test" and "test" in entry else "train"
    if split == "test" and "test" not in entry:
        raise ParameterError(f"{name}: registered without test data; give test=PATH or test_fraction=0.2")
    dataset = read_source(
        path_source(str(_user_path(entry[role]))),
        role,
        classes or entry.get("classes"),
        kind or entry.get("kind"),
    )
    recorded = entry.get(f"{role}_sha256")
    if recorded and fingerprint(dataset) != recorded:
        raise DataFormatError(
            f"{entry[role]}: its content changed since it was registered as {name!r} "
            f"({user_registry_path()}); register it again if the change is meant"
        )
    return dataclasses.replace(dataset, name=name, split=split)


def rename_classes(dataset: Dataset, classes) -> Dataset:
    """The same data with other class names (as many as before)."""
    classes = list(classes)
    if len(classes) < dataset.n_classes:
        raise ParameterError(
            f"{len(classes)} class names given, but {dataset.source or dataset.name} has "
            f"{dataset.n_classes} classes"
        )
    return dataclasses.replace(dataset, classes=classes)


def fingerprint(dataset: Dataset) -> str:
    """sha256 of the data's content (images, then labels): the same whatever file format carried it (a shard
    folder's images are hashed shard by shard, never loaded whole)."""
    digest = hashlib.sha256()
    if getattr(dataset.images, "is_streamed", False):
        for images in dataset.images.in_order(shards.MAX_SHARD_ROWS):
            digest.update(np.ascontiguousarray(images).data)
    else:
        digest.update(np.ascontiguousarray(dataset.images).data)
    if dataset.labels is not None:
        digest.update(np.ascontiguousarray(dataset.labels, dtype=np.int64).data)
    return digest.hexdigest()
