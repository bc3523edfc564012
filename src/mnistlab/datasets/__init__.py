"""Data sets: the registry of named sets, one loader, bring-your-own readers and the writers of every format.

>>> from mnistlab import datasets
>>> datasets.available()
['mnist', 'fashion-mnist-kaggle', 'fashion-mnist']
>>> test = datasets.load("mnist", split="test")  # doctest: +SKIP
>>> test.images.shape, test.classes[:3]  # doctest: +SKIP
((10000, 28, 28), ['0', '1', '2'])
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from mnistlab.datasets.cache import FileStatus, check_file, data_home, ensure_files, read_verified, source_of
from mnistlab.datasets.csvfile import read_csv, write_csv
from mnistlab.datasets.dataset import KINDS, Dataset, index_class_names, train_val_split
from mnistlab.datasets.idx import parse_idx, read_idx, write_idx
from mnistlab.datasets.images import read_image, read_image_folder, write_image_folder
from mnistlab.datasets.npzfile import read_npz
from mnistlab.datasets.registry import SPLIT_FILES, DatasetInfo, available, get_info
from mnistlab.datasets.sources import (
    Source,
    TrainTest,
    check_train_test,
    fingerprint,
    read_source,
    register,
    resolve,
    train_and_test,
    user_datasets,
)
from mnistlab.errors import ChecksumError, DataFormatError
from mnistlab.fileio import read_json, write_json

__all__ = [
    "KINDS",
    "Dataset",
    "DatasetInfo",
    "DatasetSummary",
    "FileStatus",
    "Source",
    "TrainTest",
    "available",
    "cache_source",
    "cache_status",
    "check_train_test",
    "data_home",
    "export",
    "fetch",
    "fingerprint",
    "from_csv",
    "from_idx",
    "from_image_folder",
    "from_npz",
    "get_info",
    "is_cached",
    "load",
    "metadata_path",
    "read_image",
    "read_source",
    "register",
    "resolve",
    "splits_of",
    "summary",
    "train_and_test",
    "train_val_split",
    "user_datasets",
    "verify",
]

log = logging.getLogger("mnistlab.data")
Split = Literal["train", "test"]
EXPORT_FORMATS = ("csv", "kaggle-csv", "idx", "png", "npz")
METADATA_FILE = "dataset.json"


def fetch(name: str, home: Path | None = None) -> Path:
    """Download (or find in the cache) every file of a registered data set; returns the cache folder."""
    return ensure_files(get_info(name), home)


def load(name: str, split: Split = "train", home: Path | None = None) -> Dataset:
    """Load one split of a registered data set, fetching and verifying it on first use.

    >>> train = load("fashion-mnist-kaggle", split="train")  # doctest: +SKIP
    >>> train.classes[0], train.labels[:3].tolist()  # doctest: +SKIP
    ('T-shirt/top', [0, 1, 2])
    """
    info = get_info(name)
    if split not in SPLIT_FILES:
        raise DataFormatError(f"unknown split {split!r} of {name}; expected 'train' or 'test'")
    folder = ensure_files(info, home)
    try:
        images, labels = (_read_split_file(folder, info, file) for file in SPLIT_FILES[split])
    except ChecksumError as exc:  # changed since it was verified: fetch it again, once
        log.warning("%s; fetching it again", exc)
        for file in SPLIT_FILES[split]:
            if not check_file(folder, info.file(file), rehash=True).verified:
                (folder / file).unlink(missing_ok=True)
        folder = ensure_files(info, home)
        images, labels = (_read_split_file(folder, info, file) for file in SPLIT_FILES[split])
    return Dataset(images, labels, info.classes, name, split, source_of(folder), info.kind)


def _read_split_file(folder: Path, info: DatasetInfo, file: str) -> np.ndarray:
    return parse_idx(read_verified(folder, info.file(file)), folder / file, ndim=1 if "labels" in file else 3)


def verify(name: str, home: Path | None = None) -> dict[str, FileStatus]:
    """Re-hash every cached file of a registered data set against its checksum (``mnistlab data verify``).

    >>> all(status.verified for status in verify("mnist").values())  # doctest: +SKIP
    True
    """
    return cache_status(name, home, rehash=True)


def cache_source(name: str, home: Path | None = None) -> str:
    """Which mirror (or manual placement) supplied the cached files of a registered data set."""
    return source_of((home or data_home()) / get_info(name).name)


def cache_status(name: str, home: Path | None = None, rehash: bool = False) -> dict[str, FileStatus]:
    """``{file name: FileStatus}`` of a registered data set's cached files (``rehash`` forces a full sha256).

    >>> status = cache_status("mnist")  # doctest: +SKIP
    >>> all(s.verified for s in status.values())  # doctest: +SKIP
    True
    """
    info = get_info(name)
    folder = (home or data_home()) / info.name
    return {spec.name: check_file(folder, spec, rehash) for spec in info.files}


def is_cached(name: str, home: Path | None = None) -> bool:
    """True when every file of a registered data set is in the cache and verified."""
    return all(status.verified for status in cache_status(name, home).values())


@dataclass(frozen=True)
class DatasetSummary:
    """What ``mnistlab data info`` shows: per-split class counts, pixel statistics, content checksums, and for a
    registered data set its record, source and file checks."""

    name: str
    description: str
    classes: list[str]
    kind: str | None
    source: str
    class_counts: dict[str, list[int] | None]  # split -> images per class (None: unlabelled)
    pixel_stats: dict[str, tuple[float, float]]  # split -> (mean, std) on the 0..255 scale
    sizes: dict[str, int]
    content_sha256: dict[str, str]  # split -> sha256 of images and labels, whatever file format held them
    info: DatasetInfo | None = None
    files: dict[str, FileStatus] | None = None


def splits_of(spec: str | Path, classes=None) -> dict[str, Dataset]:
    """Every split of a registered data set, or the one data set a file or folder holds (under its split name).

    >>> list(splits_of("mnist"))  # doctest: +SKIP
    ['train', 'test']
    """
    source = resolve(spec)
    if source.registered:
        return {split: read_source(source, split, classes) for split in get_info(source.spec).split_sizes}
    splits = ("train", "test") if source.has_test_split else ("train",)
    if source.format == "user":
        return {split: read_source(source, split, classes) for split in splits}
    dataset = read_source(source, classes=classes)
    return {dataset.split: dataset}


def summary(spec: str | Path, home: Path | None = None) -> DatasetSummary:
    """Summarise a registered data set (all splits, checksums re-hashed in full) or a file or folder.

    >>> s = summary("mnist")  # doctest: +SKIP
    >>> s.sizes  # doctest: +SKIP
    {'train': 60000, 'test': 10000}
    """
    splits = splits_of(spec)
    first = next(iter(splits.values()))
    registered = resolve(spec).registered
    info = get_info(str(spec)) if registered else None
    return DatasetSummary(
        name=first.name,
        description=info.description if info else f"{first.source} ({resolve(spec).format})",
        classes=first.classes,
        kind=first.kind,
        source=cache_source(str(spec), home) if info else first.source,
        class_counts={
            s: ds.class_counts().tolist() if ds.labels is not None else None for s, ds in splits.items()
        },
        pixel_stats={split: ds.pixel_stats() for split, ds in splits.items()},
        sizes={split: len(ds) for split, ds in splits.items()},
        content_sha256={split: fingerprint(ds) for split, ds in splits.items()},
        info=info,
        files=cache_status(str(spec), home, rehash=True) if info else None,
    )


def from_csv(
    path: str | Path, classes: Sequence[str] | None = None, name: str | None = None, kind: str | None = None
) -> Dataset:
    """Read a Kaggle-layout CSV (``label,pixel0..pixel783``; header and label column optional).

    ``classes``, ``name`` and ``kind`` (digits or objects) default to those in the metadata file written by
    :func:`export` beside it (:func:`metadata_path`), else to class indices and the unknown kind.

    >>> ds = from_csv("digit-recognizer/train.csv")  # doctest: +SKIP
    """
    images, labels = read_csv(path)
    return _dataset(images, labels, Path(path), classes, name, kind)


def from_idx(
    images: str | Path,
    labels: str | Path | None = None,
    classes: Sequence[str] | None = None,
    name: str | None = None,
    kind: str | None = None,
) -> Dataset:
    """Read an IDX image file and its label file (raw or ``.gz``), as the official releases ship them."""
    image_array = read_idx(images, ndim=3)
    label_array = read_idx(labels, ndim=1) if labels is not None else None
    if label_array is not None and len(label_array) != len(image_array):
        raise DataFormatError(
            f"{labels}: {len(label_array)} labels for {len(image_array)} images in {images}"
        )
    return _dataset(image_array, label_array, Path(images), classes, name, kind)


def from_image_folder(
    path: str | Path,
    classes: Sequence[str] | None = None,
    resize: bool = False,
    name: str | None = None,
    kind: str | None = None,
) -> Dataset:
    """Read PNG/JPEG images: one sub-folder per class, or a ``filename,label`` CSV manifest (as the Kaggle Fashion-MNIST
    CNN tutorial writes them).

    RGB images are converted to grayscale; sizes other than 28x28 are refused unless ``resize=True``.
    """
    path = Path(path)
    classes = classes if classes is not None else _metadata(path).get("classes")
    images, labels, names = read_image_folder(path, classes, resize)
    return _dataset(images, labels, path, names, name, kind)


def from_npz(path: str | Path, name: str | None = None, kind: str | None = None) -> Dataset:
    """Read a ``.npz`` with ``images`` (N, 28, 28) pixels 0..255, optional ``labels`` and ``classes`` (no pickles,
    array headers checked before decompressing)."""
    path = Path(path)
    images, labels, classes = read_npz(path)
    return _dataset(images, labels, path, classes, name, kind)


def metadata_path(path: str | Path) -> Path:
    """Where the metadata of an exported file or folder lives: ``dataset.json`` beside it (in its parent).

    >>> metadata_path("exported/train.csv").as_posix(), metadata_path("exported/train").as_posix()
    ('exported/dataset.json', 'exported/dataset.json')
    """
    return Path(path).parent / METADATA_FILE


def _metadata(path: Path) -> dict:
    metadata = read_json(metadata_path(path), default={})
    if not isinstance(metadata, dict):
        raise DataFormatError(
            f"{metadata_path(path)}: expected a JSON object with name, classes, kind, splits"
        )
    return metadata


def _dataset(
    images: np.ndarray,
    labels: np.ndarray | None,
    path: Path,
    classes: Sequence[str] | None,
    name: str | None,
    kind: str | None,
) -> Dataset:
    sidecar = _metadata(path)
    if classes is None:
        classes = sidecar.get("classes")
    if classes is None:
        classes = index_class_names(labels, str(path), line_offset=_first_data_line(path))
    split = sidecar.get("splits", {}).get(path.stem if path.is_file() else path.name, path.stem)
    name = name or sidecar.get("name") or path.stem
    return Dataset(images, labels, list(classes), name, split, str(path), kind or sidecar.get("kind"))


def _write_kaggle_csv(dataset: Dataset, out: Path) -> Path:
    """Kaggle's layouts: digits as the digit-recognizer competition (``train.csv`` labelled, ``test.csv`` without
    labels, ``pixel0..``), anything else as Kaggle's Fashion-MNIST files (``fashion-mnist_train.csv`` /
    ``fashion-mnist_test.csv``, both labelled, ``pixel1..``)."""
    if dataset.kind == "digits":
        target = out / f"{dataset.split}.csv"
        write_csv(target, dataset.images, dataset.labels if dataset.split != "test" else None)
    else:
        target = out / f"fashion-mnist_{dataset.split}.csv"
        write_csv(target, dataset.images, dataset.labels, first_pixel=1)
    return target


def _first_data_line(path: Path) -> int:
    """Line of the first row in a CSV with a header (row 0 is line 2); other formats count rows from 1."""
    if path.suffix.lower() != ".csv":
        return 1
    with open(path, "rb") as f:
        first = f.read(16)
    return 2 if first.lstrip(b"\xef\xbb\xbf")[:1].isalpha() else 1


def export(dataset: Dataset, out: str | Path, fmt: str) -> Path:
    """Write one split in ``csv``, ``idx``, ``png`` or ``npz`` format under ``out``; reading it back is exact.

    Files: ``csv`` -> ``<split>.csv``; ``kaggle-csv`` -> Kaggle's layouts (``train.csv``/``test.csv`` of the
    digit-recognizer for digits, the test file without labels; ``fashion-mnist_<split>.csv`` otherwise); ``idx`` -> official names (``train-images-idx3-ubyte``, ``t10k-...``);
    ``png`` -> ``<split>/00000.png ...`` with a ``labels.csv`` manifest; ``npz`` -> ``<split>.npz``. A
    ``dataset.json`` beside them keeps the name, class names and kind. Returns the path to read back.
    """
    if fmt not in EXPORT_FORMATS:
        raise DataFormatError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sidecar = read_json(out / METADATA_FILE, default={})
    if sidecar and (sidecar.get("name"), sidecar.get("classes")) != (dataset.name, dataset.classes):
        raise DataFormatError(
            f"{out}: already holds data set {sidecar.get('name')!r} (see {METADATA_FILE}); export "
            f"{dataset.name!r} into another folder"
        )
    sidecar.update(name=dataset.name, classes=dataset.classes, kind=dataset.kind)
    if fmt == "csv":
        target = out / f"{dataset.split}.csv"
        write_csv(target, dataset.images, dataset.labels)
    elif fmt == "kaggle-csv":
        target = _write_kaggle_csv(dataset, out)
    elif fmt == "npz":
        target = out / f"{dataset.split}.npz"
        arrays = {"images": dataset.images, "classes": np.asarray(dataset.classes)}
        if dataset.labels is not None:
            arrays["labels"] = dataset.labels
        np.savez_compressed(target, **arrays)
    elif fmt == "idx":
        prefix = "t10k" if dataset.split == "test" else dataset.split
        target = out / f"{prefix}-images-idx3-ubyte"
        write_idx(target, dataset.images)
        if dataset.labels is not None:
            write_idx(out / f"{prefix}-labels-idx1-ubyte", dataset.labels)
    else:
        target = out / dataset.split
        write_image_folder(target, dataset.images, dataset.labels, dataset.classes)
    sidecar.setdefault("splits", {})[target.stem if fmt != "png" else target.name] = dataset.split
    write_json(out / METADATA_FILE, sidecar)
    return target
