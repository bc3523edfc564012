"""``.npz`` files: ``images``, optional ``labels`` and ``classes``, read without pickles and with every array's
header checked before it is decompressed (a small file cannot make mnistlab allocate gigabytes)."""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from mnistlab.datasets.idx import MAX_IDX_BYTES
from mnistlab.errors import DataFormatError
from mnistlab.fileio import open_regular

KEYS = ("images", "labels", "classes")


def read_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    """(images uint8 (N, 28, 28), labels or None, class names or None) from an ``.npz`` file.

    Images may be uint8, or integers/floats holding whole numbers 0..255; floats in 0..1 are refused with a
    message rather than silently becoming black.
    """
    path = Path(path)
    try:
        with open_regular(path, "an .npz file") as raw, zipfile.ZipFile(raw) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            if "images" not in members:
                raise DataFormatError(f"{path}: no 'images' array (found {sorted(members) or 'none'})")
            for key in KEYS:
                if key in members:
                    check_array_member(archive, members[key], path, key)
            raw.seek(0)
            with np.load(raw, allow_pickle=False) as data:
                images = data["images"]
                labels = data.get("labels")
                classes = data.get("classes")
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except DataFormatError:
        raise
    # What a damaged archive raises: a bad zip, an "encrypted" flag (RuntimeError), an unknown compression
    # method (NotImplementedError), a broken deflate stream (zlib.error), a bad array header (ValueError).
    except (
        zipfile.BadZipFile,
        OSError,
        ValueError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        zlib.error,
    ) as exc:
        raise DataFormatError(f"{path}: not a readable .npz file ({exc})") from None
    return _pixels(images, path), _labels(labels, path), _names(classes, path)


def check_array_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, key: str) -> None:
    """The array ``info`` of a zip archive (an .npz, a skops file): its declared shape and type, read from its
    first bytes, must fit the size the archive declares, hold no Python objects, and stay under 4 GiB; checked
    before the array is read."""
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(stream)
        header_size = stream.tell()
    if dtype.hasobject:
        raise DataFormatError(
            f"{path}: '{key}' holds Python objects; mnistlab reads plain arrays only (no pickles)"
        )
    nbytes = math.prod(shape) * dtype.itemsize  # Python integers: a lying header cannot overflow
    if nbytes > MAX_IDX_BYTES:
        raise DataFormatError(
            f"{path}: '{key}' declares shape {shape} ({nbytes} bytes), more than mnistlab reads"
        )
    if info.file_size != header_size + nbytes:
        raise DataFormatError(
            f"{path}: '{key}' declares shape {shape} of {dtype} but holds {info.file_size} bytes "
            "(truncated or tampered)"
        )


def _pixels(images: np.ndarray, path: Path) -> np.ndarray:
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataFormatError(f"{path}: 'images' has shape {images.shape}, expected (N, 28, 28) or (N, 784)")
    if images.dtype == np.uint8:
        return images
    if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
        raise DataFormatError(f"{path}: 'images' are {images.dtype}, expected pixel numbers 0..255")
    if images.size and not np.isfinite(images).all():
        raise DataFormatError(f"{path}: 'images' hold NaN or infinite values")
    low, high = (images.min(), images.max()) if images.size else (0, 0)
    if (
        np.issubdtype(images.dtype, np.floating)
        and high <= 1.0
        and not np.equal(np.round(images), images).all()
    ):
        raise DataFormatError(
            f"{path}: 'images' are floats in 0..1; mnistlab reads pixels 0..255 (save images * 255)"
        )
    if low < 0 or high > 255 or not np.equal(np.round(images), images).all():
        raise DataFormatError(f"{path}: 'images' must hold whole numbers 0..255 (found {low}..{high})")
    return images.astype(np.uint8)


def _labels(labels: np.ndarray | None, path: Path) -> np.ndarray | None:
    """The labels as int64 class indices, one per image: refused when not integers, not one value per image (a
    one-hot (N, K) array is named as such) or negative."""
    if labels is None:
        return None
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataFormatError(f"{path}: 'labels' are {labels.dtype}, expected integer class indices")
    if labels.ndim != 1:
        one_hot = (
            labels.ndim == 2 and labels.size and np.isin(labels, (0, 1)).all() and (labels.sum(1) == 1).all()
        )
        hint = " (one-hot rows: save labels.argmax(axis=1))" if one_hot else ""
        raise DataFormatError(
            f"{path}: 'labels' has shape {labels.shape}, expected (N,): one class index per image{hint}"
        )
    if labels.size and labels.min() < 0:
        row = int(np.flatnonzero(labels < 0)[0])
        raise DataFormatError(
            f"{path}: 'labels' row {row + 1} is {labels[row]}: labels are class indices 0..K-1, never negative"
        )
    if labels.size and labels.dtype == np.uint64 and labels.max() > np.iinfo(np.int64).max:
        row = int(np.argmax(labels))
        raise DataFormatError(f"{path}: 'labels' row {row + 1} is {labels[row]}, not a class index")
    return labels.astype(np.int64)


def _names(classes: np.ndarray | None, path: Path) -> list[str] | None:
    if classes is None:
        return None
    if classes.ndim != 1 or classes.dtype.kind not in "US":
        raise DataFormatError(
            f"{path}: 'classes' must be a 1-D array of strings, got {classes.dtype} {classes.shape}"
        )
    if classes.dtype.kind == "S":  # bytes (np.array([b"cat"])): their text, never "b'cat'"
        try:
            return [c.decode("utf-8") for c in classes.tolist()]
        except UnicodeDecodeError:
            raise DataFormatError(f"{path}: 'classes' are bytes that are not UTF-8 text") from None
    return [str(c) for c in classes.tolist()]
