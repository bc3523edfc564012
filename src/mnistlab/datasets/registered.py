"""The registered data sets, read from the local cache: fetch on first use, verify, report the cache's state."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np

from mnistlab.datasets.cache import FileStatus, check_file, data_home, ensure_files, read_verified, source_of
from mnistlab.datasets.dataset import Dataset
from mnistlab.datasets.idx import parse_idx
from mnistlab.datasets.registry import SPLIT_FILES, DatasetInfo, get_info
from mnistlab.errors import ChecksumError, DataFormatError

log = logging.getLogger("mnistlab.data")
Split = Literal["train", "test"]


def fetch(name: str, home: Path | None = None) -> Path:
    """Download (or find in the cache) every file of a registered data set.

    Mirrors are tried in order; a download is renamed into place only after its checksum matched.

    Parameters
    ----------
    name : str
        A registered data set.
    home : Path, optional
        The cache folder; default :func:`~mnistlab.datasets.cache.data_home` (``$MNISTLAB_HOME``).

    Returns
    -------
    Path
        The data set's cache folder.

    Examples
    --------
    >>> fetch("mnist")  # doctest: +SKIP
    PosixPath('/root/.cache/mnistlab/mnist')
    """
    return ensure_files(get_info(name), home)


def load_registered(name: str, split: Split = "train", home: Path | None = None) -> Dataset:
    """One split of a registered data set, fetched and verified on first use (``datasets.load`` takes a name or
    a path and calls this for a name).

    Examples
    --------
    >>> train = load_registered("fashion-mnist-kaggle", split="train")  # doctest: +SKIP
    >>> train.classes[0], train.labels[:3].tolist()  # doctest: +SKIP
    ('T-shirt/top', [0, 1, 2])
    """
    info = get_info(name)
    if split not in SPLIT_FILES:
        raise DataFormatError(f"unknown split {split!r} of {name}; expected 'train' or 'test'")
    folder = ensure_files(info, home)
    try:
        images, labels = (_read_split_file(folder, info, file) for file in SPLIT_FILES[split])
    except ChecksumError as exc:  # changed since it was verified: fetch it again, once
        log.warning("%s; fetching it again", exc)
        for file in SPLIT_FILES[split]:
            if not check_file(folder, info.file(file), rehash=True).verified:
                (folder / file).unlink(missing_ok=True)
        folder = ensure_files(info, home)
        images, labels = (_read_split_file(folder, info, file) for file in SPLIT_FILES[split])
    return Dataset(images, labels, info.classes, name, split, source_of(folder), info.kind)


def _read_split_file(folder: Path, info: DatasetInfo, file: str) -> np.ndarray:
    return parse_idx(read_verified(folder, info.file(file)), folder / file, ndim=1 if "labels" in file else 3)


def verify(name: str, home: Path | None = None) -> dict[str, FileStatus]:
    """Re-hash every cached file of a registered data set against its checksum (``mnistlab data verify``).

    Parameters
    ----------
    name : str
        A registered data set.
    home : Path, optional
        The cache folder; default :func:`~mnistlab.datasets.cache.data_home` (``$MNISTLAB_HOME``).

    Returns
    -------
    dict of str to FileStatus
        Per file: whether it is present and verified, its size and sha256.

    Examples
    --------
    >>> all(status.verified for status in verify("mnist").values())  # doctest: +SKIP
    True
    """
    return cache_status(name, home, rehash=True)


def cache_source(name: str, home: Path | None = None) -> str:
    """Which mirror (or manual placement) supplied the cached files of a registered data set."""
    return source_of((home or data_home()) / get_info(name).name)


def cache_status(name: str, home: Path | None = None, rehash: bool = False) -> dict[str, FileStatus]:
    """``{file name: FileStatus}`` of a registered data set's cached files (``rehash`` forces a full sha256).

    Examples
    --------
    >>> status = cache_status("mnist")  # doctest: +SKIP
    >>> all(s.verified for s in status.values())  # doctest: +SKIP
    True
    """
    info = get_info(name)
    folder = (home or data_home()) / info.name
    return {spec.name: check_file(folder, spec, rehash) for spec in info.files}


def is_cached(name: str, home: Path | None = None) -> bool:
    """True when every file of a registered data set is in the cache and verified."""
    return all(status.verified for status in cache_status(name, home).values())
