"""Review decisions about a data set's images (keep, relabel, drop), and the cleaned copy they make.

A person going through suspected label errors decides image by image. Each decision is appended to a decisions
file as one JSON line the moment it is made, so nothing is lost when a browser or a terminal closes; the file's
first line names the data set and the content hash and size of each split, so decisions are never applied to
another data set or another version of it. :func:`apply_fixes` turns the decisions into cleaned splits, and
:func:`write_fixed` writes them in any export format with ``fixes.json``, the record of what changed and why.
The original data is never modified.

The file (JSON Lines)::

    {"format": 1, "data": "mnist", "classes": ["0", ..., "9"], "splits": {"train": {"sha256": "...", "size": 60000}}}
    {"split": "train", "index": 7, "action": "relabel", "label": "3", "reason": "looks like a 3"}
    {"split": "train", "index": 9, "action": "drop", "reason": "not a digit"}

When the same image is decided more than once (a person changed their mind, or two review pages wrote to one
file), the last line wins; ``fixes.json`` counts the decisions that were superseded.

Examples
--------
>>> import tempfile, numpy as np
>>> from mnistlab.datasets import Dataset
>>> train = Dataset(np.zeros((3, 28, 28), np.uint8), np.array([0, 1, 1]), ["a", "b"], "toy", "train")
>>> path = Path(tempfile.mkdtemp()) / "decisions.jsonl"
>>> start_decisions(path, {"train": train})
>>> record_decision(path, "train", 1, "relabel", label="a", reason="looks like an a").action
'relabel'
>>> _ = record_decision(path, "train", 2, "drop")
>>> fixed, record = apply_fixes({"train": train}, path)
>>> fixed["train"].labels.tolist(), record["counts"]
([0, 0], {'keep': 0, 'relabel': 1, 'drop': 1, 'superseded': 0})
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab.datasets.dataset import Dataset, class_name
from mnistlab.datasets.sources import fingerprint
from mnistlab.errors import DataFormatError, ParameterError
from mnistlab.fileio import open_regular, write_json, writing

FORMAT = 1
ACTIONS = ("keep", "relabel", "drop")
MAX_DECISIONS_BYTES = 64 << 20  # ~500,000 decisions; a review of 70,000 images writes at most 70,000
MAX_REASON_CHARS = 500
RECORD_FILE = "fixes.json"


@dataclass(frozen=True)
class Decision:
    """One person's decision about one image: ``action`` is keep, relabel (to class name ``label``) or drop."""

    split: str
    index: int
    action: str
    label: str | None = None
    reason: str = ""
    line: int = 0  # where it was read from (1-based), for messages


def header(splits: dict[str, Dataset]) -> dict:
    """The first line of a decisions file for ``splits``: the data set's name, classes and each split's content
    hash and size."""
    first = next(iter(splits.values()))
    return {
        "format": FORMAT,
        "data": first.name,
        "classes": list(first.classes),
        "splits": {name: {"sha256": fingerprint(ds), "size": len(ds)} for name, ds in splits.items()},
    }


def start_decisions(path: str | Path, splits: dict[str, Dataset]) -> None:
    """Create a decisions file for ``splits``, or check that an existing one is for exactly these splits.

    Its first line names the data set, its classes and each split's content hash and size, so decisions are
    never applied to other data. A file for other data is refused, never overwritten.

    Parameters
    ----------
    path : str or Path
        The decisions file (JSON lines); a FIFO or a symbolic link is refused.
    splits : dict of str to Dataset
        The data under review.

    Examples
    --------
    >>> start_decisions("mnist-review.jsonl", load_splits("mnist"))  # doctest: +SKIP
    """
    path = Path(path)
    expected = header(splits)
    if path.exists():
        _check_header(path, _read_lines(path)[0][1], expected)
        return
    _append(path, expected, create=True)


def record_decision(
    path: str | Path, split: str, index: int, action: str, label: str | None = None, reason: str = ""
) -> Decision:
    """Append one decision to a decisions file, written and flushed to disk before this returns.

    Parameters
    ----------
    path : str or Path
        The decisions file (created by :func:`start_decisions`).
    split : str
        The split the image is in (checked against the file's header).
    index : int
        The image's position in its split (checked to be inside it).
    action : {"keep", "relabel", "drop"}
        What to do with the image.
    label : str, optional
        The new class name, for ``relabel`` (one of the classes).
    reason : str
        Why, kept in the record.

    Returns
    -------
    Decision
        The decision as written.

    Examples
    --------
    >>> record_decision("mnist-review.jsonl", "train", 59915, "relabel", label="7")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise ParameterError(f"{path}: no decisions file; start_decisions(path, splits) creates it")
    lines = _read_lines(path, header_only=True)
    decision = _checked(
        {"split": split, "index": index, "action": action, "label": label, "reason": reason},
        lines[0][1],
        path,
        line=0,
    )
    entry = {"split": split, "index": int(index), "action": action, "reason": reason, "time": _now()}
    if action == "relabel":
        entry["label"] = decision.label  # the class's own spelling (NFC)
    _append(path, entry)
    return decision


def read_decisions(
    path: str | Path, splits: dict[str, Dataset]
) -> tuple[dict[tuple[str, int], Decision], int]:
    """The decisions of ``path`` for ``splits``, the last one per image, and how many earlier ones they
    superseded. Errors name the file and line: another data set or version, an unknown split, an index outside
    its split, an unknown action or class, a malformed line."""
    path = Path(path)
    lines = _read_lines(path)
    _check_header(path, lines[0][1], header(splits))
    decided: dict[tuple[str, int], Decision] = {}
    superseded = 0
    for number, entry in lines[1:]:
        decision = _checked(entry, lines[0][1], path, number)
        key = (decision.split, decision.index)
        superseded += key in decided
        decided[key] = decision
    return decided, superseded


def apply_fixes(splits: dict[str, Dataset], decisions: str | Path) -> tuple[dict[str, Dataset], dict]:
    """Cleaned copies of ``splits`` and the record of what changed; ``splits`` are not modified.

    Parameters
    ----------
    splits : dict of str to Dataset
        The data the decisions were made on (checked against the decisions file's header).
    decisions : str or Path
        The decisions file (:func:`start_decisions`, :func:`record_decision`); the last decision about an
        image wins.

    Returns
    -------
    tuple of (dict of str to Dataset, dict)
        The cleaned splits (relabelled images get their new class, dropped ones are left out, order kept), and
        the record: every decision with the old and new label, counts, and each split's content hash and size
        before and after.

    Examples
    --------
    >>> splits = load_splits("mnist")  # doctest: +SKIP
    >>> fixed, record = apply_fixes(splits, "mnist-review.jsonl")  # doctest: +SKIP
    """
    decided, superseded = read_decisions(decisions, splits)
    classes = next(iter(splits.values())).classes
    fixed: dict[str, Dataset] = {}
    changes = []
    for name, ds in splits.items():
        if ds.labels is None:
            if any(split == name for split, _ in decided):
                raise DataFormatError(f"{decisions}: decisions about split {name!r}, which has no labels")
            fixed[name] = ds
            continue
        labels = np.array(ds.labels, copy=True)
        keep = np.ones(len(ds), dtype=bool)
        for (split, index), decision in sorted(decided.items(), key=lambda item: item[0][1]):
            if split != name:
                continue
            old = classes[int(ds.labels[index])]
            if decision.action == "relabel":
                labels[index] = classes.index(decision.label)
            elif decision.action == "drop":
                keep[index] = False
            changes.append(
                {
                    "split": name,
                    "index": index,
                    "action": decision.action,
                    "old_label": old,
                    "new_label": decision.label if decision.action == "relabel" else None,
                    "reason": decision.reason,
                }
            )
        fixed[name] = Dataset(
            ds.images[keep], labels[keep], ds.classes, ds.name, ds.split, ds.source, ds.kind
        )
    counts = {action: sum(c["action"] == action for c in changes) for action in ACTIONS}
    record = {
        "data": next(iter(splits.values())).name,
        "decisions": str(decisions),
        "counts": {**counts, "superseded": superseded},
        "before": {name: {"sha256": fingerprint(ds), "size": len(ds)} for name, ds in splits.items()},
        "after": {name: {"sha256": fingerprint(ds), "size": len(ds)} for name, ds in fixed.items()},
        "changes": changes,
    }
    return fixed, record


def write_fixed(
    data: str | Path, decisions: str | Path, out: str | Path, fmt: str, overwrite: bool = False
) -> tuple[list[Path], dict]:
    """Apply a review's decisions to every split of a data set and write the cleaned copy.

    Parameters
    ----------
    data : str or Path
        A registered name, or files.
    decisions : str or Path
        The decisions file.
    out : str or Path
        The folder of the cleaned copy, with ``fixes.json`` beside it.
    fmt : {"csv", "kaggle-csv", "idx", "png", "npz"}
        The export format.
    overwrite : bool
        Replace files (``fixes.json`` too) that no export or fix of this data set wrote there; without it they
        are refused, as :func:`~mnistlab.datasets.export` refuses them, before anything is written.

    Returns
    -------
    tuple of (list of Path, dict)
        The paths written and the record (as :func:`apply_fixes`).

    Examples
    --------
    >>> write_fixed("mnist", "decisions.jsonl", "exports/mnist-clean", "npz")  # doctest: +SKIP
    """
    from mnistlab.datasets.files import check_export, export, record_written
    from mnistlab.datasets.loading import load_splits

    _check_not_the_original(data, Path(out))
    splits = load_splits(data)
    fixed, record = apply_fixes(splits, decisions)
    for ds in fixed.values():  # every file checked before any is written: a refusal leaves `out` as it was
        check_export(ds, out, fmt, overwrite, also=[RECORD_FILE])
    written = [export(ds, out, fmt, overwrite) for ds in fixed.values()]
    write_json(Path(out) / RECORD_FILE, record)
    record_written(out, RECORD_FILE)
    return written, record


def _check_not_the_original(data: str | Path, out: Path) -> None:
    """The cleaned copy never goes where the original lives: the folder of a data file (an export of the same data
    set there would be replaced in place), the data folder itself, or mnistlab's data cache."""
    from mnistlab.datasets.cache import data_home

    target = out.resolve()
    source = Path(data)
    places = [data_home().resolve()]
    if source.exists():
        places.append((source.parent if source.is_file() else source).resolve())
    for place in places:
        if target == place or place in target.parents:
            raise ParameterError(
                f"out={out}: inside {place}, where the original data lives; write the cleaned copy elsewhere"
            )


# ------------------------------------------------------------------------------------------------ the file


def _read_lines(path: Path, header_only: bool = False) -> list[tuple[int, dict]]:
    """The file's JSON lines as (line number, object). Lines end at ``\\n`` only (JSON Lines): Python's
    ``splitlines`` would also end one at U+2028, U+2029, U+0085 and other characters a reason may hold."""
    with open_regular(path, "a decisions file (JSON lines)", MAX_DECISIONS_BYTES) as file:
        raw = file.readline() if header_only else file.read()
    pieces = raw.split(b"\n")
    lines = []
    for number, piece in enumerate(pieces, start=1):
        # a byte-order mark and CRLF line ends: the file was saved by an editor, still the same decisions
        text = piece.decode("utf-8-sig" if number == 1 else "utf-8", "replace").removesuffix("\r")
        if not text.strip():
            continue
        try:
            entry = json.loads(text)
        except json.JSONDecodeError:
            if number == len(pieces):
                continue  # a last line cut short by a crash mid-write: that one decision was never made
            raise DataFormatError(f"{path}, line {number}: not a JSON object") from None
        if not isinstance(entry, dict):
            raise DataFormatError(
                f"{path}, line {number}: expected a JSON object, got {type(entry).__name__}"
            )
        lines.append((number, entry))
    if not lines or lines[0][1].get("format") != FORMAT:
        raise DataFormatError(
            f"{path}: not a mnistlab decisions file (its first line must be the header written by "
            "start_decisions, with format 1)"
        )
    return lines


def _check_header(path: Path, found: dict, expected: dict) -> None:
    if found.get("data") != expected["data"] or found.get("classes") != expected["classes"]:
        raise DataFormatError(
            f"{path}: decisions about data set {found.get('data')!r}, not {expected['data']!r} (or other classes)"
        )
    recorded = found.get("splits")
    if not isinstance(recorded, dict):
        raise DataFormatError(f"{path}: the header has no splits")
    for name, facts in recorded.items():
        if name not in expected["splits"]:
            raise DataFormatError(
                f"{path}: decisions about split {name!r}; {expected['data']!r} has {', '.join(expected['splits'])}"
            )
        if facts != expected["splits"][name]:
            raise DataFormatError(
                f"{path}: made for another version of {expected['data']!r}/{name} (sha256 {str(facts)[:90]}...; "
                f"this one is {expected['splits'][name]['sha256'][:16]}..., {expected['splits'][name]['size']} "
                "images); the decisions would land on the wrong images"
            )


def _checked(entry: dict, head: dict, path: Path, line: int) -> Decision:
    where = f"{path}, line {line}" if line else str(path)
    split, index, action = entry.get("split"), entry.get("index"), entry.get("action")
    label, reason = entry.get("label"), entry.get("reason", "")
    label = class_name(label) if isinstance(label, str) else label  # as the classes are kept: NFC
    splits = head.get("splits", {})
    if split not in splits:
        raise ParameterError(f"{where}: split {split!r}; the decisions file is for {', '.join(splits)}")
    size = splits[split]["size"]
    if isinstance(index, bool) or not isinstance(index, int | np.integer) or not 0 <= index < size:
        raise ParameterError(f"{where}: index {index!r}; expected 0..{size - 1} in split {split!r}")
    if action not in ACTIONS:
        raise ParameterError(f"{where}: action {action!r}; expected one of {', '.join(ACTIONS)}")
    if action == "relabel" and label not in head.get("classes", []):
        raise ParameterError(
            f"{where}: label {label!r}; expected one of {', '.join(head.get('classes', []))}"
        )
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS:
        raise ParameterError(f"{where}: reason must be text of at most {MAX_REASON_CHARS} characters")
    return Decision(split, int(index), action, label if action == "relabel" else None, reason, line)


def _append(path: Path, entry: dict, create: bool = False) -> None:
    """One line appended with O_APPEND and fsynced: two writers' lines never interleave mid-line, and a decision
    reported as saved survives a crash. A full disk is a :class:`~mnistlab.errors.WriteError`, and the file is
    cut back to where it was, so no part of the line is left for the next one to run into."""
    flags = (
        os.O_WRONLY | os.O_APPEND | os.O_CREAT | (os.O_EXCL if create else 0) | getattr(os, "O_NOFOLLOW", 0)
    )
    data = (json_line(entry) + "\n").encode()
    with writing(path):
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise DataFormatError(
                    f"{path}: a symbolic link; decisions are appended to a regular file only"
                ) from None
            raise
        try:
            start = os.fstat(fd).st_size
            try:
                written = 0
                while written < len(data):  # a nearly full disk may take part of the line
                    written += os.write(fd, data[written:])
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                raise
        finally:
            os.close(fd)


# Characters that end a line for some readers of JSON Lines (Python's splitlines, JavaScript before ES2019) and
# lone surrogates (which UTF-8 cannot hold): written as \\uXXXX escapes, which every JSON reader reads back.
_ESCAPED_IN_A_LINE = re.compile("[\u0085\u2028\u2029\ud800-\udfff]")


def json_line(entry: dict) -> str:
    """``entry`` as one line of JSON that reads back exactly: readable text stays as it is, but nothing in it
    can end the line for any reader or fail to encode as UTF-8.

    Examples
    --------
    >>> json_line({"reason": "a\\u2028b"})
    '{"reason": "a\\\\u2028b"}'
    >>> json.loads(json_line({"reason": "\\ud800 \\x85 \\u2029 ok"}))["reason"] == "\\ud800 \\x85 \\u2029 ok"
    True
    """
    text = json.dumps(
        entry, ensure_ascii=False
    )  # U+2028 etc. only occur inside strings: an escape is valid there
    return _ESCAPED_IN_A_LINE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
