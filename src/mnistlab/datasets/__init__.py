"""Data sets: the registry of named sets, one loader, bring-your-own readers and the writers of every format.

>>> from mnistlab import datasets
>>> datasets.available()
['mnist', 'fashion-mnist-kaggle', 'fashion-mnist']
>>> test = datasets.load("mnist", split="test")  # doctest: +SKIP
>>> test.images.shape, test.classes[:3]  # doctest: +SKIP
((10000, 28, 28), ['0', '1', '2'])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from mnistlab.datasets.cache import check_file, data_home, ensure_files, source_of
from mnistlab.datasets.csvfile import read_csv, write_csv
from mnistlab.datasets.dataset import Dataset, train_val_split
from mnistlab.datasets.idx import read_idx, write_idx
from mnistlab.datasets.images import read_image, read_image_folder, write_image_folder
from mnistlab.datasets.registry import SPLIT_FILES, DatasetInfo, available, get_info
from mnistlab.errors import DataFormatError

__all__ = [
    "Dataset",
    "DatasetInfo",
    "available",
    "cache_source",
    "cache_status",
    "data_home",
    "export",
    "fetch",
    "from_csv",
    "from_idx",
    "from_image_folder",
    "from_npz",
    "get_info",
    "load",
    "read_image",
    "train_val_split",
]

Split = Literal["train", "test"]
EXPORT_FORMATS = ("csv", "idx", "png", "npz")
_SIDECAR = "dataset.json"
_MAX_INFERRED_CLASSES = 10_000  # labels are class indices; a larger one is an id or a value, not a class


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
    images_file, labels_file = SPLIT_FILES[split]
    images = read_idx(folder / images_file, ndim=3)
    labels = read_idx(folder / labels_file, ndim=1)
    return Dataset(images, labels, info.classes, name, split, source_of(folder))


def cache_source(name: str, home: Path | None = None) -> str:
    """Which mirror (or manual placement) supplied the cached files of a registered data set."""
    return source_of((home or data_home()) / get_info(name).name)


def cache_status(name: str, home: Path | None = None, rehash: bool = False) -> dict[str, str]:
    """``{file name: status}`` of a registered data set's cached files (``rehash`` forces a full sha256)."""
    info = get_info(name)
    folder = (home or data_home()) / info.name
    return {spec.name: check_file(folder, spec, rehash).detail for spec in info.files}


def from_csv(path: str | Path, classes: Sequence[str] | None = None, name: str | None = None) -> Dataset:
    """Read a Kaggle-layout CSV (``label,pixel0..pixel783``; header and label column optional).

    >>> ds = from_csv("digit-recognizer/train.csv")  # doctest: +SKIP
    """
    images, labels = read_csv(path)
    return _dataset(images, labels, classes, Path(path), name)


def from_idx(
    images: str | Path, labels: str | Path | None = None, classes: Sequence[str] | None = None,
    name: str | None = None,
) -> Dataset:  # fmt: skip
    """Read an IDX image file and its label file (raw or ``.gz``), as the official releases ship them."""
    image_array = read_idx(images, ndim=3)
    label_array = read_idx(labels, ndim=1) if labels is not None else None
    if label_array is not None and len(label_array) != len(image_array):
        raise DataFormatError(
            f"{labels}: {len(label_array)} labels for {len(image_array)} images in {images}"
        )
    return _dataset(image_array, label_array, classes, Path(images), name)


def from_image_folder(
    path: str | Path, classes: Sequence[str] | None = None, resize: bool = False, name: str | None = None
) -> Dataset:
    """Read PNG/JPEG images: one sub-folder per class, or a ``filename,label`` CSV manifest (seed 004).

    RGB images are converted to grayscale; sizes other than 28x28 are refused unless ``resize=True``.
    """
    path = Path(path)
    classes = classes if classes is not None else _sidecar(path).get("classes")
    images, labels, names = read_image_folder(path, classes, resize)
    return _dataset(images, labels, names, path, name)


def from_npz(path: str | Path, name: str | None = None) -> Dataset:
    """Read a ``.npz`` with ``images`` (N, 28, 28) uint8, optional ``labels`` and ``classes`` (no pickles)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "images" not in data:
                raise DataFormatError(f"{path}: no 'images' array (found {sorted(data.files)})")
            images = data["images"]
            labels = data.get("labels")
            classes = data["classes"].tolist() if "classes" in data else None
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"{path}: not a readable .npz file ({exc})") from None
    if images.dtype != np.uint8 and images.size and (images.min() < 0 or images.max() > 255):
        raise DataFormatError(f"{path}: pixel values must lie in 0..255")
    return _dataset(images.astype(np.uint8), labels, classes, path, name)


def _sidecar(path: Path) -> dict:
    folder = path if path.is_dir() else path.parent
    for candidate in (folder / _SIDECAR, folder.parent / _SIDECAR):
        if candidate.is_file():
            try:
                return json.loads(candidate.read_text())
            except ValueError:
                raise DataFormatError(f"{candidate}: not valid JSON") from None
    return {}


def _dataset(
    images: np.ndarray, labels: np.ndarray | None, classes: Sequence[str] | None, path: Path, name: str | None
) -> Dataset:
    sidecar = _sidecar(path)
    if classes is None:
        classes = sidecar.get("classes")
    if classes is None:
        n_classes = int(labels.max()) + 1 if labels is not None and labels.size else 10
        if n_classes > _MAX_INFERRED_CLASSES:
            row = int(np.argmax(labels))
            raise DataFormatError(
                f"{path}: label {labels[row]} of row {row + 1} is not a class index "
                f"(expected 0..{_MAX_INFERRED_CLASSES - 1}); pass the class names to read it"
            )
        classes = [str(i) for i in range(max(n_classes, 10))]
    split = sidecar.get("splits", {}).get(path.stem if path.is_file() else path.name, path.stem)
    return Dataset(images, labels, list(classes), name or sidecar.get("name") or path.stem, split, str(path))


def export(dataset: Dataset, out: str | Path, fmt: str) -> Path:
    """Write one split in ``csv``, ``idx``, ``png`` or ``npz`` format under ``out``; reading it back is exact.

    Files: ``csv`` -> ``<split>.csv``; ``idx`` -> official names (``train-images-idx3-ubyte``, ``t10k-...``);
    ``png`` -> ``<split>/00000.png ...`` with a ``labels.csv`` manifest; ``npz`` -> ``<split>.npz``. A
    ``dataset.json`` beside them keeps the name and class names. Returns the path to read back.
    """
    if fmt not in EXPORT_FORMATS:
        raise DataFormatError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sidecar = _read_sidecar_file(out / _SIDECAR)
    sidecar.update(name=dataset.name, classes=dataset.classes)
    if fmt == "csv":
        target = out / f"{dataset.split}.csv"
        write_csv(target, dataset.images, dataset.labels)
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
    (out / _SIDECAR).write_text(json.dumps(sidecar, indent=2))
    return target


def _read_sidecar_file(path: Path) -> dict:
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except ValueError:
        return {}
