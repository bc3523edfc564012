"""IDX files (the format of the official MNIST and Fashion-MNIST releases), raw or gzip-compressed."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from mnistlab.errors import DataFormatError
from mnistlab.fileio import atomic_write

_UBYTE = 0x08


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file of unsigned bytes (``.gz`` is decompressed) into a uint8 array.

    >>> read_idx("train-labels-idx1-ubyte", ndim=1).shape  # doctest: +SKIP
    (60000,)
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            data = np.frombuffer(bytearray(gzip.decompress(path.read_bytes())), np.uint8)
        else:
            data = np.fromfile(path, np.uint8)
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: not a readable gzip file ({exc})") from None
    return _parse_idx(data, path, ndim)


def _parse_idx(data: np.ndarray, path: Path, ndim: int | None) -> np.ndarray:
    if data.size == 0:
        raise DataFormatError(f"{path}: file is empty, expected an IDX file")
    if data.size < 4:
        raise DataFormatError(f"{path}: {data.size} bytes is shorter than an IDX header")
    magic = int.from_bytes(data[:4].tobytes(), "big")
    dims_count = int(data[3])
    if data[0] != 0 or data[1] != 0 or data[2] != _UBYTE or not 1 <= dims_count <= 4:
        raise DataFormatError(
            f"{path}: bad magic number 0x{magic:08x}; expected an IDX file of unsigned bytes "
            f"(0x00000801 for labels, 0x00000803 for images)"
        )
    if ndim is not None and dims_count != ndim:
        expected = "labels (1 dimension)" if ndim == 1 else f"images ({ndim} dimensions)"
        raise DataFormatError(f"{path}: IDX file has {dims_count} dimensions, expected {expected}")
    header = 4 + 4 * dims_count
    if data.size < header:
        raise DataFormatError(f"{path}: truncated inside the IDX header ({data.size} bytes)")
    dims = struct.unpack(f">{dims_count}I", data[4:header].tobytes())
    expected_size = header + int(np.prod(dims, dtype=np.int64))
    if data.size != expected_size:
        state = "truncated" if data.size < expected_size else "longer than its header says"
        raise DataFormatError(
            f"{path}: file is {state}: {data.size} bytes, the header {dims} promises {expected_size}"
        )
    return data[header:].reshape(dims)


def idx_bytes(array: np.ndarray) -> bytes:
    """The bytes of an IDX file holding a uint8 array."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return bytes([0, 0, _UBYTE, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed when the name ends in ``.gz``)."""
    payload = idx_bytes(array)
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_bytes(gzip.compress(payload, compresslevel=6) if path.suffix == ".gz" else payload)
