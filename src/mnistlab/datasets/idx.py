"""IDX files (the format of the official MNIST and Fashion-MNIST releases), raw or gzip-compressed."""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from mnistlab.errors import DataFormatError
from mnistlab.fileio import atomic_write, open_regular

_UBYTE = 0x08


MAX_IDX_BYTES = 4 << 30  # 4 GiB of pixels: ~5 million 28x28 images; a header promising more is refused


def read_idx(path: str | Path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file of unsigned bytes (``.gz`` is decompressed) into a uint8 array.

    The header is checked before the body is read: a file whose header promises more (or fewer) bytes than it
    holds is refused without decompressing or allocating what it promises.

    Examples
    --------
    >>> read_idx("train-labels-idx1-ubyte", ndim=1).shape  # doctest: +SKIP
    (60000,)
    """
    path = Path(path)
    try:
        with open_regular(path, "an IDX file") as raw:
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if path.suffix == ".gz" else raw
            return _read_stream(stream, path, ndim, compressed=path.suffix == ".gz")
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataFormatError(f"{path}: is a folder, expected an IDX file") from None
    except (OSError, EOFError, zlib.error) as exc:
        kind = "gzip" if path.suffix == ".gz" else "IDX"
        raise DataFormatError(f"{path}: not a readable {kind} file ({exc})") from None


def _read_stream(stream, path: Path, ndim: int | None, compressed: bool) -> np.ndarray:
    head = stream.read(4)
    dims_count = _check_magic(head, path, ndim)
    dims_raw = stream.read(4 * dims_count)
    if len(dims_raw) < 4 * dims_count:
        raise DataFormatError(f"{path}: truncated inside the IDX header ({len(head) + len(dims_raw)} bytes)")
    dims = struct.unpack(f">{dims_count}I", dims_raw)
    size = math.prod(dims)  # Python integers: a lying header cannot overflow to 0
    if size > MAX_IDX_BYTES:
        raise DataFormatError(
            f"{path}: the IDX header promises {dims} = {size} bytes, more than mnistlab reads "
            f"({MAX_IDX_BYTES >> 30} GiB)"
        )
    if not compressed:  # the size on disk is known: compare before reading anything
        on_disk = os.fstat(stream.fileno()).st_size
        if on_disk != 4 + len(dims_raw) + size:
            _size_error(path, on_disk, dims, 4 + len(dims_raw) + size)
    body = bytearray()
    while len(body) < size:  # never more than the file actually holds, even if the header lies
        block = stream.read(min(16 << 20, size - len(body)))
        if not block:
            _size_error(path, 4 + len(dims_raw) + len(body), dims, 4 + len(dims_raw) + size)
        body += block
    if stream.read(1):
        _size_error(path, None, dims, 4 + len(dims_raw) + size)
    return np.frombuffer(body, np.uint8).reshape(dims)


def _check_magic(head: bytes, path: Path, ndim: int | None) -> int:
    if len(head) == 0:
        raise DataFormatError(f"{path}: file is empty, expected an IDX file")
    if len(head) < 4:
        raise DataFormatError(f"{path}: {len(head)} bytes is shorter than an IDX header")
    dims_count = head[3]
    if head[0] != 0 or head[1] != 0 or head[2] != _UBYTE or not 1 <= dims_count <= 4:
        raise DataFormatError(
            f"{path}: bad magic number 0x{int.from_bytes(head, 'big'):08x}; expected an IDX file of unsigned bytes "
            f"(0x00000801 for labels, 0x00000803 for images)"
        )
    if ndim is not None and dims_count != ndim:
        expected = "labels (1 dimension)" if ndim == 1 else f"images ({ndim} dimensions)"
        raise DataFormatError(f"{path}: IDX file has {dims_count} dimensions, expected {expected}")
    return dims_count


def _size_error(path: Path, actual: int | None, dims: tuple, expected: int) -> None:
    if actual is None or actual > expected:
        state = "longer than its header says" + ("" if actual is None else f": {actual} bytes")
    else:
        state = f"truncated: {actual} bytes"
    raise DataFormatError(f"{path}: file is {state}, the header {dims} promises {expected}")


def parse_idx(buffer: bytearray, path: Path, ndim: int | None = None) -> np.ndarray:
    """An IDX file already in memory (``datasets.load`` reads and hashes the bytes first) as a uint8 array that
    shares the buffer's memory."""
    dims_count = _check_magic(bytes(buffer[:4]), path, ndim)
    header = 4 + 4 * dims_count
    if len(buffer) < header:
        raise DataFormatError(f"{path}: truncated inside the IDX header ({len(buffer)} bytes)")
    dims = struct.unpack_from(f">{dims_count}I", buffer, 4)
    size = math.prod(dims)  # Python integers: a lying header cannot overflow to 0
    if len(buffer) != header + size:
        _size_error(path, len(buffer), dims, header + size)
    return np.frombuffer(buffer, np.uint8, size, header).reshape(dims)


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
