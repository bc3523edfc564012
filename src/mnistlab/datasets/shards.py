"""Sharded storage for data sets bigger than memory: a folder of NumPy ``.npy`` shards and a ``manifest.json``.

Why this format (measured choices are in ``benchmarks/results``; the reasons here): MNIST-shaped images are fixed
size uint8 arrays, so a shard is one ``.npy`` file that NumPy reads whole at disk speed or maps into memory for a
few rows, with no decoding (Parquet, WebDataset's tar of PNGs and MosaicML's MDS all decode or copy per sample);
it needs nothing beyond NumPy, and any tool reads it. What the libraries add for cloud object stores (streaming
from S3, resumable mid-epoch across nodes) this product does not need on local or shared disks.

The manifest lists each split's shards in order with their rows and SHA-256 checksums, the class names and how the
data was made. Shards are written under temporary names and renamed when complete, the manifest (atomically) after
each shard, so an interrupted writer leaves only whole shards, and a writer started again with the same settings
continues after the last shard it recorded. Every read of a shard checks its size and checksum: a missing, truncated
or altered shard, or one of another data set, is an error naming the file.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import json
import mmap
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab.datasets.dataset import Dataset
from mnistlab.errors import DataFormatError
from mnistlab.fileio import atomic_write, open_regular, read_json

FORMAT = "mnistlab-shards"
VERSION = 1
MANIFEST = "manifest.json"
IMAGE_SHAPE = (28, 28)
IMAGE_BYTES = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
MAX_IN_MEMORY = 2 << 30  # bytes of images a step that needs them all in memory may read from shards
MAX_SHARD_ROWS = 1_000_000  # 784 MB of images: a shard is read whole into memory when trained on


def is_shard_folder(path: str | Path) -> bool:
    """True when ``path`` is a folder holding a shards manifest."""
    return Path(path, MANIFEST).is_file()


@dataclass(frozen=True)
class Shard:
    """One shard of a split: its files (relative to the folder), rows and checksums."""

    images: str
    labels: str
    rows: int
    images_sha256: str
    labels_sha256: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class ShardWriter:
    """Writes a split as shards into ``folder`` (resumable; see the module docstring).

    Parameters
    ----------
    folder : Path
        The shard folder (created when missing).
    name : str
        The data set's name.
    classes : list of str
        The class names, indexed by label.
    made_by : dict
        How the data was made (the generator and its settings, or the source exported): a writer started again
        continues only a folder made the same way.
    kind : str, optional
        ``"digits"`` or ``"objects"``.
    """

    def __init__(
        self, folder: str | Path, name: str, classes: list[str], made_by: dict, kind: str | None = None
    ) -> None:
        self.folder = Path(folder)
        self.manifest = {
            "format": FORMAT,
            "version": VERSION,
            "name": name,
            "classes": list(classes),
            "kind": kind,
            "made_by": made_by,
            "splits": {},
        }
        if (self.folder / MANIFEST).exists():
            found = _read_manifest(self.folder)
            same = {k: found.get(k) for k in ("name", "classes", "kind", "made_by")}
            if same != {k: self.manifest[k] for k in same}:
                raise DataFormatError(
                    f"{self.folder}: holds shards made another way ({found.get('made_by')}); continuing would "
                    "mix two data sets. Write into an empty folder, or remove this one"
                )
            self.manifest["splits"] = found["splits"]
        elif self.folder.exists() and any(self.folder.iterdir()):
            raise DataFormatError(
                f"{self.folder}: not empty and not a shard folder; expected an empty folder"
            )

    def done(self, split: str) -> int:
        """How many shards of ``split`` are already written (a writer continues after them)."""
        return len(self.manifest["splits"].get(split, {}).get("shards", []))

    def add(self, split: str, images: np.ndarray, labels: np.ndarray, complete: bool = False) -> None:
        """Write the next shard of ``split``; ``complete``: it is the split's last."""
        if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE or labels.shape != (len(images),):
            raise DataFormatError(f"a shard is (N, 28, 28) uint8 images with N labels; got {images.shape}")
        entry = self.manifest["splits"].setdefault(split, {"shards": [], "complete": False})
        index = len(entry["shards"])
        stem = f"{split}-{index:05d}"
        files = {}
        for part, array in (("images", images), ("labels", labels.astype(np.int16))):
            name = f"{stem}-{part}.npy"
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
            data = buffer.getvalue()
            with atomic_write(self.folder / name) as tmp:
                tmp.write_bytes(data)
            files[part] = (name, hashlib.sha256(data).hexdigest())
        shard = Shard(
            files["images"][0], files["labels"][0], len(images), files["images"][1], files["labels"][1]
        )
        entry["shards"].append(shard.to_dict())
        entry["complete"] = complete
        self._write_manifest()

    def finish(self, split: str) -> None:
        """Mark ``split`` complete (a reader refuses a split still being written)."""
        self.manifest["splits"].setdefault(split, {"shards": [], "complete": False})["complete"] = True
        self._write_manifest()

    def _write_manifest(self) -> None:
        with atomic_write(self.folder / MANIFEST) as tmp:
            tmp.write_text(json.dumps(self.manifest, indent=1) + "\n")


def write_split(
    writer: ShardWriter, split: str, chunks: Iterable[tuple[np.ndarray, np.ndarray]], skip: int = 0
) -> None:
    """Write every ``(images, labels)`` chunk of ``chunks`` as one shard of ``split`` (the first ``skip`` chunks
    are already written and are not asked for again when ``chunks`` is lazy), then mark it complete."""
    for index, (images, labels) in enumerate(chunks):
        if index >= skip:
            writer.add(split, images, labels)
    writer.finish(split)


SHARD_ROWS = 100_000  # 78 MB of images a shard


def export_split(
    dataset: Dataset, out: str | Path, overwrite: bool = False, shard_rows: int = SHARD_ROWS
) -> Path:
    """Write ``dataset`` (one split) as shards of ``shard_rows`` images into the shard folder ``out``, beside the
    other splits of the same data set already there; rows in their order (a data set sorted by class should be
    shuffled first: training reads a few shards at a time). Reading it back gives the same arrays.

    Examples
    --------
    >>> import tempfile
    >>> toy = Dataset(np.arange(3 * 784).reshape(3, 28, 28).astype(np.uint8), np.array([0, 1, 1]), ["a", "b"])
    >>> folder = export_split(toy, Path(tempfile.mkdtemp()) / "toy", shard_rows=2)
    >>> back = load_split(folder)
    >>> np.array_equal(back.images[:], toy.images), back.labels.tolist(), len(back.images.split.shards)
    (True, [0, 1, 1], 2)
    """
    if dataset.labels is None:
        raise DataFormatError(
            f"{dataset.name}/{dataset.split}: shards hold labelled images; this split has none"
        )
    writer = ShardWriter(out, dataset.name, dataset.classes, {"export_of": dataset.name}, kind=dataset.kind)
    if writer.done(dataset.split):
        if not overwrite:
            raise DataFormatError(
                f"{out}: already holds split {dataset.split!r} of {dataset.name!r}; overwrite=True to replace it"
            )
        writer.manifest["splits"].pop(dataset.split)
    write_split(writer, dataset.split, _labelled_chunks(dataset, shard_rows))
    return Path(out)


def _labelled_chunks(dataset: Dataset, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A data set's images and labels in order, at most ``rows`` at a time (images on disk read as they go)."""
    if not getattr(dataset.images, "is_streamed", False):
        for start in range(0, len(dataset), rows):
            yield dataset.images[start : start + rows], dataset.labels[start : start + rows]
        return
    start = 0
    for images in dataset.images.in_order(rows):
        yield images, dataset.labels[start : start + len(images)]
        start += len(images)


def _read_manifest(folder: Path) -> dict:
    manifest = read_json(folder / MANIFEST, "a shards manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataFormatError(f"{folder / MANIFEST}: not a mnistlab shards manifest (no format {FORMAT!r})")
    if manifest.get("version") != VERSION:
        raise DataFormatError(
            f"{folder / MANIFEST}: shards format version {manifest.get('version')!r}; this mnistlab reads {VERSION}"
        )
    if not isinstance(manifest.get("splits"), dict) or not isinstance(manifest.get("classes"), list):
        raise DataFormatError(f"{folder / MANIFEST}: no 'splits' or 'classes'")
    return manifest


def _read_into_pages(handle) -> mmap.mmap:
    """A file's bytes in memory of their own pages, given back to the system when the last array on them goes.

    Read into ordinary memory, shard after shard, glibc's heap grew by ~4 MB a shard of 10,000 images (its
    threshold for giving large blocks their own pages rises as they are freed, and later blocks fragment the heap):
    memory would then grow with the data set, not with the shard."""
    size = os.fstat(handle.fileno()).st_size
    pages = mmap.mmap(-1, max(size, 1))
    if handle.readinto(memoryview(pages)[:size]) != size:
        raise DataFormatError(f"{handle.name}: changed while it was read")
    return pages


def _from_npy_bytes(path: Path, data) -> np.ndarray:
    """The array of a ``.npy`` file's bytes, without copying them (read-only)."""
    buffer = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buffer)
        header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = header(buffer)
    except ValueError as exc:
        raise DataFormatError(f"{path}: not a NumPy .npy shard ({exc})") from None
    if fortran or dtype.hasobject:
        raise DataFormatError(f"{path}: not a shard (Fortran order or objects)")
    return np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)), offset=buffer.tell()).reshape(shape)


def split_names(folder: str | Path) -> list[str]:
    """The complete splits of a shard folder, the training split first (what trains and judges the others), then
    the others by name."""
    splits = _read_manifest(Path(folder))["splits"]
    names = [name for name, entry in splits.items() if isinstance(entry, dict) and entry.get("complete")]
    return sorted(names, key=lambda name: (name != "train", name))


def load_split(folder: str | Path, split: str = "train", kind: str | None = None) -> Dataset:
    """One split of a shard folder as a :class:`~mnistlab.datasets.dataset.Dataset` whose ``images`` stay on disk
    (:class:`ShardedImages`); the labels are read (2 bytes an image).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "toy"
    >>> write_split(ShardWriter(folder, "toy", ["a", "b"], {"by": "doctest"}), "train",
    ...             [(np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 0, 1]))])
    >>> data = load_split(folder)
    >>> data.images, data.labels.tolist()  # doctest: +ELLIPSIS
    (ShardedImages(.../toy, split='train', n=4), [0, 1, 0, 1])
    """
    data = ShardedSplit(folder, split)
    return Dataset(
        data.images,
        data.labels,
        data.classes,
        data.manifest.get("name") or Path(folder).name,
        split,
        str(folder),
        kind or data.manifest.get("kind"),
    )


class ShardedImages:
    """The images of one split in shards, read only where asked: ``len``, ``shape``, ``dtype`` as an array's,
    ``images[i]``, ``images[a:b]`` and ``images[indices]`` read those rows (memory-mapped), :meth:`chunks` reads
    them a shard at a time (each shard whole, checked), and :meth:`subset` is a view of some rows, still on disk
    (what cross-validation trains and scores). ``np.asarray(images)`` reads everything (refused above
    ``max_bytes``).

    Parameters
    ----------
    split : ShardedSplit
        The split whose images these are.
    rows : array of int, optional
        The split's rows this view holds, in the view's order (default: all of them, in order).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "toy"
    >>> images = np.arange(6, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)
    >>> write_split(ShardWriter(folder, "toy", ["a", "b"], {"by": "doctest"}), "train",
    ...             [(images[:3], np.array([0, 1, 0])), (images[3:], np.array([1, 0, 1]))])
    >>> view = load_split(folder).images.subset([5, 0, 3])
    >>> len(view), view[:, 0, 0].tolist(), [where.tolist() for _, where in view.chunks(10)]
    (3, [5, 0, 3], [[1], [0, 2]])
    """

    is_streamed = True  # Dataset keeps it as it is, and training streams it (never np.asarray)

    def __init__(self, split: ShardedSplit, rows=None) -> None:
        self.split = split
        self.dtype = np.dtype(np.uint8)
        self.ndim = 3
        self.rows = None if rows is None else np.asarray(rows, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self), *IMAGE_SHAPE)

    def __len__(self) -> int:
        return len(self.split) if self.rows is None else len(self.rows)

    def positions(self) -> np.ndarray:
        """The split's rows this view holds, in its order."""
        return np.arange(len(self.split)) if self.rows is None else self.rows

    def whole(self) -> ShardedImages:
        """Every image of the split (this view's split)."""
        return self if self.rows is None else ShardedImages(self.split)

    def subset(self, indices) -> ShardedImages:
        """The images at ``indices`` (positions in this view) as a view, read from disk only when asked."""
        chosen = self.positions()[np.asarray(indices, dtype=np.int64)]
        return ShardedImages(self.split, chosen)

    def chunks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The view's images at most ``rows`` at a time, each with the view positions it fills (``out[where] =
        ...``): every shard that holds some of them read once, whole and checked, in the split's order."""
        if self.rows is None:
            start = 0
            for images, _ in self.split.chunks(rows):
                yield images, np.arange(start, start + len(images))
                start += len(images)
            return
        shard_of = np.searchsorted(self.split.starts, self.rows, side="right") - 1
        order = np.argsort(shard_of, kind="stable")
        bounds = np.searchsorted(shard_of[order], np.arange(len(self.split.shards) + 1))
        for index in range(len(self.split.shards)):
            where = order[bounds[index] : bounds[index + 1]]
            if not where.size:
                continue
            images, _ = self.split.shard(index)
            for first in range(0, len(where), rows):
                part = where[first : first + rows]
                yield images[self.rows[part] - self.split.starts[index]], part

    def in_order(self, rows: int) -> Iterator[np.ndarray]:
        """The view's images in its order, at most ``rows`` at a time (what a file of them holds, in sequence)."""
        if self.rows is None:
            for images, _ in self.split.chunks(rows):
                yield images
            return
        for start in range(0, len(self), rows):
            yield self[start : start + rows]

    def _map(self, index: int) -> np.ndarray:
        # not kept: the pages a mapping has touched count as this process's memory while it is open
        return self.split.mapped(index)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, tuple):  # rows, then pixels: images[:, 0, 0]
            picked = self[key[0]]
            one = isinstance(key[0], int | np.integer)
            return picked[key[1:]] if one else picked[(slice(None), *key[1:])]
        if isinstance(key, int | np.integer):
            shard, offset = self.split.locate(int(self.positions()[int(key)]))
            return np.array(self._map(shard)[offset])
        rows = np.atleast_1d(self.positions()[key])
        out = np.empty((len(rows), *IMAGE_SHAPE), np.uint8)
        shards = np.searchsorted(self.split.starts, rows, side="right") - 1
        for shard in np.unique(shards):
            where = np.flatnonzero(shards == shard)
            out[where] = self._map(int(shard))[rows[where] - self.split.starts[shard]]
        return out

    def _check_fits(self, rows: int) -> None:
        """Refuse to read ``rows`` images into memory when they are more than :data:`MAX_IN_MEMORY`."""
        size = rows * IMAGE_BYTES
        if size > MAX_IN_MEMORY:
            raise DataFormatError(
                f"{self.split.folder}: {rows:,} images ({size / 2**30:.1f} GiB) stay on disk, and this step needs "
                f"them all in memory (at most {MAX_IN_MEMORY / 2**30:.0f} GiB); the PyTorch models train, evaluate "
                "and predict on them shard by shard, and health's label check (--checks label) judges them so"
            )

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        self._check_fits(len(self))
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)

    def reshape(self, *shape) -> np.ndarray:
        return np.asarray(self).reshape(*shape)

    def __repr__(self) -> str:
        part = "" if self.rows is None else f", rows={len(self.rows)} of {len(self.split)}"
        return f"ShardedImages({self.split.folder}, split={self.split.name!r}, n={len(self)}{part})"


def release_freed_memory() -> None:
    """Give the memory freed since the last call back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Shard after shard, the large temporaries of reading, training and predicting are freed between small blocks
    that stay, and glibc keeps the freed pages: measured, the peak memory of a training and prediction on 200,000
    images in shards of 5,000 varied from 549 to 843 MB over runs, against 531-550 MB on half the shards. Called
    once per shard read (a few milliseconds), it keeps memory bounded by the shards (tests/test_shards.py)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _glibc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


_LIBC = _glibc()


class ShardedSplit:
    """One split of a shard folder: its shards, labels (read whole: 2 bytes an image) and checked reads.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "toy"
    >>> writer = ShardWriter(folder, "toy", ["a", "b"], {"by": "doctest"})
    >>> write_split(writer, "train", [(np.zeros((3, 28, 28), np.uint8), np.array([0, 1, 0]))] * 2)
    >>> split = ShardedSplit(folder, "train")
    >>> len(split), split.labels.tolist(), split.images[2:4].shape
    (6, [0, 1, 0, 0, 1, 0], (2, 28, 28))
    """

    def __init__(self, folder: str | Path, name: str) -> None:
        self.folder = Path(folder)
        self.manifest = _read_manifest(self.folder)
        splits = self.manifest["splits"]
        if name not in splits:
            raise DataFormatError(
                f"{self.folder}: no split {name!r} (it has {', '.join(sorted(splits)) or 'none'})"
            )
        entry = splits[name]
        if not entry.get("complete"):
            raise DataFormatError(
                f"{self.folder}: split {name!r} is still being written (or its writer stopped): run the same "
                "command again to finish it"
            )
        self.name = name
        self.classes = [str(c) for c in self.manifest["classes"]]
        try:
            self.shards = [Shard(**shard) for shard in entry["shards"]]
        except TypeError:
            raise DataFormatError(
                f"{self.folder / MANIFEST}: a shard entry of {name!r} is malformed"
            ) from None
        rows = np.array([shard.rows for shard in self.shards], dtype=np.int64)
        if (rows < 1).any() or (rows > MAX_SHARD_ROWS).any():
            raise DataFormatError(f"{self.folder / MANIFEST}: shard rows must be 1..{MAX_SHARD_ROWS:,}")
        self.starts = np.concatenate([[0], np.cumsum(rows)])
        self._labels: np.ndarray | None = None
        self.images = ShardedImages(self)

    def __len__(self) -> int:
        return int(self.starts[-1])

    @property
    def labels(self) -> np.ndarray:
        """Every label of the split (int64), read and checked once."""
        if self._labels is None:
            parts = [self._read(shard.labels, shard.labels_sha256, (shard.rows,)) for shard in self.shards]
            labels = np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
            bad = np.flatnonzero((labels < 0) | (labels >= len(self.classes)))
            if bad.size:
                raise DataFormatError(
                    f"{self.folder}: label {labels[bad[0]]} of row {bad[0] + 1} of {self.name!r} is outside the "
                    f"{len(self.classes)} classes"
                )
            self._labels = labels
        return self._labels

    def locate(self, row: int) -> tuple[int, int]:
        """The shard holding ``row`` and the row's place in it."""
        if not -len(self) <= row < len(self):
            raise IndexError(f"row {row} of {len(self)}")
        row %= len(self)
        shard = int(np.searchsorted(self.starts, row, side="right") - 1)
        return shard, row - int(self.starts[shard])

    def shard(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Shard ``index``'s images and labels, read whole into memory and checked against the manifest."""
        shard = self.shards[index]
        release_freed_memory()  # what the previous shard's work freed, before this one is read
        images = self._read(shard.images, shard.images_sha256, (shard.rows, *IMAGE_SHAPE))
        return images, self.labels[self.starts[index] : self.starts[index + 1]]

    def mapped(self, index: int) -> np.ndarray:
        """Shard ``index``'s images memory-mapped (rows read when indexed); its size and header are checked."""
        shard = self.shards[index]
        path = self._path(shard.images)
        try:
            mapped = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataFormatError(f"{path}: not a readable shard ({exc})") from None
        self._check(path, mapped, (shard.rows, *IMAGE_SHAPE), np.uint8)
        return mapped

    def chunks(self, rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The split in order, ``rows`` images at a time (each shard read whole, checked)."""
        for index in range(len(self.shards)):
            images, labels = self.shard(index)
            for start in range(0, len(images), rows):
                yield images[start : start + rows], labels[start : start + rows]

    def _path(self, name: str) -> Path:
        path = self.folder / name
        if Path(name).name != name:  # a manifest naming ../ or an absolute path reads outside the folder
            raise DataFormatError(
                f"{self.folder / MANIFEST}: shard file {name!r} is not a file of the folder"
            )
        if not path.exists():
            raise DataFormatError(f"{path}: shard missing (listed in {MANIFEST})")
        return path

    def _read(self, name: str, sha256: str, shape: tuple) -> np.ndarray:
        path = self._path(name)
        expected = self._expected_bytes(shape, np.uint8 if len(shape) == 3 else np.int16)
        with open_regular(path, "a shard (.npy)", max_bytes=expected + 4096) as handle:
            data = _read_into_pages(handle)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise DataFormatError(
                f"{path}: checksum differs from {MANIFEST} (the shard is damaged, or of another data set)"
            )
        array = _from_npy_bytes(path, data)  # the bytes as read, not a copy of them
        self._check(path, array, shape, np.uint8 if len(shape) == 3 else np.int16)
        return array

    @staticmethod
    def _expected_bytes(shape: tuple, dtype) -> int:
        return int(np.prod(shape)) * np.dtype(dtype).itemsize

    def _check(self, path: Path, array: np.ndarray, shape: tuple, dtype) -> None:
        if array.shape != shape or array.dtype != dtype:
            raise DataFormatError(
                f"{path}: holds {array.dtype} of shape {array.shape}; the manifest expects {np.dtype(dtype)} "
                f"of shape {shape}"
            )

    def verify(self) -> None:
        """Read every shard and check it (what ``mnistlab data info`` does on a shard folder)."""
        for index in range(len(self.shards)):
            self.shard(index)
