"""Files written atomically, JSON read one way and tables written one way: a reader (or a crash) never sees a
half-written file.

Every writer in mnistlab (cache files and stamps, run folders, figures, exports, ONNX models) goes through
:func:`atomic_write`; every JSON document is read through :func:`read_json`; every table of results
(``findings.csv``, sweep tables, submissions, image manifests) is written by :func:`write_table`, whose text
cells are neutralised against spreadsheet formulas (:func:`table_cell`) and read back exactly by
:func:`read_table_rows`. Pixel data in Kaggle's CSV layout (numbers only) has its own fast writer
(``datasets.csvfile``). Text a user chose (class names, paths, data set names) goes into Markdown through
:func:`markdown_text`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import numbers
import os
import secrets
import stat
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from mnistlab.errors import DataFormatError, WriteError

_MISSING: Any = object()
MAX_JSON_BYTES = 64 << 20  # a run's history of 100,000 epochs is ~20 MB; mnistlab writes no larger JSON
MAX_TEXT_BYTES = 1 << 20  # a sweep file or datasets.toml: a few KB in practice


def open_regular(path: str | Path, expected: str = "a file", max_bytes: int | None = None) -> BinaryIO:
    """Open ``path`` for reading only if it is a regular file (at most ``max_bytes`` long when given).

    A FIFO would block a plain ``open`` until some writer appears (forever), and a link to ``/dev/zero`` would be
    read until memory runs out: the file is opened without blocking and checked with ``fstat`` (the file itself,
    not its name, so no swap in between) before a byte is read. Errors name the file and what was expected.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as tmp, open_regular(tmp.name, "a text file") as f:
    ...     f.read()
    b''
    >>> open_regular("/dev/zero", "a JSON file")
    Traceback (most recent call last):
    ...
    mnistlab.errors.DataFormatError: /dev/zero: not a regular file (a device, pipe or socket); expected a JSON file
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise DataFormatError(f"{path}: is a folder; expected {expected}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DataFormatError(
                f"{path}: {'is a folder' if stat.S_ISDIR(info.st_mode) else 'not a regular file (a device, pipe or socket)'}; "
                f"expected {expected}"
            )
        if max_bytes is not None and info.st_size > max_bytes:
            raise DataFormatError(
                f"{path}: {info.st_size:,} bytes; {expected} is at most {max_bytes:,} bytes for mnistlab"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(path: str | Path, expected: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (:func:`open_regular`; a file still growing while it
    is read is cut at the bound and refused)."""
    with open_regular(path, expected, max_bytes) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DataFormatError(
            f"{path}: more than {max_bytes:,} bytes; {expected} is at most that for mnistlab"
        )
    return data


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it replaces ``path`` in one rename, when
    it fails (or is interrupted) it is removed and ``path`` keeps its old content. A full disk, a file-size limit
    or a read-only place is a :class:`~mnistlab.errors.WriteError` naming ``path`` (:func:`writing`).

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "hello.txt"
    >>> with atomic_write(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text(), [p.name for p in target.parent.iterdir()]
    ('hello', ['hello.txt'])
    """
    path = Path(path)
    # Same folder, so the rename is atomic; a random part, so concurrent writers never share a temporary file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with writing(path, tmp):
            path.parent.mkdir(parents=True, exist_ok=True)
            yield tmp
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(
            OSError
        ):  # on a read-only disk even this fails; the write's error is the news
            tmp.unlink(missing_ok=True)


def _about(filename: Any, path: Path, also: Sequence[str | Path]) -> bool:
    """Whether an error's ``filename`` (None or a descriptor: a write to an open file) is about ``path`` or
    ``also``."""
    if filename is None or isinstance(filename, int):
        return True
    named = Path(os.fsdecode(filename))
    return named in path.parents or any(named.is_relative_to(p) for p in (path, *also))


# What a full disk, a quota, a file-size limit (RLIMIT_FSIZE, or the file system's own) or a read-only or
# forbidden place answers a writer: the user's environment, not a bug.
WRITE_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM})


@contextlib.contextmanager
def writing(path: str | Path, *also: str | Path) -> Iterator[None]:
    """Turn a write fault (:data:`WRITE_FAULTS`) in the block into a :class:`~mnistlab.errors.WriteError` that
    names ``path``, the file or folder the user asked for (not a temporary name), and says nothing half-written
    is left (the block's own clean-up sees to that). Faults about other files (``filename`` neither ``path`` nor
    one of ``also``, nor inside them, nor a folder above ``path``) and other errors pass unchanged.

    Examples
    --------
    >>> with writing("exports/train.csv"):
    ...     raise OSError(errno.EFBIG, "File too large")
    Traceback (most recent call last):
    ...
    mnistlab.errors.WriteError: exports/train.csv: cannot be written (File too large); nothing half-written is left
    """
    try:
        yield
    except OSError as exc:
        if exc.errno not in WRITE_FAULTS or not _about(exc.filename, Path(path), also):
            raise
        # (a WriteError about a file inside a staging folder: named again by the folder asked for)
        raise WriteError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) from None


def json_text(data: Any) -> str:
    """``data`` as indented JSON text; numpy values become plain ones."""
    return json.dumps(data, indent=2, default=_json_default)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically; numpy values become plain ones."""
    with atomic_write(path) as tmp:
        tmp.write_text(json_text(data))
    return Path(path)


# A spreadsheet (Excel, LibreOffice, Google Sheets) runs a cell that starts with one of these as a formula
# (OWASP "CSV injection"); the fullwidth forms too, in some locales. Tab, CR and LF start a formula after the
# whitespace a spreadsheet strips.
FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def table_cell(value: Any) -> Any:
    """``value`` as :func:`write_table` writes it: text that a spreadsheet would run as a formula gets a leading
    ``'`` (as OWASP recommends), so it shows as text; numbers and other text are unchanged.

    Text that already starts with quotes before such a character gets one more, so that :func:`read_cell` gives
    back exactly what was written, whatever it was.

    Examples
    --------
    >>> table_cell("=SUM(A1:A9)"), table_cell("-1"), table_cell(-1), table_cell("'=1"), table_cell("a")
    ("'=SUM(A1:A9)", "'-1", -1, "''=1", 'a')
    """
    if isinstance(value, str) and value.lstrip("'")[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def read_cell(text: str) -> str:
    """A cell of a table :func:`write_table` wrote, as it was given to it (the inverse of :func:`table_cell`).

    Examples
    --------
    >>> read_cell("'=1+1"), read_cell("''=1"), read_cell("'quoted"), read_cell("plain")
    ('=1+1', "'=1", "'quoted", 'plain')
    """
    if text.startswith("'") and text[1:].lstrip("'")[:1] in FORMULA_STARTS:
        return text[1:]
    return text


class _Cells:
    """A ``csv.reader`` whose cells come back as :func:`write_table` was given them."""

    def __init__(self, reader) -> None:
        self._reader = reader

    def __iter__(self) -> _Cells:
        return self

    def __next__(self) -> list[str]:
        return [read_cell(cell) for cell in next(self._reader)]

    @property
    def line_num(self) -> int:
        return self._reader.line_num


def read_table_rows(lines: Iterable[str]) -> Iterator[list[str]]:
    """The rows of CSV text (lines, or an open text file) :func:`write_table` wrote, each cell as it was given
    to the writer (:func:`read_cell`). Use it, or :func:`read_table_dicts`, for every table mnistlab reads back.

    Examples
    --------
    >>> list(read_table_rows(["label\\n", "'-1\\n", "'@home\\n"]))
    [['label'], ['-1'], ['@home']]
    """
    return _Cells(csv.reader(lines))


def read_table_dicts(lines: Iterable[str]) -> csv.DictReader:
    """:func:`read_table_rows` as ``csv.DictReader`` rows: a dict per row, keyed by the header's cells (also
    read back as written).

    Examples
    --------
    >>> next(read_table_dicts(["name,score\\n", "'=1+1,0.5\\n"]))
    {'name': '=1+1', 'score': '0.5'}
    """
    reader = csv.DictReader(lines)
    reader.reader = _Cells(reader.reader)
    return reader


def write_table(
    path: str | Path, rows: Iterable[Sequence[Any]] | Iterable[dict], columns: Sequence[str]
) -> Path:
    """Write a CSV table atomically: a header of ``columns``, then ``rows`` (sequences in column order, or dicts
    read by column name, a missing key written empty). Returns ``path``.

    Every cell goes through :func:`table_cell`: text starting with ``=``, ``+``, ``-``, ``@``, a tab or a line
    break is written with a leading ``'``, so a spreadsheet opening the file never runs it as a formula; mnistlab
    reads such tables back with :func:`read_table_rows` (or :func:`read_table_dicts`), which gives the text back
    exactly.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "t.csv"
    >>> print(write_table(target, [{"a": 1, "b": "x"}, (-2, "=y")], ["a", "b"]).read_text(), end="")
    a,b
    1,x
    -2,'=y
    """
    with atomic_write(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([table_cell(c) for c in columns])
        for row in rows:
            cells = [row.get(c, "") for c in columns] if isinstance(row, dict) else row
            writer.writerow([table_cell(cell) for cell in cells])
    return Path(path)


# Characters that mean something to some Markdown renderer (CommonMark and GitHub's: emphasis, code, links,
# images, autolinks of www.x.y and a@b.c, tables, headings, lists, strikethrough, math, @mentions, :emoji:):
# each is backslash-escaped, which CommonMark allows for any ASCII punctuation. <, > and & become entities, which
# every renderer shows as text (a backslash before < is not understood everywhere).
_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN_PUNCTUATION = frozenset("\\`*_{}[]()#+-.!|~:$^@=")


def markdown_text(value: Any) -> str:
    r"""``value`` as text for a Markdown page, shown as the same text wherever the page is rendered: no HTML,
    link, image, emphasis, heading, list or table cell can start inside it.

    Markdown punctuation is backslash-escaped, ``<``, ``>`` and ``&`` become entities, and a line break or other
    control or format character (which could end the line, start a new block or hide text) is shown as its
    ``\uXXXX`` code. A number is written as it is (its digits, point and sign are safe where a value is put).

    Examples
    --------
    >>> print(markdown_text("<img src=x onerror=alert(1)> [a](javascript:alert(1)) **b**"))
    &lt;img src\=x onerror\=alert\(1\)&gt; \[a\]\(javascript\:alert\(1\)\) \*\*b\*\*
    >>> print(markdown_text("two\nlines"), markdown_text("T-shirt/top"))
    two\\u000alines T\-shirt/top
    """
    if isinstance(value, numbers.Real):
        return str(value)
    out = []
    for char in str(value):
        if char in _MARKDOWN_ENTITIES:
            out.append(_MARKDOWN_ENTITIES[char])
        elif char in _MARKDOWN_PUNCTUATION:
            out.append("\\" + char)
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            out.append(f"\\\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def read_json(path: str | Path, default: Any = _MISSING) -> Any:
    """The JSON document at ``path``; ``default`` when the file does not exist (if given).

    A file that exists but is not valid JSON raises :class:`DataFormatError` naming it.

    Examples
    --------
    >>> read_json("/no/such/file.json", default={})
    {}
    """
    path = Path(path)
    try:
        return json.loads(read_bounded(path, "a JSON file", MAX_JSON_BYTES).decode("utf-8"))
    except FileNotFoundError:
        if default is not _MISSING:
            return default
        raise DataFormatError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: not valid JSON (not UTF-8 text: {exc.reason})") from None
    except ValueError as exc:
        raise DataFormatError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise DataFormatError(f"{path}: JSON nested too deeply to be a mnistlab file") from None
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _json_default(value: Any) -> Any:
    import numpy as np  # only when a numpy value is met: keeps this module light to import

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
