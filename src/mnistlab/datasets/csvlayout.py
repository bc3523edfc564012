"""The layout of a CSV of images: whether its first line is a header, and which column is the label, an id, a
column to leave out or a pixel (Kaggle's layouts, the label named or last, no header); every refusal names the
file and the column.
"""

from __future__ import annotations

import difflib
import mmap
from pathlib import Path

import numpy as np

from mnistlab.datasets.csvnumbers import _MAX_LINE_BYTES, N_PIXELS, _number
from mnistlab.errors import DataFormatError

ID_NAMES = frozenset({"", "id", "ids", "imageid", "image_id", "image id", "index", "idx", "unnamed: 0"})


LABEL_NAMES = frozenset({"label", "labels"})


def _default_names(has_label: bool) -> list[str]:
    return (["label"] if has_label else []) + [f"pixel{i}" for i in range(N_PIXELS)]


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
