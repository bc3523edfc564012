"""The numbers of a CSV of images: the body parsed into arrays (well-formed chunks of lines by the C loop
``_csvparse.c`` when it was built, any other chunk by the vectorised numpy parser, which names the line and column
of a problem), and the checks of what they must be (pixels whole numbers 0..255, labels class indices or names).

Examples
--------
>>> _number("3.5"), _number("cat")
(3.5, None)
"""

from __future__ import annotations

import mmap
import os
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import numpy as np

from mnistlab.errors import DataFormatError

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


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _has_fraction(raw: mmap.mmap | bytes, start: int) -> bool:
    """The first data line holds a decimal point or an exponent: floats, read by the careful parser."""
    end = raw.find(b"\n", start, start + _MAX_LINE_BYTES)
    line = bytes(raw[start : end if end >= 0 else start + _MAX_LINE_BYTES]).decode("utf-8", "replace")
    numbers = (field.strip().strip('"') for field in line.rstrip("\r").split(","))
    # Only numbers count: a text column (a label "seven", a file name "a.png") holds no fraction.
    return any(_number(field) is not None and any(mark in field for mark in ".eE") for field in numbers)


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
