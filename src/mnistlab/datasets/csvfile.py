"""CSV files of images: Kaggle's layout ``label,pixel0..pixel783`` (or ``pixel1..pixel784``), header optional,
label optional, read fast; and the other layouts people have (the label last or named, id and other columns,
no header, floats), found by :func:`read_csv_table`.

This module reads and writes whole files; ``csvlayout`` decides which column is what, ``csvnumbers`` parses
the numbers.

A 60000-row CSV is ~110 MB of text; a generic CSV parser spends most of its time on bookkeeping this fixed
layout does not need. Two parsers, tested to give the same arrays and the same errors: well-formed chunks of
lines go through a small C loop (``_csvparse.c``, built at install when a compiler is there; the benchmark suite's
``csv_parse`` row times it); a chunk it does not accept, or every chunk where it was not built, goes to the vectorised numpy parser
(much slower), which names the line and column of any problem. Other layouts go through the numpy parser (or,
with floats or text columns to leave out, numpy's ``loadtxt``). Writing is vectorised over rows.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab.datasets.csvlayout import (
    _assign_columns,
    _find_column,
    _is_header,
    _kaggle_names,
    _label_is_last,
    _position_name,
    _text_columns,
)
from mnistlab.datasets.csvnumbers import (
    _CHUNK_BYTES,
    _COMMA,
    _DIGIT0,
    _MAX_LINE_BYTES,
    _NEWLINE,
    N_PIXELS,
    _has_fraction,
    _named_labels,
    _parse_body,
    _parse_values,
    _pixels_0_255,
    _warn_if_binary,
    _whole_labels,
)
from mnistlab.errors import DataFormatError
from mnistlab.fileio import atomic_write, open_regular

_NOT_CSV = {  # how other files a user may pass start
    b"\x1f\x8b": "a gzip file (decompress it first)",
    b"PK\x03\x04": "a zip archive (extract the CSV first)",
    b"\x89PNG": "a PNG image (read image folders with from_image_folder)",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x00\x00\x08": "an IDX file (read it with from_idx)",
    b"\x93NUMPY": "a NumPy .npy file",
}


def read_csv(
    path: str | Path, label_column: str | None = None, drop_columns: Sequence[str] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Parse a CSV of images into (images uint8 (N, 28, 28), labels int64 (N,) or None).

    The Kaggle layouts are read fast: 785 columns with the label first, or 784 (Kaggle's ``test.csv``) without
    one, header optional. Other layouts are found by :func:`read_csv_table` (``label_column``, ``drop_columns``,
    id columns, the label last, floats).

    Examples
    --------
    >>> images, labels = read_csv("train.csv")  # doctest: +SKIP
    """
    table = read_csv_table(path, label_column, drop_columns)
    return table.images, table.labels


@dataclass(frozen=True)
class CsvTable:
    """What a CSV held: the images, the labels (None without a label column), and how its columns were read.

    Attributes
    ----------
    images : ndarray of shape (N, 28, 28), uint8
    labels : ndarray of shape (N,), int64, or None
    first_line : int
        The file's line of the first image (2 below a header, else 1).
    label : str or None
        The label column's name (a header's, or ``"label"``, ``"first"``/``"last"`` without one).
    dropped : list of str
        The columns left out: ids found by name or by value, and those named in ``drop_columns``.
    classes : list of str or None
        The class names of a label column that holds names (``cat``, ``dog``), sorted; labels index them. None
        when the labels are class indices.
    """

    images: np.ndarray
    labels: np.ndarray | None
    first_line: int
    label: str | None
    dropped: list[str]
    classes: list[str] | None = None


def read_csv_table(
    path: str | Path, label_column: str | None = None, drop_columns: Sequence[str] | None = None
) -> CsvTable:
    r"""Read a CSV of 784 pixel columns per image, with a label column or none, in the layouts people have.

    The columns, in order of precedence:

    - the label: the column named by ``label_column``; else a column named ``label`` (or ``labels``, any case,
      anywhere); without a header, ``label_column`` is ``"first"``, ``"last"`` or a column number (1 = first),
      and by default a file of 785 columns has its label first unless the first column is constant (a blank
      corner pixel) and the last looks like labels (whole numbers taking every value 0..K-1). Labels are class indices, or class names (``cat``: the table's
      ``classes``), never both;
    - left out: the columns named in ``drop_columns`` (column numbers without a header), a column named like an
      id (``id``, ``ImageId``, ``index``, pandas' unnamed index), and, when more than 784 pixels remain, a column
      counting the rows (0..N-1 or 1..N);
    - the pixels: the 784 others, in order (row by row), whole numbers 0..255; floats in 0..1 are refused with
      the "* 255" hint, as :func:`~mnistlab.datasets.npzfile.read_npz` refuses them.

    A first line is a header when it holds a field that is not a number (or column numbers: 0..783 with pandas'
    empty index name); a first row of numbers is data. Every error names the file, the line and the column.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    label_column : str, optional
        The label column's name, or without a header ``"first"``, ``"last"`` or its number.
    drop_columns : sequence of str, optional
        Columns to leave out, by name (or number without a header).

    Returns
    -------
    CsvTable

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ids.csv"
    >>> row = ",".join(["0"] * 784)
    >>> _ = path.write_text("ImageId," + ",".join(f"p{i}" for i in range(784)) + ",digit\n" + f"1,{row},7\n")
    >>> table = read_csv_table(path, label_column="digit")
    >>> table.labels.tolist(), table.dropped
    ([7], ['ImageId'])
    """
    path = Path(path)
    drop = [str(name) for name in drop_columns or ()]
    if isinstance(drop_columns, str):
        drop = [name.strip() for name in drop_columns.split(",")]
    with _mapped(path) as raw:
        return _read_mapped(raw, path, label_column, drop)


def _read_mapped(raw: mmap.mmap | bytes, path: Path, label_column: str | None, drop: list[str]) -> CsvTable:
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
    fields = [field.strip().strip('"').strip() for field in first_line.decode("utf-8", "replace").split(",")]
    header = fields if _is_header(fields) else None
    if header is not None:
        body_start, first_line_no = (first_end + 1 if first_end >= 0 else len(raw)), 2
    else:
        body_start, first_line_no = bom, 1
    for name, parameter in [(label_column, "label_column")] + [(name, "drop_columns") for name in drop]:
        if name is not None:  # a misspelt name fails before the file is parsed
            _find_column(name, header, len(fields), path, parameter)
    skip, text_label = _text_columns(raw, body_start, header, drop, label_column, path)
    kaggle = _kaggle_names(header, len(fields)) if label_column is None and not drop else None
    if kaggle is not None and text_label is None and not _has_fraction(raw, body_start):
        return _read_kaggle(raw, body_start, kaggle, header is None, path, first_line_no)
    if len(fields) < N_PIXELS:
        where = f"header has {len(fields)} columns" if header else f"line 1 has {len(fields)} columns"
        raise DataFormatError(
            f"{path}: {where}, expected 785 (label, pixel0..pixel783) or 784 (pixels only): 784 pixel columns"
        )
    names = header if header is not None else [f"column {k + 1}" for k in range(len(fields))]
    values = _parse_values(raw, body_start, names, path, first_line_no, skip)
    if len(values) == 0:
        raise DataFormatError(f"{path}: no data rows after the header")
    label, pixels, dropped = _assign_columns(header, values, label_column, drop, path)
    if header is None:  # messages name the columns as the Kaggle layout does
        names = [f"column {k + 1}" for k in range(len(fields))]
        for j, k in enumerate(pixels):
            names[k] = f"pixel{j}"
        if label is not None:
            names[label] = "label"
    classes = None
    if label is not None and label == text_label:
        labels, classes = _named_labels(raw, body_start, label, names[label], path, first_line_no)
    elif label is not None:
        labels = _whole_labels(values[:, label], names[label], path, first_line_no)
    else:
        labels = None
    images = _pixels_0_255(values, pixels, [names[k] for k in pixels], path, first_line_no)
    label_name = None if label is None else (header[label] if header else _position_name(label, len(fields)))
    return CsvTable(
        images.reshape(-1, 28, 28), labels, first_line_no, label_name, [names[k] for k in dropped], classes
    )


def _read_kaggle(
    raw: mmap.mmap | bytes,
    body_start: int,
    names: list[str],
    headerless: bool,
    path: Path,
    first_line_no: int,
) -> CsvTable:
    """The Kaggle layouts, on the fast parsers; a headerless file's label may be its last column."""
    pixels, labels = _parse_body(raw, body_start, names, path, first_line_no)
    if len(pixels) == 0:
        raise DataFormatError(f"{path}: no data rows after the header")
    has_label, where = names[0] == "label", "first" if headerless else names[0]
    if has_label and headerless and _label_is_last(labels, pixels[:, -1]):
        over = np.flatnonzero(labels > 255)  # the first column is a pixel after all
        if over.size:
            raise DataFormatError(
                f"{path}: line {first_line_no + over[0]}, column 1: value {labels[over[0]]} is outside 0..255"
            )
        labels, pixels = (
            pixels[:, -1].astype(np.int64),
            np.column_stack((labels.astype(np.uint8), pixels[:, :-1])),
        )
        where = "last"
    _warn_if_binary(pixels, path)
    return CsvTable(
        pixels.reshape(-1, 28, 28),
        labels if has_label else None,
        first_line_no,
        where if has_label else None,
        [],
    )


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
    """Only spaces, tabs and line breaks, read a chunk at a time (never a copy of the whole file)."""
    return all(
        not raw[start : start + _CHUNK_BYTES].translate(None, b" \t\r\n")
        for start in range(0, len(raw), _CHUNK_BYTES)
    )


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
