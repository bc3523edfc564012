"""Kaggle-layout CSV files: ``label,pixel0..pixel783`` (or ``pixel1..pixel784``), header optional, label optional.

A 60000-row CSV is ~110 MB of text; a generic CSV parser spends most of its time on bookkeeping this fixed
layout does not need. Two parsers, tested to give the same arrays and the same errors: well-formed chunks of
lines go through a small C loop (``_csvparse.c``, built at install when a compiler is there; the benchmark suite's
``csv_parse`` row times it); a chunk it does not accept, or every chunk where it was not built, goes to the vectorised numpy parser
(much slower), which names the line and column of any problem. Writing is vectorised over rows.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np

from mnistlab.errors import DataFormatError
from mnistlab.fileio import atomic_write, open_regular

try:
    from mnistlab.datasets import _csvparse
except ImportError:  # installed without a C compiler: the numpy parser does the same work, slower
    _csvparse = None

N_PIXELS = 784
_CHUNK_BYTES = 1 << 20
_DIGIT0, _COMMA, _NEWLINE, _CR = 48, 44, 10, 13
_MAX_DIGITS = 9  # fits int64 exactly; longer numbers are out of range for pixels and labels anyway
_MAX_LINE_BYTES = (
    64 << 10
)  # a line of 785 numbers is at most ~3 KB; a longer one means this is not such a CSV
_NOT_CSV = {  # how other files a user may pass start
    b"\x1f\x8b": "a gzip file (decompress it first)",
    b"PK\x03\x04": "a zip archive (extract the CSV first)",
    b"\x89PNG": "a PNG image (read image folders with from_image_folder)",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x00\x00\x08": "an IDX file (read it with from_idx)",
    b"\x93NUMPY": "a NumPy .npy file",
}


def read_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Parse a Kaggle-layout CSV into (images uint8 (N, 28, 28), labels int64 (N,) or None).

    A file with 785 columns has the label first; one with 784 columns (Kaggle's ``test.csv``) has none.

    Examples
    --------
    >>> images, labels = read_csv("train.csv")  # doctest: +SKIP
    """
    path = Path(path)
    with _mapped(path) as raw:
        return _read_mapped(raw, path)


def _read_mapped(raw: mmap.mmap | bytes, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    if not raw or (not raw[:65536].strip() and _is_blank(raw)):
        raise DataFormatError(f"{path}: file is empty, expected a CSV with 784 pixel columns")
    for magic, kind in _NOT_CSV.items():
        if raw[: len(magic)] == magic:
            raise DataFormatError(f"{path}: this is {kind}, not a CSV")
    bom = 3 if raw[:3] == b"\xef\xbb\xbf" else 0
    first_end = raw.find(b"\n", 0, _MAX_LINE_BYTES)
    if first_end < 0 and len(raw) > _MAX_LINE_BYTES:
        raise DataFormatError(
            f"{path}: line 1 is longer than {_MAX_LINE_BYTES >> 10} KB; a Kaggle-layout CSV line "
            "holds at most 785 numbers (is this a CSV with line breaks?)"
        )
    first_line = raw[bom : first_end if first_end >= 0 else len(raw)]
    _check_separators(first_line.rstrip(b"\r"), path)
    has_header = any(not (48 <= b <= 57 or b in b", \r") for b in first_line)
    if has_header:
        names = [name.strip().strip('"') for name in first_line.decode("utf-8", "replace").split(",")]
        has_label = _check_header(names, path)
        body_start, first_line_no = (first_end + 1 if first_end >= 0 else len(raw)), 2
    else:
        n_cols = first_line.count(b",") + 1
        if n_cols not in (N_PIXELS, N_PIXELS + 1):
            raise DataFormatError(
                f"{path}: line 1 has {n_cols} columns, expected 785 (label + 784 pixels) or 784 (pixels only)"
            )
        names = _default_names(n_cols == N_PIXELS + 1)
        has_label, body_start, first_line_no = n_cols == N_PIXELS + 1, bom, 1
    pixels, labels = _parse_body(raw, body_start, names, path, first_line_no)
    if len(pixels) == 0:
        raise DataFormatError(f"{path}: no data rows after the header")
    return pixels.reshape(-1, 28, 28), labels if has_label else None


@contextmanager
def _mapped(path: Path) -> Iterator[mmap.mmap | bytes]:
    """The file's bytes, memory-mapped: sooner than reading them into a new buffer."""
    try:
        with open_regular(path, "a CSV file") as file:  # a FIFO or /dev/zero: refused before a byte is read
            info = os.fstat(file.fileno())
            raw = b"" if info.st_size == 0 else mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        yield raw
    finally:
        if isinstance(raw, mmap.mmap):
            with suppress(BufferError):  # a view still alive (an exception's traceback): GC closes it later
                raw.close()


def _is_blank(raw: mmap.mmap | bytes) -> bool:
    return bool(np.isin(np.frombuffer(raw, np.uint8), np.frombuffer(b" \t\r\n", np.uint8)).all())


def _check_separators(line: bytes, path: Path) -> None:
    """Name the layout problems a parser would otherwise report as a strange field."""
    if b"\r" in line:
        raise DataFormatError(
            f"{path}: lines end with a lone CR (old Mac line endings); save it with LF or CRLF"
        )
    if b", " in line:
        raise DataFormatError(
            f"{path}: line 1 separates fields with ', ' (comma and space); expected plain commas"
        )
    if b"," not in line:
        for sep, name in ((b";", "';'"), (b"\t", "tabs"), (b" ", "spaces")):
            if sep in line:
                raise DataFormatError(f"{path}: line 1 separates fields with {name}; expected commas")


def _default_names(has_label: bool) -> list[str]:
    return (["label"] if has_label else []) + [f"pixel{i}" for i in range(N_PIXELS)]


def _check_header(names: list[str], path: Path) -> bool:
    has_label = bool(names) and names[0].lower() == "label"
    if len(names) == N_PIXELS + 1 and not has_label:
        raise DataFormatError(
            f"{path}: header column 1 is {names[0]!r}, expected 'label' (785 columns: label, then 784 pixels)"
        )
    pixel_names = names[1:] if has_label else names
    if len(pixel_names) != N_PIXELS:
        raise DataFormatError(
            f"{path}: header has {len(names)} columns, expected 785 (label, pixel0..pixel783) "
            "or 784 (pixels only)"
        )
    for offset in (0, 1):  # Kaggle's digit recognizer counts from 0, Fashion-MNIST's CSVs from 1
        if all(name.lower() == f"pixel{i + offset}" for i, name in enumerate(pixel_names)):
            return has_label
    # The first pixel name sets the numbering (from 0 or from 1); name the first column that breaks it.
    offset = 1 if pixel_names[0].lower() == "pixel1" else 0
    bad = next(i for i, n in enumerate(pixel_names) if n.lower() != f"pixel{i + offset}")
    raise DataFormatError(
        f"{path}: header column {bad + 1 + has_label} is {pixel_names[bad]!r}, expected 'pixel{bad + offset}'"
    )


def _parse_body(
    raw: mmap.mmap | bytes, start: int, names: list[str], path: Path, first_line_no: int
) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``raw[start:]`` into (pixels uint8 (N, 784), labels int64 (N,)), in chunks of whole lines.

    The file's bytes are mapped, never copied, and each chunk writes into its rows of the preallocated output, so the
    peak memory is the file plus the output plus a few chunk-sized temporaries. Chunks are parsed on two threads
    (the C loop and numpy release the GIL).
    """
    end = len(raw)
    while end > start and raw[end - 1] in b"\r\n ":  # trailing blank lines
        end -= 1
    bounds, rows = [], 0
    while start < end:
        chunk_end = min(start + _CHUNK_BYTES, end)
        stop = raw.find(b"\n", chunk_end, min(chunk_end + _MAX_LINE_BYTES, end))
        if stop < 0 and chunk_end + _MAX_LINE_BYTES < end:
            line = (
                first_line_no
                + rows
                + int(np.count_nonzero(np.frombuffer(raw, np.uint8, chunk_end - start, start) == _NEWLINE))
            )
            raise DataFormatError(
                f"{path}: line {line} is longer than {_MAX_LINE_BYTES >> 10} KB; a Kaggle-layout CSV "
                "line holds at most 785 numbers"
            )
        stop = end if stop < 0 else stop + 1
        lines = np.count_nonzero(np.frombuffer(raw, np.uint8, stop - start, start) == _NEWLINE)
        n_rows = int(lines) + (stop == end)  # the last line has no newline left
        bounds.append((start, stop, rows, n_rows))
        rows += n_rows
        start = stop
    has_label = names[0] == "label"
    pixels = np.empty((rows, N_PIXELS), np.uint8)
    labels = np.zeros(rows, np.int64)

    def parse(bound: tuple[int, int, int, int]) -> None:
        chunk_start, chunk_stop, first_row, n_rows = bound
        if _csvparse is not None:
            args = (raw, chunk_start, chunk_stop, pixels, labels, first_row, has_label, N_PIXELS)
            if _csvparse.parse_lines(*args) == n_rows:
                return
        # No C loop, or it met something it does not accept: the numpy parser reads the chunk or names the problem.
        chunk = np.frombuffer(raw, np.uint8, chunk_stop - chunk_start, chunk_start)
        values = _parse_chunk(chunk, names, path, first_line_no + first_row)
        block = slice(first_row, first_row + len(values))
        pixels[block] = values[:, 1:] if has_label else values
        if has_label:
            labels[block] = values[:, 0]

    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        list(pool.map(parse, bounds))
    return pixels, labels


def _parse_chunk(chunk: np.ndarray, names: list[str], path: Path, line_no: int) -> np.ndarray:
    """Parse whole lines of ``n_cols`` comma-separated integers; every check names the line and column."""
    n_cols = len(names)
    if chunk[-1] != _NEWLINE:
        chunk = np.append(chunk, np.uint8(_NEWLINE))
    is_newline = chunk == _NEWLINE
    is_sep = is_newline | (chunk == _COMMA)
    is_cr = chunk == _CR
    allowed = is_sep | is_cr | ((chunk >= _DIGIT0) & (chunk <= _DIGIT0 + 9))
    cr = np.flatnonzero(is_cr)
    stray_cr = cr[chunk[cr + 1] != _NEWLINE] if cr.size else cr  # CR only as part of a CRLF line end
    bad = np.flatnonzero(~allowed)
    if bad.size or stray_cr.size:
        first = int(min(bad[:1].tolist() + stray_cr[:1].tolist()))
        line, column = _locate(chunk, first, names, line_no)
        kind = "a non-negative integer" if column == "label" else "an integer 0..255"
        raise DataFormatError(f"{path}: line {line}, {column}: {_field_text(chunk, first)!r} is not {kind}")
    seps = np.flatnonzero(is_sep)
    ends_line = is_newline[seps]
    if len(seps) % n_cols or not np.array_equal(ends_line, np.arange(len(seps)) % n_cols == n_cols - 1):
        fields_per_line = np.diff(np.concatenate(([-1], np.flatnonzero(ends_line))))
        line = int(np.flatnonzero(fields_per_line != n_cols)[0])
        raise DataFormatError(
            f"{path}: line {line_no + line} has {fields_per_line[line]} fields, expected {n_cols}"
        )
    starts = np.concatenate(([0], seps[:-1] + 1))
    ends = seps - is_cr[np.maximum(seps - 1, 0)]
    lengths = ends - starts
    if lengths.min() <= 0 or lengths.max() > _MAX_DIGITS:
        field = int(np.flatnonzero((lengths <= 0) | (lengths > _MAX_DIGITS))[0])
        problem = "is empty" if lengths[field] <= 0 else "is a number too large"
        raise DataFormatError(
            f"{path}: line {line_no + field // n_cols}, {names[field % n_cols]}: field {problem}"
        )
    values = np.zeros(len(seps), np.int32)  # 9 digits fit in int32
    for k in range(int(lengths.max())):  # add the k-th digit from the right of every field at once
        digit = chunk[np.maximum(ends - 1 - k, 0)].astype(np.int32) - _DIGIT0
        values += np.where(lengths > k, digit, 0) * np.int32(10**k)
    values = values.reshape(-1, n_cols)
    first_pixel = 1 if names[0] == "label" else 0
    over = np.argwhere(values[:, first_pixel:] > 255)
    if over.size:
        row, col = int(over[0][0]), int(over[0][1]) + first_pixel
        raise DataFormatError(
            f"{path}: line {line_no + row}, {names[col]}: value {values[row, col]} is outside 0..255"
        )
    return values


def _locate(chunk: np.ndarray, index: int, names: list[str], line_no: int) -> tuple[int, str]:
    """1-based line number and column name of byte ``index`` of a chunk that starts at line ``line_no``."""
    line_start = int(chunk[:index].tobytes().rfind(b"\n")) + 1
    line = line_no + int(np.count_nonzero(chunk[:line_start] == _NEWLINE))
    column = int(np.count_nonzero(chunk[line_start:index] == _COMMA))
    return line, names[column] if column < len(names) else f"column {column + 1}"


def _field_text(chunk: np.ndarray, index: int) -> str:
    separators = (_COMMA, _NEWLINE)
    start = index
    while start > 0 and chunk[start - 1] not in separators:
        start -= 1
    stop = index
    while stop < len(chunk) and chunk[stop] not in separators:
        stop += 1
    return chunk[start:stop].tobytes().decode("utf-8", "replace").strip()[:40]


def write_csv(
    path: str | Path, images: np.ndarray, labels: np.ndarray | None = None, first_pixel: int = 0
) -> None:
    """Write images (and labels first, when given) in Kaggle layout with a ``label,pixel0..pixel783`` header
    (``first_pixel=1``: ``pixel1..pixel784``, as Kaggle's Fashion-MNIST files count)."""
    flat = np.asarray(images, dtype=np.int32).reshape(len(images), -1)
    if labels is not None:
        flat = np.column_stack((np.asarray(labels, dtype=np.int32), flat))
    names = ["label"] * (labels is not None) + [f"pixel{i + first_pixel}" for i in range(N_PIXELS)]
    header = ",".join(names) + "\n"
    with atomic_write(path) as tmp, open(tmp, "wb") as out:
        out.write(header.encode())
        rows_per_chunk = max(1, _CHUNK_BYTES // (4 * flat.shape[1]))
        for start in range(0, len(flat), rows_per_chunk):
            out.write(_format_rows(flat[start : start + rows_per_chunk]))


def _format_rows(values: np.ndarray) -> bytes:
    """Format a block of non-negative integers below 10**9 as CSV text without a Python loop per value."""
    n_digits = np.ones(values.shape, np.int64)
    for power in range(1, len(str(int(values.max())))):
        n_digits += values >= 10**power
    widths = (n_digits + 1).ravel()  # every field is followed by ',' or '\n'
    ends = np.cumsum(widths)
    out = np.full(int(ends[-1]), _COMMA, np.uint8)
    out[ends.reshape(values.shape)[:, -1] - 1] = _NEWLINE
    flat_values, flat_digits = values.ravel(), n_digits.ravel()
    starts = ends - widths
    for k in range(int(flat_digits.max())):  # k-th digit from the right
        has = flat_digits > k
        out[starts[has] + flat_digits[has] - 1 - k] = _DIGIT0 + (flat_values[has] // 10**k) % 10
    return out.tobytes()
