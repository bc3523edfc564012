"""CSV files of images: Kaggle's layout ``label,pixel0..pixel783`` (or ``pixel1..pixel784``), header optional,
label optional, read fast; and the other layouts people have (the label last or named, id and other columns,
no header, floats), found by :func:`read_csv_table`.

A 60000-row CSV is ~110 MB of text; a generic CSV parser spends most of its time on bookkeeping this fixed
layout does not need. Two parsers, tested to give the same arrays and the same errors: well-formed chunks of
lines go through a small C loop (``_csvparse.c``, built at install when a compiler is there; the benchmark suite's
``csv_parse`` row times it); a chunk it does not accept, or every chunk where it was not built, goes to the vectorised numpy parser
(much slower), which names the line and column of any problem. Other layouts go through the numpy parser (or,
with floats or text columns to leave out, numpy's ``loadtxt``). Writing is vectorised over rows.
"""

from __future__ import annotations

import difflib
import mmap
import os
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
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


ID_NAMES = frozenset({"", "id", "ids", "imageid", "image_id", "image id", "index", "idx", "unnamed: 0"})
LABEL_NAMES = frozenset({"label", "labels"})


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


def _default_names(has_label: bool) -> list[str]:
    return (["label"] if has_label else []) + [f"pixel{i}" for i in range(N_PIXELS)]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _is_header(fields: list[str]) -> bool:
    """A first line is a header when a field is not a number, or its numbers count the columns (pandas writes
    0..783 with an empty index name): a first row of pixel numbers is data, never a header."""
    numbers = [_number(field) for field in fields]
    if all(n is not None for n in numbers):
        return _counts_columns(numbers)
    if fields[0] == "" and all(n is not None for n in numbers[1:]):
        return _counts_columns(numbers[1:])
    return any(n is None and field != "" for field, n in zip(fields, numbers, strict=True))


def _counts_columns(numbers: list) -> bool:
    steps = np.diff(np.asarray(numbers, np.float64))
    return len(numbers) >= N_PIXELS and bool(np.all(steps == 1)) and numbers[-1] > 255


def _kaggle_names(header: list[str] | None, n_cols: int) -> list[str] | None:
    """The column names of a Kaggle layout (label first or none, pixel0.. or pixel1..), or None for others."""
    if header is None:
        return _default_names(n_cols == N_PIXELS + 1) if n_cols in (N_PIXELS, N_PIXELS + 1) else None
    has_label = header[0].lower() == "label"
    pixel_names = header[1:] if has_label else header
    if len(pixel_names) != N_PIXELS or _pixel_numbering(pixel_names) is None:
        return None
    return (["label"] if has_label else []) + pixel_names


def _pixel_numbering(names: list[str]) -> int | None:
    """0 or 1 when ``names`` are pixel0..pixel783 or pixel1..pixel784 (any case), else None."""
    for offset in (0, 1):  # Kaggle's digit recognizer counts from 0, Fashion-MNIST's CSVs from 1
        if all(name.lower() == f"pixel{i + offset}" for i, name in enumerate(names)):
            return offset
    return None


def _has_fraction(raw: mmap.mmap | bytes, start: int) -> bool:
    """The first data line holds a decimal point or an exponent: floats, read by the careful parser."""
    end = raw.find(b"\n", start, start + _MAX_LINE_BYTES)
    line = bytes(raw[start : end if end >= 0 else start + _MAX_LINE_BYTES]).decode("utf-8", "replace")
    numbers = (field.strip().strip('"') for field in line.rstrip("\r").split(","))
    # Only numbers count: a text column (a label "seven", a file name "a.png") holds no fraction.
    return any(_number(field) is not None and any(mark in field for mark in ".eE") for field in numbers)


def _position_name(index: int, n_cols: int) -> str:
    return "first" if index == 0 else "last" if index == n_cols - 1 else str(index + 1)


def _looks_like_labels(column: np.ndarray) -> bool:
    """Whole numbers taking every value 0..K-1 (K >= 2), as a label column of more than one image does; a pixel
    column (a corner is mostly 0) rarely does."""
    column = np.asarray(column)
    if len(column) < 2 or not np.all(column == np.round(column)) or column.min() != 0:
        return False
    values = np.unique(column)
    return 2 <= len(values) == values[-1] + 1


def _label_is_last(first: np.ndarray, last: np.ndarray) -> bool:
    """In a headerless file of 785 columns, the label is last only when the first column is constant (a corner
    pixel, blank in every image) and the last looks like labels; anything else keeps Kaggle's label first."""
    return len(first) > 1 and bool(np.all(first == first[0])) and _looks_like_labels(last)


def _is_row_count(column: np.ndarray) -> bool:
    """The column counts the rows, 0..N-1 or 1..N: an id, not a pixel or a label."""
    rows = np.arange(len(column))
    return len(column) > 1 and (np.array_equal(column, rows) or np.array_equal(column, rows + 1))


def _find_column(name: str, header: list[str] | None, n_cols: int, path: Path, parameter: str) -> int:
    """The index of the column ``name``: a header's name (exact, else in any case), or without a header
    first / last / a column number."""
    if header is None:
        if name in ("first", "last"):
            return 0 if name == "first" else n_cols - 1
        if name.isdigit() and 1 <= int(name) <= n_cols:
            return int(name) - 1
        raise DataFormatError(
            f"{path}: has no header, so {parameter}={name!r} names no column; name it by number (1..{n_cols})"
            + (", 'first' or 'last'" if parameter == "label_column" else "")
        )
    if name in header:
        return header.index(name)
    folded = [k for k, column in enumerate(header) if column.lower() == name.lower()]
    if len(folded) == 1:
        return folded[0]
    close = difflib.get_close_matches(name, header, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(map(repr, header[:6])) + (", ..." if len(header) > 6 else "")
    raise DataFormatError(f"{path}: {parameter}={name!r} is not a column of the header ({shown}){hint}")


def _assign_columns(
    header: list[str] | None, values: np.ndarray, label_column: str | None, drop: list[str], path: Path
) -> tuple[int | None, list[int], list[int]]:
    """(label column or None, the 784 pixel columns, the dropped columns) of a parsed table."""
    n_cols = values.shape[1]
    label = None if label_column is None else _find_column(label_column, header, n_cols, path, "label_column")
    dropped = [_find_column(name, header, n_cols, path, "drop_columns") for name in drop]
    if label is not None and label in dropped:
        raise DataFormatError(f"{path}: column {label_column!r} is both the label and dropped (drop_columns)")
    if header is not None:
        if label is None:
            label = next((k for k, name in enumerate(header) if name.lower() in LABEL_NAMES), None)
        dropped += [
            k for k, name in enumerate(header) if name.lower() in ID_NAMES and k not in (label, *dropped)
        ]
    rest = [k for k in range(n_cols) if k != label and k not in dropped]
    if len(rest) > N_PIXELS:  # more columns than pixels: a column that counts the rows is an id
        if header is None:  # without names, only the leading columns can be ids
            counting = [k for k in rest[: len(rest) - N_PIXELS] if _is_row_count(values[:, k])]
        else:
            counting = [
                k for k in rest if not header[k].lower().startswith("pixel") and _is_row_count(values[:, k])
            ]
        dropped += counting[: len(rest) - N_PIXELS]
        rest = [k for k in rest if k not in dropped]
    if header is None and label is None and label_column is None and len(rest) == N_PIXELS + 1:
        first, last = rest[0], rest[-1]
        label = last if _label_is_last(values[:, first], values[:, last]) else first
        rest.remove(label)
    if len(rest) != N_PIXELS:
        raise DataFormatError(_column_count_message(header, n_cols, label, dropped, rest, path))
    if header is not None:
        _check_pixel_names([header[k] for k in rest], rest, path)
    return label, rest, sorted(dropped)


def _column_count_message(
    header: list[str] | None, n_cols: int, label: int | None, dropped: list[int], rest: list[int], path: Path
) -> str:
    if header is None:
        return (
            f"{path}: line 1 has {n_cols} columns, expected 785 (label + 784 pixels) or 784 (pixels only); name "
            "the label column (label_column='first', 'last' or its number) and the columns to leave out "
            "(drop_columns=[numbers])"
        )
    extra = [header[k] for k in rest if not header[k].lower().startswith("pixel")]
    if len(rest) == N_PIXELS + 1 and label is None and rest[0] == 0 and extra and extra[0] == header[0]:
        return (
            f"{path}: header column 1 is {header[0]!r}, expected 'label' (785 columns: label, then 784 pixels); "
            f"if it holds the labels, name it: label_column={header[0]!r}"
        )
    described = (f"the label {header[label]!r}, " if label is not None else "no label column, ") + (
        f"{len(dropped)} left out, " if dropped else ""
    )
    hint = (
        f"; not pixels by their names: {', '.join(map(repr, extra[:6]))} (name the label with label_column=, "
        "the others with drop_columns=)"
        if extra and len(rest) > N_PIXELS
        else ""
    )
    return (
        f"{path}: header has {n_cols} columns: {described}{len(rest)} others, expected 784 pixel columns "
        f"(label, pixel0..pixel783; or pixels only){hint}"
    )


def _check_pixel_names(names: list[str], columns: list[int], path: Path) -> None:
    """Columns named pixelN must count in order (from 0 or from 1); other names are taken in file order."""
    if not all(name.lower().startswith("pixel") for name in names) or _pixel_numbering(names) is not None:
        return
    # The first pixel name sets the numbering (from 0 or from 1); name the first column that breaks it.
    offset = 1 if names[0].lower() == "pixel1" else 0
    bad = next(i for i, n in enumerate(names) if n.lower() != f"pixel{i + offset}")
    raise DataFormatError(
        f"{path}: header column {columns[bad] + 1} is {names[bad]!r}, expected 'pixel{bad + offset}'"
    )


def _whole_labels(column: np.ndarray, name: str, path: Path, first_line_no: int) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(column) | (column < 0) | (column != np.round(column)))
    if bad.size:
        raise DataFormatError(
            f"{path}: line {first_line_no + bad[0]}, {name}: {column[bad[0]]:g} is not a non-negative integer "
            "(a class index)"
        )
    return column.astype(np.int64)


_BLOCK_ROWS = 4096  # rows checked and converted at a time: temporaries stay a few MB whatever the file's size


def _pixels_0_255(
    values: np.ndarray, columns: list[int], names: list[str], path: Path, first_line_no: int
) -> np.ndarray:
    """The pixel ``columns`` of ``values`` as uint8, refused unless every value is a whole number 0..255 (floats
    0..1: the hint); checked and converted a block of rows at a time, never as a copy of every column."""
    pixels = np.empty((len(values), len(columns)), np.uint8)
    for start in range(0, len(values), _BLOCK_ROWS):
        block = values[start : start + _BLOCK_ROWS][:, columns]
        _check_0_255(block, values, columns, names, path, first_line_no + start)
        pixels[start : start + _BLOCK_ROWS] = block
    _warn_if_binary(pixels, path)
    return pixels


def _check_0_255(
    block: np.ndarray,
    values: np.ndarray,
    columns: list[int],
    names: list[str],
    path: Path,
    first_line_no: int,
) -> None:
    if np.issubdtype(block.dtype, np.floating):
        not_finite = np.argwhere(~np.isfinite(block))
        if not_finite.size:
            row, col = not_finite[0]
            raise DataFormatError(
                f"{path}: line {first_line_no + row}, {names[col]}: {block[row, col]} is not a pixel 0..255"
            )
        fraction = np.argwhere(block != np.round(block))
        if fraction.size:
            row, col = fraction[0]
            if all(
                values[k : k + _BLOCK_ROWS][:, columns].min() >= 0
                and values[k : k + _BLOCK_ROWS][:, columns].max() <= 1
                for k in range(0, len(values), _BLOCK_ROWS)
            ):
                raise DataFormatError(
                    f"{path}: pixels are floats in 0..1 (line {first_line_no + row}, {names[col]}: "
                    f"{block[row, col]:g}); mnistlab reads pixels 0..255 (save the images * 255)"
                )
            raise DataFormatError(
                f"{path}: line {first_line_no + row}, {names[col]}: {block[row, col]:g} is not a whole number "
                "0..255"
            )
    outside = np.argwhere((block < 0) | (block > 255))
    if outside.size:
        row, col = outside[0]
        raise DataFormatError(
            f"{path}: line {first_line_no + row}, {names[col]}: value {block[row, col]:g} is outside 0..255"
        )


def _warn_if_binary(pixels: np.ndarray, path: Path) -> None:
    if pixels.size and pixels.max() == 1:
        warnings.warn(
            f"{path}: every pixel is 0 or 1; mnistlab reads pixels 0..255, so these images are nearly black: "
            "if they are black-and-white images, save them * 255",
            stacklevel=4,
        )


def _first_data_fields(raw: mmap.mmap | bytes, start: int) -> list[str]:
    end = raw.find(b"\n", start, start + _MAX_LINE_BYTES)
    line = bytes(raw[start : end if end >= 0 else start + _MAX_LINE_BYTES]).decode("utf-8", "replace")
    return [field.strip().strip('"').strip() for field in line.rstrip("\r").split(",")]


def _text_columns(
    raw: mmap.mmap | bytes,
    start: int,
    header: list[str] | None,
    drop: list[str],
    label_column: str | None,
    path: Path,
) -> tuple[list[int], int | None]:
    """The columns the number parser skips, found from the first data line: columns to leave out (named in
    ``drop``, or ids by name) that hold text (a file name, a note), and a label column of class names (returned
    second, or None)."""
    if header is None:
        return [], None
    fields = _first_data_fields(raw, start)
    named = {name.lower() for name in drop} | ID_NAMES
    skip = [
        k
        for k, name in enumerate(header)
        if (name in drop or name.lower() in named) and k < len(fields) and _number(fields[k]) is None
    ]
    if label_column is not None:
        label = _find_column(label_column, header, len(header), path, "label_column")
    else:
        label = next((k for k, name in enumerate(header) if name.lower() in LABEL_NAMES), None)
    if label is None or label >= len(fields) or not fields[label] or _number(fields[label]) is not None:
        return skip, None
    return [*skip, label], label


def _named_labels(
    raw: mmap.mmap | bytes, start: int, column: int, name: str, path: Path, first_line_no: int
) -> tuple[np.ndarray, list[str]]:
    """A label column of class names: the labels as indices into the names, sorted (numbers by value). Read a
    chunk of lines at a time, each line split only as far as the label: the names, not a copy of the file."""
    values = [  # "é" in either Unicode form is one class (datasets.dataset.class_name)
        unicodedata.normalize("NFC", line.split(",", column + 1)[column].strip().strip('"').strip())
        for line in _text_lines(raw, start)
    ]
    empty = next((row for row, value in enumerate(values) if not value), None)
    if empty is not None:
        raise DataFormatError(f"{path}: line {first_line_no + empty}, {name}: field is empty (no class name)")
    number = next((row for row, value in enumerate(values) if _number(value) is not None), None)
    if number is not None:  # a typo among indices, or an index among names: either way not one kind of label
        raise DataFormatError(
            f"{path}: line {first_line_no + number}, {name}: {values[number]!r} is a number, but line "
            f"{first_line_no}'s label {values[0]!r} is a class name; labels are all class indices or all names"
        )
    classes = sorted(set(values))
    index = {value: k for k, value in enumerate(classes)}
    return np.array([index[value] for value in values], np.int64), classes


def _text_lines(raw: mmap.mmap | bytes, start: int) -> Iterator[str]:
    """The lines of ``raw[start:]`` as text (without line ends and trailing blank lines), decoded a chunk at a
    time."""
    end = _end_of_text(raw, start)
    while start < end:
        stop = raw.find(b"\n", min(start + _CHUNK_BYTES, end), end)
        stop = end if stop < 0 else stop + 1
        lines = bytes(raw[start:stop]).decode("utf-8", "replace").split("\n")
        if stop < end:
            lines.pop()  # the chunk ends with a line end: nothing after it
        yield from (line.rstrip("\r") for line in lines)
        start = stop


def _parse_values(
    raw: mmap.mmap | bytes, start: int, names: list[str], path: Path, first_line_no: int, skip: list[int]
) -> np.ndarray:
    """Every field of every line as numbers (rows, columns): integers on the vectorised parser, floats (or lines
    with text in the columns ``skip``, left as 0) by numpy's loadtxt, a chunk of lines at a time into one array
    (int32 when the first line holds no fraction, as the integer parser's); any other field that is not a number
    is named by line and column."""
    integers = not _has_fraction(raw, start)
    if integers and not skip:
        return _parse_integers(raw, start, names, path, first_line_no)
    bounds, rows = _chunk_bounds(raw, start, path, first_line_no, names, skip)  # every line long enough
    used = [k for k in range(len(names)) if k not in skip]
    values = np.zeros((rows, len(names)), np.int32 if integers else np.float64)
    for chunk_start, chunk_stop, first_row, n_rows in bounds:
        lines = bytes(raw[chunk_start:chunk_stop]).decode("utf-8", "replace").split("\n")[:n_rows]
        try:
            values[first_row : first_row + n_rows, used] = np.loadtxt(
                lines, delimiter=",", dtype=values.dtype, ndmin=2, comments=None, quotechar='"', usecols=used
            )
        except (ValueError, OverflowError):
            raise _first_bad_field(lines, names, skip, integers, path, first_line_no + first_row) from None
        _let_go(raw, chunk_start, chunk_stop)
    return values


def _first_bad_field(
    lines: list[str], names: list[str], skip: list[int], integers: bool, path: Path, first_line_no: int
) -> DataFormatError:
    """The error naming the first field of ``lines`` that loadtxt refused: a line of the wrong length, a field
    that is not a number, or (read as integers) one with a fraction or too many digits."""
    for row, line in enumerate(lines):
        fields = line.rstrip("\r").split(",")
        if len(fields) != len(names):
            return DataFormatError(
                f"{path}: line {first_line_no + row} has {len(fields)} fields, expected {len(names)}"
            )
        for k, (name, field) in enumerate(zip(names, fields, strict=True)):
            text = field.strip().strip('"')
            number = _number(text)
            if k in skip or (number is not None and not integers):
                continue
            if number is None:
                problem = "field is empty" if not text else f"{text[:40]!r} is not a number"
            elif number != round(number) or "." in text or "e" in text.lower():
                problem = f"{text[:40]!r} is not an integer (the first data line's numbers are integers)"
            elif abs(number) >= 10**_MAX_DIGITS:
                problem = "field is a number too large"
            else:
                continue
            return DataFormatError(f"{path}: line {first_line_no + row}, {name}: {problem}")
    return DataFormatError(f"{path}: not a CSV of numbers")  # loadtxt refused what the line scan accepts


def _parse_integers(
    raw: mmap.mmap | bytes, start: int, names: list[str], path: Path, first_line_no: int
) -> np.ndarray:
    """Lines of comma-separated integers as an (rows, columns) int32 array. The C loop reads a chunk whose first
    column holds up to 9 digits (an id or a label) and the others 0..255; the numpy parser reads any other."""
    bounds, rows = _chunk_bounds(raw, start, path, first_line_no, names)
    values = np.empty((rows, len(names)), np.int32)

    def parse(bound: tuple[int, int, int, int]) -> None:
        chunk_start, chunk_stop, first_row, n_rows = bound
        block = slice(first_row, first_row + n_rows)
        if _csvparse is not None and len(names) > 1:
            pixels, first = np.empty((n_rows, len(names) - 1), np.uint8), np.empty(n_rows, np.int64)
            if (
                _csvparse.parse_lines(raw, chunk_start, chunk_stop, pixels, first, 0, True, len(names) - 1)
                == n_rows
            ):
                values[block, 0], values[block, 1:] = first, pixels
                return
        chunk = np.frombuffer(raw, np.uint8, chunk_stop - chunk_start, chunk_start)
        values[block] = _parse_chunk(chunk, names, path, first_line_no + first_row, check_pixels=False)

    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        list(pool.map(_releasing(raw, parse), bounds))
    return values


def _chunk_bounds(
    raw: mmap.mmap | bytes,
    start: int,
    path: Path,
    first_line_no: int,
    names: list[str],
    skip: Sequence[int] = (),
) -> tuple[list[tuple[int, int, int, int]], int]:
    """``raw[start:]`` cut into chunks of whole lines: (start, stop, first row, rows) each, and the rows in all.

    Every line is checked to be long enough to hold a row of ``names`` (one character a field, a comma between;
    the text columns ``skip`` may be empty) as its chunk is cut, so a line that cannot is refused, naming it,
    before anything is allocated by the line count: every caller sizes its output by the rows returned, and a
    header followed by millions of blank lines would otherwise ask for gigabytes it never fills.
    """
    end = _end_of_text(raw, start)
    min_line = 2 * len(names) - 1 - len(skip)
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
        newlines = np.flatnonzero(np.frombuffer(raw, np.uint8, stop - start, start) == _NEWLINE)
        line_ends = (
            newlines if stop < end else np.append(newlines, stop - start)
        )  # the last line has no newline
        line_starts = np.concatenate(([0], newlines[: len(line_ends) - 1] + 1))
        short = np.flatnonzero(line_ends - line_starts < min_line)
        if short.size:
            first = int(short[0])
            line = bytes(raw[start + line_starts[first] : start + line_ends[first]])
            raise _short_line_error(line, first_line_no + rows + first, names, skip, path)
        _let_go(raw, start, stop)
        bounds.append((start, stop, rows, len(line_ends)))
        rows += len(line_ends)
        start = stop
    return bounds, rows


def _end_of_text(raw: mmap.mmap | bytes, start: int) -> int:
    """Where ``raw[start:]`` ends without its trailing blank lines (read backwards a chunk at a time)."""
    end = len(raw)
    while end > start:
        low = max(start, end - _CHUNK_BYTES)
        kept = len(raw[low:end].rstrip(b"\r\n "))
        if kept:
            return low + kept
        end = low
    return start


def _short_line_error(
    line: bytes, line_no: int, names: list[str], skip: Sequence[int], path: Path
) -> DataFormatError:
    """What is wrong with a line too short to hold a row of ``names``: blank, too few fields, or an empty one."""
    text = line.rstrip(b"\r")
    if not text.strip():
        return DataFormatError(f"{path}: line {line_no} is blank; expected {len(names)} fields")
    fields = text.split(b",")
    if len(fields) != len(names):
        return DataFormatError(f"{path}: line {line_no} has {len(fields)} fields, expected {len(names)}")
    empty = next((k for k, field in enumerate(fields) if not field.strip() and k not in skip), 0)
    return DataFormatError(f"{path}: line {line_no}, {names[empty]}: field is empty")


def _parse_body(
    raw: mmap.mmap | bytes, start: int, names: list[str], path: Path, first_line_no: int
) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``raw[start:]`` into (pixels uint8 (N, 784), labels int64 (N,)), in chunks of whole lines.

    The file's bytes are mapped, never copied, and each chunk writes into its rows of the preallocated output, so the
    peak memory is the file plus the output plus a few chunk-sized temporaries. Chunks are parsed on two threads
    (the C loop and numpy release the GIL).
    """
    bounds, rows = _chunk_bounds(raw, start, path, first_line_no, names)
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
        list(pool.map(_releasing(raw, parse), bounds))
    return pixels, labels


def _releasing(raw: mmap.mmap | bytes, parse):
    """``parse`` of one chunk, then the chunk's pages of the mapped file let go (:func:`_let_go`)."""

    def parse_and_release(bound: tuple[int, int, int, int]) -> None:
        parse(bound)
        _let_go(raw, bound[0], bound[1])

    return parse_and_release


def _let_go(raw: mmap.mmap | bytes, start: int, stop: int) -> None:
    """Drop the pages of ``raw[start:stop]`` from this process once read: it then holds its output and a few
    chunks, not the whole mapped file as well (a 109 MB CSV no longer adds 109 MB to the peak). A page read again
    later comes back from the page cache."""
    release = getattr(mmap, "MADV_DONTNEED", None)
    if isinstance(raw, mmap.mmap) and release is not None:
        first_page = start - start % mmap.PAGESIZE
        with suppress(OSError, ValueError):
            raw.madvise(release, first_page, stop - first_page)


def _parse_chunk(
    chunk: np.ndarray, names: list[str], path: Path, line_no: int, check_pixels: bool = True
) -> np.ndarray:
    """Parse whole lines of ``n_cols`` comma-separated integers; every check names the line and column (pixels
    0..255 too, unless ``check_pixels`` is False: the caller decides which columns are pixels)."""
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
        kind = (
            "a non-negative integer"
            if column == "label"
            else "an integer 0..255"
            if check_pixels
            else "a number"
        )
        text = _field_text(chunk, first)
        if check_pixels and column != "label" and 0 <= (_number(text) or 2) < 1:
            kind += " (pixels in 0..1? mnistlab reads pixels 0..255: save the images * 255)"
        raise DataFormatError(f"{path}: line {line}, {column}: {text!r} is not {kind}")
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
    if not check_pixels:
        return values
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
