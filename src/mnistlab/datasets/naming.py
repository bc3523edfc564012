"""Naming your own data: :func:`register` checks the files by reading them, records their content sha256, and
adds the name to the user's registry (``user_registry``), so that every command accepts it like a registered
data set.
"""

from __future__ import annotations

from pathlib import Path

from mnistlab.datasets.dataset import KINDS, check_class_names, class_list
from mnistlab.datasets.sources import fingerprint, path_source, read_source
from mnistlab.datasets.user_registry import (
    NAME_RULE,
    USER_REGISTRY,
    is_user_name,
    user_datasets,
    user_registry_path,
    write_user_registry,
)
from mnistlab.errors import DataNotAvailableError, ParameterError


def register(
    name: str, train: str | Path, test: str | Path | None = None, classes=None, kind: str | None = None
) -> dict:
    """Name your own data once, then use the name everywhere a registered data set is accepted.

    The entry goes into ``$MNISTLAB_HOME/datasets.toml``; the content sha256 of each file is recorded and
    checked whenever it is read, so a file changed since is refused.

    Parameters
    ----------
    name : str
        The new name (not one of the registered data sets).
    train : str or Path
        The training data: a Kaggle-layout CSV, an image folder, an IDX images file or an ``.npz``.
    test : str or Path, optional
        The test data, in any of those forms.
    classes : sequence of str, optional
        Class names in label order, for files that carry only indices.
    kind : {"digits", "objects"}, optional
        What the classes are (flips are refused on digits).

    Returns
    -------
    dict
        The entry written: files with their sha256, classes, kind.

    Examples
    --------
    >>> register("my-digits", "data/train.csv", test="data/test.csv")  # doctest: +SKIP
    >>> train_and_test("my-digits").test.source  # doctest: +SKIP
    'data/test.csv'
    """
    if not isinstance(name, str) or not is_user_name(name):
        raise ParameterError(f"data set name {name!r}: {NAME_RULE}")
    class_list(classes)
    if kind is not None and kind not in KINDS:
        raise ParameterError("kind", kind, f"one of {', '.join(map(repr, KINDS))} (or None)")
    user_datasets()  # a damaged registry is refused before any data is read, and never overwritten
    entry: dict = {"train": str(Path(train).resolve())}
    if test is not None:
        entry["test"] = str(Path(test).resolve())
    if classes is not None:
        entry["classes"] = check_class_names(classes, "classes")
    if kind is not None:
        entry["kind"] = kind
    for role in ("train", "test"):  # read once: checks the files and records what they hold
        if role in entry:
            dataset = read_source(path_source(entry[role]), role, entry.get("classes"), kind)
            entry[f"{role}_sha256"] = fingerprint(dataset)
    from filelock import FileLock, Timeout

    lock = user_registry_path().with_name(f".{USER_REGISTRY}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:  # read again under the lock: two registrations at once both keep their entry
        with FileLock(str(lock), timeout=60):
            write_user_registry({**user_datasets(), name: entry})
    except Timeout:
        raise DataNotAvailableError(f"{lock}: another process holds the registry's lock; try again") from None
    return entry
