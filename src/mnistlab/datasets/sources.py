"""Where data comes from: one resolver that turns what a user typed (a registered name or a path) into data sets,
and the split and fingerprint rules every workflow shares.

Three ways in, one per need: :func:`load` (one split of a name or a path), :func:`load_splits` (every split of
it) and :func:`train_and_test` (a workflow's training and test data, with where each came from).

Examples
--------
>>> resolve("mnist").format
'registered'
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab.datasets import files
from mnistlab.datasets.dataset import KINDS, Dataset, check_class_names, class_list, train_val_split
from mnistlab.datasets.preprocess import check_preprocess
from mnistlab.datasets.registered import load_registered
from mnistlab.datasets.registry import REGISTRY, get_info
from mnistlab.errors import DataFormatError, DataNotAvailableError, ParameterError
from mnistlab.fileio import MAX_TEXT_BYTES, open_regular, read_bounded

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
    return _with_columns(_resolve(spec, preprocess), label_column, drop_columns)


def _with_columns(source: Source, label_column: str | None, drop_columns: Sequence[str] | None) -> Source:
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
        return _images_only(Source(text, "registered"), preprocess)
    if _is_user_name(text) and text in (users := user_datasets()):  # "./x.csv" is no name: registry unread
        return _images_only(Source(text, "user", _user_path(users[text]["train"])), preprocess)
    return _images_only(_path_source(text), preprocess)


def _path_source(text: str) -> Source:
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


def _images_only(source: Source, preprocess: str) -> Source:
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
        return "images"
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
    """The data of a source: a registered data set's ``split``, or everything in the file or folder."""
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
    }
    dataset = readers[source.format]()
    return rename_classes(dataset, classes) if classes and source.format == "npz" else dataset


def _read_user_dataset(name: str, split: str, classes, kind: str | None) -> Dataset:
    entry = user_datasets()[name]
    role = "test" if split == "test" and "test" in entry else "train"
    if split == "test" and "test" not in entry:
        raise ParameterError(f"{name}: registered without test data; give test=PATH or test_fraction=0.2")
    dataset = read_source(
        _path_source(str(_user_path(entry[role]))),
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


def check_limit(limit: int | None) -> None:
    from mnistlab.params import check_params, integer

    check_params("options", {"limit": limit}, {"limit": integer(low=1, none=True)})


def first(dataset: Dataset, limit: int | None) -> Dataset:
    """The first ``limit`` images of ``dataset`` (all of them for None)."""
    return dataset if limit is None else dataset.subset(slice(0, limit))


def kind_of(spec: str | Path) -> str | None:
    """The kind of a registered data set, known before its data is read (files tell theirs when read)."""
    source = resolve(spec)
    return get_info(source.spec).kind if source.registered else None


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
    """sha256 of the data's content (images, then labels): the same whatever file format carried it."""
    digest = hashlib.sha256(np.ascontiguousarray(dataset.images).data)
    if dataset.labels is not None:
        digest.update(np.ascontiguousarray(dataset.labels, dtype=np.int64).data)
    return digest.hexdigest()


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
        _images_only(source, preprocess)  # neither is an image folder: the error says so (none is fine)
    source, test_source = (_with_rule(s, preprocess) for s in (source, test_source))
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
        _with_columns(source, label_column, drop_columns)  # neither is a CSV: the error says so
    parts = (
        s if s is None or s.format != "csv" else _with_columns(s, label_column, drop_columns)
        for s in (source, test_source)
    )
    return next(parts), next(parts)  # type: ignore[return-value]


def _with_rule(source: Source | None, preprocess: str) -> Source | None:
    """``source`` with the rule ``preprocess`` when it is an image folder; anything else as it is."""
    return _images_only(source, preprocess) if source is not None and source.format == "images" else source


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


USER_REGISTRY = "datasets.toml"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def user_registry_path() -> Path:
    """``$MNISTLAB_HOME/datasets.toml``: the data sets a user named with :func:`register`."""
    from mnistlab.datasets.cache import data_home

    return data_home() / USER_REGISTRY


def user_datasets() -> dict[str, dict]:
    """The entries of the user's registry file (empty when there is none), each field checked.

    The file is read only when it is a regular file (a link to one is fine): a FIFO, a device, a folder or a
    dangling link there is refused, never read as "no registry" (which :func:`register` would then overwrite).
    Every problem is one :class:`~mnistlab.errors.DataFormatError` naming the file, the entry and the field.

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"MNISTLAB_HOME": tempfile.mkdtemp()}):
    ...     _ = user_registry_path().write_text('[datasets.mine]\\ntrain = 5\\n')
    ...     user_datasets()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mnistlab.errors.DataFormatError: .../datasets.toml: [datasets.mine] train = 5: expected a path (text in quotes)
    """
    import tomllib

    path = user_registry_path()
    if not os.path.lexists(path):
        return {}
    if path.is_symlink() and not path.exists():
        raise DataFormatError(
            f"{path}: a link to {os.readlink(path)}, which does not exist; expected a data set registry"
        )
    try:
        text = read_bounded(path, "a data set registry (TOML)", MAX_TEXT_BYTES).decode(
            "utf-8-sig"
        )  # BOM: Notepad
        document = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise DataFormatError(f"{path}: not valid TOML ({str(exc)[:200] or 'nested too deeply'})") from None
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return _checked_registry(document, path)


_ENTRY_FIELDS = ("train", "test", "classes", "kind", "train_sha256", "test_sha256")


def _checked_registry(document: dict, path: Path) -> dict[str, dict]:
    """The ``[datasets.NAME]`` tables of a parsed registry, refused at the first field of the wrong type."""
    other = [key for key in document if key != "datasets"]
    if other:  # a typo ([dataset.x]) would otherwise read as an empty registry, then be overwritten
        raise DataFormatError(f"{path}: unknown table {other[0]!r}; expected [datasets.NAME] tables only")
    entries = document.get("datasets", {})
    if not isinstance(entries, dict):
        raise DataFormatError(
            f"{path}: 'datasets' must hold [datasets.NAME] tables, got {_toml_type(entries)}"
        )
    for name, entry in entries.items():
        where = f"{path}: [datasets.{_shown_name(name)}]"
        if not _is_user_name(name):
            raise DataFormatError(f"{where}: {_NAME_RULE}")
        if not isinstance(entry, dict):
            raise DataFormatError(f"{where}: expected a table with train = 'PATH', got {_toml_type(entry)}")
        _check_entry(entry, where)
    return entries


def _check_entry(entry: dict, where: str) -> None:
    unknown = [key for key in entry if key not in _ENTRY_FIELDS]
    if unknown:
        raise DataFormatError(f"{where}: unknown field {unknown[0]!r}; expected {', '.join(_ENTRY_FIELDS)}")
    if "train" not in entry:
        raise DataFormatError(f"{where}: no train field; expected train = 'PATH'")
    for role in ("train", "test"):
        value = entry.get(role, "")
        if role in entry and (not isinstance(value, str) or not value.strip()):
            raise DataFormatError(f"{where} {role} = {_shown(value)}: expected a path (text in quotes)")
        checksum = entry.get(f"{role}_sha256", "0" * 64)
        if not (
            isinstance(checksum, str) and len(checksum) == 64 and set(checksum) <= set("0123456789abcdef")
        ):
            raise DataFormatError(
                f"{where} {role}_sha256 = {_shown(checksum)}: expected 64 lowercase hex digits (a sha256)"
            )
    classes = entry.get("classes", [])
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise DataFormatError(
            f"{where} classes = {_shown(classes)}: expected a list of class names in label order, "
            'e.g. classes = ["cat", "dog"]'
        )
    if "classes" in entry:
        check_class_names(classes, f"{where} classes")
    if "kind" in entry and entry["kind"] not in KINDS:
        raise DataFormatError(
            f"{where} kind = {_shown(entry['kind'])}: expected one of {', '.join(map(repr, KINDS))}"
        )


def _shown(value) -> str:
    """A TOML value as the message shows it: text quoted (repr escapes anything unprintable), at most 60 chars."""
    text = (
        str(value).lower()
        if isinstance(value, bool)
        else repr(value)
        if isinstance(value, str | list)
        else str(value)
    )
    return text if len(text) <= 60 else text[:57] + "..."


def _toml_type(value) -> str:
    named = {
        dict: "a table",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
    }
    return named.get(type(value), "a date or time")


def _shown_name(name: str) -> str:
    """An entry's name as a message shows it: quoted only when it is not a plain name."""
    return name if name and set(name) <= _NAME_CHARS else _toml_string(name)


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string: quotes, backslashes and every control character escaped (JSON's
    escapes are not all TOML: a surrogate pair is refused by TOML readers)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif unicodedata.category(char) == "Cc":
            out.append(f"\\u{ord(char):04X}")
        elif unicodedata.category(char) == "Cs":  # a file name that is not text (undecodable bytes)
            raise ParameterError(f"{text!a}: not a name TOML can record (not valid Unicode text)")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_string(str(value))


def _is_user_name(name: str) -> bool:
    return bool(name) and name not in REGISTRY and set(name) <= _NAME_CHARS


_NAME_RULE = "expected lowercase letters, digits, '-', '_' or '.', and not a built-in name ({})".format(
    ", ".join(REGISTRY)
)


def register(
    name: str, train: str | Path, test: str | Path | None = None, classes=None, kind: str | None = None
) -> dict:
    """Name your own data once, then use the name everywhere a registered data set is accepted.

    The entry goes into ``$MNISTLAB_HOME/datasets.toml``; the content sha256 of each file is recorded and
    checked whenever it is read, so a file changed since is refused.

    Parameters
    ----------
    name : str
        The new name (not one of the registered data sets).
    train : str or Path
        The training data: a Kaggle-layout CSV, an image folder, an IDX images file or an ``.npz``.
    test : str or Path, optional
        The test data, in any of those forms.
    classes : sequence of str, optional
        Class names in label order, for files that carry only indices.
    kind : {"digits", "objects"}, optional
        What the classes are (flips are refused on digits).

    Returns
    -------
    dict
        The entry written: files with their sha256, classes, kind.

    Examples
    --------
    >>> register("my-digits", "data/train.csv", test="data/test.csv")  # doctest: +SKIP
    >>> train_and_test("my-digits").test.source  # doctest: +SKIP
    'data/test.csv'
    """
    if not isinstance(name, str) or not _is_user_name(name):
        raise ParameterError(f"data set name {name!r}: {_NAME_RULE}")
    class_list(classes)
    if kind is not None and kind not in KINDS:
        raise ParameterError("kind", kind, f"one of {', '.join(map(repr, KINDS))} (or None)")
    user_datasets()  # a damaged registry is refused before any data is read, and never overwritten
    entry: dict = {"train": str(Path(train).resolve())}
    if test is not None:
        entry["test"] = str(Path(test).resolve())
    if classes is not None:
        entry["classes"] = check_class_names(classes, "classes")
    if kind is not None:
        entry["kind"] = kind
    for role in ("train", "test"):  # read once: checks the files and records what they hold
        if role in entry:
            dataset = read_source(_path_source(entry[role]), role, entry.get("classes"), kind)
            entry[f"{role}_sha256"] = fingerprint(dataset)
    from filelock import FileLock, Timeout

    lock = user_registry_path().with_name(f".{USER_REGISTRY}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:  # read again under the lock: two registrations at once both keep their entry
        with FileLock(str(lock), timeout=60):
            _write_user_registry({**user_datasets(), name: entry})
    except Timeout:
        raise DataNotAvailableError(f"{lock}: another process holds the registry's lock; try again") from None
    return entry


def _write_user_registry(entries: dict[str, dict]) -> None:
    """Write the registry atomically; through a link to a regular file (a dotfiles folder), so the link stays.
    The text is read back before it replaces the file: what cannot be read back is never written."""
    import tomllib

    from mnistlab.fileio import atomic_write

    lines = [
        "# Data sets named with mnistlab.datasets.register(); edit with care: checksums are checked.",
        "",
    ]
    for name, entry in entries.items():
        lines.append(f"[datasets.{_toml_string(name)}]")  # quoted: a dot in a name is no sub-table
        lines += [f"{key} = {_toml_value(value)}" for key, value in entry.items()]
        lines.append("")
    text = "\n".join(lines)
    if tomllib.loads(text) != {"datasets": entries}:  # a guard: the escaping above is the only writer
        raise ParameterError("the data set registry entry cannot be written as TOML that reads back the same")
    path = user_registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path.resolve() if path.is_symlink() else path) as tmp:
        tmp.write_text(text, encoding="utf-8")
