"""Bring-your-own data: readers of Kaggle CSVs, IDX files, image folders and ``.npz`` files, and the writer of
every format (``export``), with the ``dataset.json`` metadata kept beside exported files."""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnistlab.datasets import shards
from mnistlab.datasets.csvfile import read_csv_table, write_csv
from mnistlab.datasets.dataset import Dataset, class_list, class_name, index_class_names
from mnistlab.datasets.idx import read_idx, write_idx
from mnistlab.datasets.images import read_image_folder, write_image_folder
from mnistlab.datasets.npzfile import read_npz
from mnistlab.errors import DataFormatError
from mnistlab.fileio import atomic_write, read_json, write_json

EXPORT_FORMATS = ("csv", "kaggle-csv", "idx", "png", "npz", "shards")
WRITTEN_BESIDE = "written_beside"  # dataset.json: other files written beside an export (fixes.json)
METADATA_FILE = "dataset.json"


def from_csv(
    path: str | Path,
    classes: Sequence[str] | None = None,
    name: str | None = None,
    kind: str | None = None,
    label_column: str | None = None,
    drop_columns: Sequence[str] | None = None,
) -> Dataset:
    """Read a CSV of images: Kaggle's layout (``label,pixel0..pixel783``; header and label column optional), or
    another layout of 784 pixel columns (:func:`~mnistlab.datasets.csvfile.read_csv_table`).

    Parameters
    ----------
    path : str or Path
        The CSV file: 785 columns (a label, then 784 pixels 0..255) or 784 (no labels: ``labels`` is None); a
        column named ``label`` anywhere, id columns (``id``, ``ImageId``, ``index``, a column counting the rows)
        left out, a first row of numbers read as data.
    label_column : str, optional
        The label column's name (without a header: ``"first"``, ``"last"`` or its number). Default: the
        ``dataset.json`` beside the file (``"csv": {"label_column": ...}``), else found as described.
    drop_columns : sequence of str, optional
        Other columns to leave out, by name (by number without a header); default: from ``dataset.json``.
    classes : sequence of str, optional
        Class names in label order. Default: those in the ``dataset.json`` that :func:`export` writes beside
        its files, else the label indices as names.
    name : str, optional
        The data set's name (default: from ``dataset.json``, else the file name).
    kind : {"digits", "objects"}, optional
        What the classes are (flips are refused on digits); default: from ``dataset.json``, else unknown.

    Returns
    -------
    Dataset
        Images (N, 28, 28) uint8, labels (N,) int64 or None, class names, kind.

    Raises
    ------
    DataFormatError
        Naming the file, line and column of a malformed value, e.g. ``line 3, pixel10: '1.5' is not an
        integer 0..255``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.csv"
    >>> _ = path.write_text(",".join(["7"] + ["0"] * 784))  # one labelled row, no header
    >>> ds = from_csv(path)
    >>> ds.images.shape, ds.labels.tolist()
    ((1, 28, 28), [7])
    """
    layout = _metadata(Path(path)).get("csv", {})
    if not isinstance(layout, dict):
        raise DataFormatError(f"{metadata_path(path)}: 'csv' must be an object (label_column, drop_columns)")
    table = read_csv_table(
        path,
        label_column if label_column is not None else layout.get("label_column"),
        drop_columns if drop_columns is not None else layout.get("drop_columns"),
    )
    labels = table.labels
    if table.classes is not None:  # a label column of names: the names are the classes (or among those given)
        labels, classes = _by_name(table, classes, Path(path))
    return _dataset(table.images, labels, Path(path), classes, name, kind, table.first_line)


def _by_name(table, classes: Sequence[str] | None, path: Path) -> tuple[np.ndarray, list[str]]:
    """The labels of a column of class names as indices of ``classes`` (default: the names, sorted)."""
    classes = class_list(classes)
    if classes is None:
        classes = _metadata(path).get("classes") or table.classes
    classes = [class_name(c) for c in classes]
    missing = [name for name in table.classes if name not in classes]
    if missing:
        row = int(np.flatnonzero(table.labels == table.classes.index(missing[0]))[0])
        raise DataFormatError(
            f"{path}: line {table.first_line + row}, {table.label}: label {missing[0]!r} is not one of the "
            f"classes {classes[:12]}"
        )
    order = np.array([classes.index(name) for name in table.classes], np.int64)
    return order[table.labels], classes


def from_idx(
    images: str | Path,
    labels: str | Path | None = None,
    classes: Sequence[str] | None = None,
    name: str | None = None,
    kind: str | None = None,
) -> Dataset:
    """Read an IDX image file and its label file (raw or ``.gz``), as the official releases ship them.

    Parameters
    ----------
    images : str or Path
        The images file, e.g. ``train-images-idx3-ubyte.gz``; its header is checked against the file's size
        before anything is decompressed.
    labels : str or Path, optional
        The labels file; without it ``labels`` is None.
    classes, name, kind
        As for :func:`from_csv`.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> ds = from_idx("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")  # doctest: +SKIP
    >>> len(ds)  # doctest: +SKIP
    10000
    """
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
    preprocess: str = "none",
    name: str | None = None,
    kind: str | None = None,
    resize: bool | None = None,
) -> Dataset:
    """Read PNG/JPEG images: one sub-folder per class, or a ``filename,label`` CSV manifest (as the Kaggle
    Fashion-MNIST CNN tutorial writes them).

    RGB images are converted to grayscale and the EXIF orientation is applied.

    Parameters
    ----------
    path : str or Path
        The folder: ``<class>/<image>.png`` sub-folders, or images with a ``labels.csv`` manifest
        (``filename,label``). Either way every image is a file inside the folder: ``../`` and links (of an image
        or a class folder) that lead outside it are refused; links that stay inside are fine.
    classes, name, kind
        As for :func:`from_csv`; class sub-folders name their classes themselves.
    preprocess : {"none", "mnist", "resize"}
        The one rule that makes every image 28x28 (:data:`~mnistlab.datasets.preprocess.PREPROCESSING`):
        ``"none"`` refuses other sizes, ``"mnist"`` reads photos the way ``mnistlab predict`` does (inverted on
        light paper, cropped to the ink, 20x20, centred by mass), ``"resize"`` resizes plainly.
    resize : bool, optional
        Deprecated spelling of ``preprocess="resize"``.

    Returns
    -------
    Dataset
        With ``originals``: each file's own width, height and colour.

    Examples
    --------
    >>> photos = from_image_folder("my-photos/", preprocess="mnist")  # doctest: +SKIP
    """
    if resize is not None:
        warnings.warn(
            "from_image_folder(resize=True) is deprecated; choose the rule: preprocess='resize' (a plain "
            "resize) or preprocess='mnist' (photos, as mnistlab predict reads them)",
            DeprecationWarning,
            stacklevel=2,
        )
        preprocess = "resize" if resize else preprocess
    path = Path(path)
    classes = class_list(classes) if classes is not None else _metadata(path).get("classes")
    originals: dict = {}
    images, labels, names = read_image_folder(path, classes, preprocess, originals)
    dataset = _dataset(images, labels, path, names, name, kind)
    return dataclasses.replace(dataset, originals=originals)


def from_npz(path: str | Path, name: str | None = None, kind: str | None = None) -> Dataset:
    """Read a ``.npz`` with ``images`` (N, 28, 28) pixels 0..255, optional ``labels`` and ``classes``.

    Nothing is unpickled (``allow_pickle=False``); each array's header is checked before it is decompressed;
    floats on the 0..1 scale are refused.

    Parameters
    ----------
    path : str or Path
        The ``.npz`` file.
    name, kind
        As for :func:`from_csv`.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.npz"
    >>> np.savez(path, images=np.zeros((2, 28, 28), np.uint8), labels=np.array([0, 1]))
    >>> from_npz(path).labels.tolist()
    [0, 1]
    """
    path = Path(path)
    images, labels, classes = read_npz(path)
    return _dataset(images, labels, path, classes, name, kind)


def metadata_path(path: str | Path) -> Path:
    """Where the metadata of an exported file or folder lives: ``dataset.json`` beside it (in its parent).

    Examples
    --------
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
    classes = metadata.get("classes")
    if classes is not None and (
        not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)
    ):
        raise DataFormatError(
            f"{metadata_path(path)}: 'classes' must be a list of class names in label order, got {str(classes)[:60]}"
        )
    return metadata


def _dataset(
    images: np.ndarray,
    labels: np.ndarray | None,
    path: Path,
    classes: Sequence[str] | None,
    name: str | None,
    kind: str | None,
    first_line: int = 1,
) -> Dataset:
    sidecar = _metadata(path)
    classes = class_list(classes)
    if classes is None:
        classes = sidecar.get("classes")
    if classes is None:
        classes = index_class_names(labels, str(path), line_offset=first_line)
    split = sidecar.get("splits", {}).get(path.stem if path.is_file() else path.name, path.stem)
    name = name or sidecar.get("name") or path.stem
    return Dataset(images, labels, list(classes), name, split, str(path), kind or sidecar.get("kind"))


def _targets(dataset: Dataset, out: Path, fmt: str) -> list[Path]:
    """The files (or, for png, the folder) an export writes; the first is the one to read back."""
    prefix = "t10k" if dataset.split == "test" else dataset.split
    labelled = dataset.labels is not None
    if fmt == "csv":
        return [out / f"{dataset.split}.csv"]
    if fmt == "kaggle-csv":
        name = f"{dataset.split}.csv" if dataset.kind == "digits" else f"fashion-mnist_{dataset.split}.csv"
        return [out / name]
    if fmt == "npz":
        return [out / f"{dataset.split}.npz"]
    if fmt == "idx":
        images = out / f"{prefix}-images-idx3-ubyte"
        return [images, out / f"{prefix}-labels-idx1-ubyte"] if labelled else [images]
    return [out / dataset.split]


def check_export(
    dataset: Dataset, out: str | Path, fmt: str, overwrite: bool = False, also: Sequence[str] = ()
) -> list[Path]:
    """Check, writing nothing, that :func:`export` may write ``dataset`` into ``out`` as ``fmt``: ``out`` holds
    no other data set's export, and no file there would be replaced that an export of this data set did not
    write, unless ``overwrite``. ``also``: names of other files in ``out`` the caller writes beside the export
    (``fixes.json``), checked by the same rule (:func:`record_written` marks them as written). Returns the files
    (or, for png, the folder) the export writes; the first is the one to read back.

    Examples
    --------
    >>> import tempfile
    >>> toy = Dataset(np.zeros((1, 28, 28), np.uint8), np.array([0]), ["a"], "toy", "train")
    >>> [p.name for p in check_export(toy, tempfile.mkdtemp(), "npz", also=["fixes.json"])]
    ['train.npz']
    """
    if fmt not in EXPORT_FORMATS:
        raise DataFormatError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    out = Path(out)
    sidecar = _sidecar(out)
    if sidecar and (sidecar.get("name"), sidecar.get("classes")) != (dataset.name, dataset.classes):
        raise DataFormatError(
            f"{out}: already holds data set {sidecar.get('name')!r} (see {METADATA_FILE}); export "
            f"{dataset.name!r} into another folder"
        )
    targets = _targets(dataset, out, fmt)
    exported = set(sidecar.get("splits", {}))  # what earlier exports of this data set wrote here
    written_beside = set(sidecar.get(WRITTEN_BESIDE, []))
    foreign = [t for t in targets if os.path.lexists(t) and t.stem not in exported and t.name not in exported]
    foreign += [out / name for name in also if os.path.lexists(out / name) and name not in written_beside]
    if foreign and not overwrite:
        raise DataFormatError(
            f"{foreign[0]}: exists and was not written by an export of {dataset.name!r}; choose another "
            "`out`, or overwrite=True to replace it"
        )
    return targets


def record_written(out: str | Path, name: str) -> None:
    """Note in ``out``'s ``dataset.json`` that file ``name`` there was written beside an export (``fixes.json``),
    so a later export of the same data set may replace it (:func:`check_export`)."""
    out = Path(out)
    sidecar = _sidecar(out)
    names = sidecar.setdefault(WRITTEN_BESIDE, [])
    if name not in names:
        names.append(name)
        write_json(out / METADATA_FILE, sidecar)


def _sidecar(out: Path) -> dict:
    sidecar = read_json(out / METADATA_FILE, default={})
    if not isinstance(sidecar, dict) or not isinstance(sidecar.get("splits", {}), dict):
        raise DataFormatError(
            f"{out / METADATA_FILE}: expected a JSON object with name, classes, kind, splits"
        )
    if not isinstance(sidecar.get(WRITTEN_BESIDE, []), list):
        raise DataFormatError(f"{out / METADATA_FILE}: {WRITTEN_BESIDE} is not a list of file names")
    return sidecar


def export(dataset: Dataset, out: str | Path, fmt: str, overwrite: bool = False) -> Path:
    """Write one split as files; reading them back is exact.

    A ``dataset.json`` beside the files keeps the name, class names and kind. A file that an earlier export of
    the same data set did not write is never replaced unless ``overwrite``; every file (and a png folder as a
    whole) is written atomically, so a failed export keeps what was there.

    Parameters
    ----------
    dataset : Dataset
        The split to write.
    out : str or Path
        The folder to write into (created).
    fmt : {"csv", "kaggle-csv", "idx", "png", "npz", "shards"}
        ``csv`` -> ``<split>.csv``; ``kaggle-csv`` -> Kaggle's layouts (``train.csv``/``test.csv`` of the
        digit-recognizer for digits, the test file without labels; ``fashion-mnist_<split>.csv`` otherwise);
        ``idx`` -> the official names (``train-images-idx3-ubyte``, ``t10k-...``); ``png`` ->
        ``<split>/00000.png ...`` with a ``labels.csv`` manifest; ``npz`` -> ``<split>.npz``; ``shards`` -> ``out`` is
        a shard folder (:mod:`mnistlab.datasets.shards`: read without loading it whole).
    overwrite : bool
        Replace files that another export did not write.

    Returns
    -------
    Path
        The file or folder to read back (``datasets.load(path)``).

    Examples
    --------
    >>> export(load("mnist", "test"), "exports/mnist", "npz")  # doctest: +SKIP
    PosixPath('exports/mnist/test.npz')
    """
    if fmt == "shards":  # a folder of its own kind: its manifest records the data set and its splits
        return shards.export_split(dataset, out, overwrite)
    targets = check_export(dataset, out, fmt, overwrite)
    out = Path(out)
    sidecar = _sidecar(out)
    out.mkdir(parents=True, exist_ok=True)
    sidecar.update(name=dataset.name, classes=dataset.classes, kind=dataset.kind)
    target = targets[0]
    if fmt == "csv":
        write_csv(target, dataset.images, dataset.labels)
    elif fmt == "kaggle-csv":
        labels = dataset.labels if dataset.kind != "digits" or dataset.split != "test" else None
        write_csv(target, dataset.images, labels, first_pixel=0 if dataset.kind == "digits" else 1)
    elif fmt == "npz":
        arrays = {"images": dataset.images, "classes": np.asarray(dataset.classes)}
        if dataset.labels is not None:
            arrays["labels"] = dataset.labels
        with atomic_write(target) as tmp, open(tmp, "wb") as file:  # a failed export keeps the old file
            np.savez_compressed(file, **arrays)
    elif fmt == "idx":
        write_idx(target, dataset.images)
        if dataset.labels is not None:
            write_idx(targets[1], dataset.labels)
    else:
        write_image_folder(target, dataset.images, dataset.labels, dataset.classes)
    for written in targets:  # recorded, so a later export of the same data set may replace them
        sidecar.setdefault("splits", {})[written.stem if fmt != "png" else written.name] = dataset.split
    write_json(out / METADATA_FILE, sidecar)
    return target
