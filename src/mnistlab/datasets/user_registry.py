"""The user's registry of data set names: ``$MNISTLAB_HOME/datasets.toml``, read with every field checked and
written atomically (:func:`~mnistlab.datasets.register` adds to it; the resolver reads it).

Examples
--------
>>> is_user_name("my-digits"), is_user_name("mnist")
(True, False)
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from mnistlab.datasets.dataset import KINDS, check_class_names
from mnistlab.datasets.registry import REGISTRY
from mnistlab.errors import DataFormatError, ParameterError
from mnistlab.fileio import MAX_TEXT_BYTES, read_bounded

USER_REGISTRY = "datasets.toml"


_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def user_registry_path() -> Path:
    """``$MNISTLAB_HOME/datasets.toml``: the data sets a user named with :func:`register`."""
    from mnistlab.datasets.cache import data_home

    return data_home() / USER_REGISTRY


def user_datasets() -> dict[str, dict]:
    """The entries of the user's registry file (empty when there is none), each field checked.

    The file is read only when it is a regular file (a link to one is fine): a FIFO, a device, a folder or a
    dangling link there is refused, never read as "no registry" (which :func:`register` would then overwrite).
    Every problem is one :class:`~mnistlab.errors.DataFormatError` naming the file, the entry and the field.

    Examples
    --------
    >>> import os, tempfile
    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"MNISTLAB_HOME": tempfile.mkdtemp()}):
    ...     _ = user_registry_path().write_text('[datasets.mine]\\ntrain = 5\\n')
    ...     user_datasets()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mnistlab.errors.DataFormatError: .../datasets.toml: [datasets.mine] train = 5: expected a path (text in quotes)
    """
    import tomllib

    path = user_registry_path()
    if not os.path.lexists(path):
        return {}
    if path.is_symlink() and not path.exists():
        raise DataFormatError(
            f"{path}: a link to {os.readlink(path)}, which does not exist; expected a data set registry"
        )
    try:
        text = read_bounded(path, "a data set registry (TOML)", MAX_TEXT_BYTES).decode(
            "utf-8-sig"
        )  # BOM: Notepad
        document = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise DataFormatError(f"{path}: not valid TOML ({str(exc)[:200] or 'nested too deeply'})") from None
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return _checked_registry(document, path)


_ENTRY_FIELDS = ("train", "test", "classes", "kind", "train_sha256", "test_sha256")


def _checked_registry(document: dict, path: Path) -> dict[str, dict]:
    """The ``[datasets.NAME]`` tables of a parsed registry, refused at the first field of the wrong type."""
    other = [key for key in document if key != "datasets"]
    if other:  # a typo ([dataset.x]) would otherwise read as an empty registry, then be overwritten
        raise DataFormatError(f"{path}: unknown table {other[0]!r}; expected [datasets.NAME] tables only")
    entries = document.get("datasets", {})
    if not isinstance(entries, dict):
        raise DataFormatError(
            f"{path}: 'datasets' must hold [datasets.NAME] tables, got {_toml_type(entries)}"
        )
    for name, entry in entries.items():
        where = f"{path}: [datasets.{_shown_name(name)}]"
        if not is_user_name(name):
            raise DataFormatError(f"{where}: {NAME_RULE}")
        if not isinstance(entry, dict):
            raise DataFormatError(f"{where}: expected a table with train = 'PATH', got {_toml_type(entry)}")
        _check_entry(entry, where)
    return entries


def _check_entry(entry: dict, where: str) -> None:
    unknown = [key for key in entry if key not in _ENTRY_FIELDS]
    if unknown:
        raise DataFormatError(f"{where}: unknown field {unknown[0]!r}; expected {', '.join(_ENTRY_FIELDS)}")
    if "train" not in entry:
        raise DataFormatError(f"{where}: no train field; expected train = 'PATH'")
    for role in ("train", "test"):
        value = entry.get(role, "")
        if role in entry and (not isinstance(value, str) or not value.strip()):
            raise DataFormatError(f"{where} {role} = {_shown(value)}: expected a path (text in quotes)")
        checksum = entry.get(f"{role}_sha256", "0" * 64)
        if not (
            isinstance(checksum, str) and len(checksum) == 64 and set(checksum) <= set("0123456789abcdef")
        ):
            raise DataFormatError(
                f"{where} {role}_sha256 = {_shown(checksum)}: expected 64 lowercase hex digits (a sha256)"
            )
    classes = entry.get("classes", [])
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise DataFormatError(
            f"{where} classes = {_shown(classes)}: expected a list of class names in label order, "
            'e.g. classes = ["cat", "dog"]'
        )
    if "classes" in entry:
        check_class_names(classes, f"{where} classes")
    if "kind" in entry and entry["kind"] not in KINDS:
        raise DataFormatError(
            f"{where} kind = {_shown(entry['kind'])}: expected one of {', '.join(map(repr, KINDS))}"
        )


def _shown(value) -> str:
    """A TOML value as the message shows it: text quoted (repr escapes anything unprintable), at most 60 chars."""
    text = (
        str(value).lower()
        if isinstance(value, bool)
        else repr(value)
        if isinstance(value, str | list)
        else str(value)
    )
    return text if len(text) <= 60 else text[:57] + "..."


def _toml_type(value) -> str:
    named = {
        dict: "a table",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
    }
    return named.get(type(value), "a date or time")


def _shown_name(name: str) -> str:
    """An entry's name as a message shows it: quoted only when it is not a plain name."""
    return name if name and set(name) <= _NAME_CHARS else _toml_string(name)


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string: quotes, backslashes and every control character escaped (JSON's
    escapes are not all TOML: a surrogate pair is refused by TOML readers)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif unicodedata.category(char) == "Cc":
            out.append(f"\\u{ord(char):04X}")
        elif unicodedata.category(char) == "Cs":  # a file name that is not text (undecodable bytes)
            raise ParameterError(f"{text!a}: not a name TOML can record (not valid Unicode text)")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_string(str(value))


def is_user_name(name: str) -> bool:
    return bool(name) and name not in REGISTRY and set(name) <= _NAME_CHARS


NAME_RULE = "expected lowercase letters, digits, '-', '_' or '.', and not a built-in name ({})".format(
    ", ".join(REGISTRY)
)


def write_user_registry(entries: dict[str, dict]) -> None:
    """Write the registry atomically; through a link to a regular file (a dotfiles folder), so the link stays.
    The text is read back before it replaces the file: what cannot be read back is never written."""
    import tomllib

    from mnistlab.fileio import atomic_write

    lines = [
        "# Data sets named with mnistlab.datasets.register(); edit with care: checksums are checked.",
        "",
    ]
    for name, entry in entries.items():
        lines.append(f"[datasets.{_toml_string(name)}]")  # quoted: a dot in a name is no sub-table
        lines += [f"{key} = {_toml_value(value)}" for key, value in entry.items()]
        lines.append("")
    text = "\n".join(lines)
    if tomllib.loads(text) != {"datasets": entries}:  # a guard: the escaping above is the only writer
        raise ParameterError("the data set registry entry cannot be written as TOML that reads back the same")
    path = user_registry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path.resolve() if path.is_symlink() else path) as tmp:
        tmp.write_text(text, encoding="utf-8")
