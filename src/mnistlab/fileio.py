"""Files written atomically, JSON read one way and tables written one way: a reader (or a crash) never sees a
half-written file.

Every writer in mnistlab (cache files and stamps, run folders, figures, exports, ONNX models) goes through
:func:`atomic_write`; every JSON document is read through :func:`read_json`; every table of results
(``findings.csv``, sweep tables, submissions, image manifests) is written by :func:`write_table`. Pixel data
in Kaggle's CSV layout has its own fast writer (``datasets.csvfile``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from mnistlab.errors import DataFormatError

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
    it fails (or is interrupted) it is removed and ``path`` keeps its old content.

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
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder, so the rename is atomic; a random part, so concurrent writers never share a temporary file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def json_text(data: Any) -> str:
    """``data`` as indented JSON text; numpy values become plain ones."""
    return json.dumps(data, indent=2, default=_json_default)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented JSON atomically; numpy values become plain ones."""
    with atomic_write(path) as tmp:
        tmp.write_text(json_text(data))
    return Path(path)


def write_table(
    path: str | Path, rows: Iterable[Sequence[Any]] | Iterable[dict], columns: Sequence[str]
) -> Path:
    """Write a CSV table atomically: a header of ``columns``, then ``rows`` (sequences in column order, or dicts
    read by column name, a missing key written empty). Returns ``path``.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "t.csv"
    >>> print(write_table(target, [{"a": 1, "b": "x"}, (2, "y")], ["a", "b"]).read_text(), end="")
    a,b
    1,x
    2,y
    """
    import csv

    with atomic_write(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns] if isinstance(row, dict) else row)
    return Path(path)


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
