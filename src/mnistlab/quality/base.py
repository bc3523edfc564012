"""What every data check shares: the data it looks at (:class:`CheckedData`), the interface of a check
(:class:`DataCheck`) and what a check finds (:class:`CheckResult`).

A check is one class with a ``name``, a ``title`` and ``find_issues(data) -> CheckResult`` (cleanlab's issue
managers are the model); :func:`mnistlab.quality.audit` runs a list of them. Adding a check is one new class:
nothing that runs checks or writes their results changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mnistlab.datasets import Dataset
from mnistlab.errors import DataFormatError
from mnistlab.params import Rule, check_params, rule_set


@dataclass
class CheckedData:
    """The splits of one data set, and all their images and labels concatenated in split order (the indexing
    every finding uses; :meth:`locate` turns such an index back into split and position)."""

    splits: dict[str, Dataset]
    labels: np.ndarray = field(init=False, repr=False)
    # what several checks need and one computes (a model's out-of-sample probabilities, PCA features), by key
    cache: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        for dataset in self.splits.values():
            _check_dataset(dataset)
        self.labels = np.concatenate([ds.labels for ds in self.splits.values()])

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def images(self) -> np.ndarray:
        """Every split's images concatenated, read on first use: the label check never asks, so images that stay
        on disk (a shard folder) are only read whole by the checks that compare all pixels."""
        if "images" not in self.cache:
            self.cache["images"] = np.concatenate([np.asarray(ds.images) for ds in self.splits.values()])
        return self.cache["images"]

    def image_rows(self, indices) -> np.ndarray:
        """The images at ``indices`` of the concatenated splits, read from their splits (nothing else read)."""
        indices = np.asarray(indices, dtype=np.int64)
        if "images" in self.cache:
            return self.cache["images"][indices]
        out = np.empty((len(indices), 28, 28), np.uint8)
        for place, index in enumerate(indices):
            split, position = self.locate(int(index))
            out[place] = self.splits[split].images[position]
        return out

    @property
    def classes(self) -> list[str]:
        return next(iter(self.splits.values())).classes

    @property
    def offsets(self) -> dict[str, int]:
        starts = np.cumsum([0] + [len(ds) for ds in self.splits.values()])
        return dict(zip(self.splits, starts.tolist(), strict=False))

    def flags(self, found: dict[str, list[int]]) -> np.ndarray:
        """A flag per image of the concatenated splits, set for ``found``'s indices inside each split.

        Examples
        --------
        >>> data = CheckedData({"train": Dataset(np.zeros((3, 28, 28), np.uint8), np.array([0, 1, 0]), ["a", "b"]),
        ...                     "test": Dataset(np.ones((2, 28, 28), np.uint8), np.array([1, 0]), ["a", "b"])})
        >>> data.flags({"train": [2], "test": [0]}).tolist()
        [False, False, True, True, False]
        """
        flags = np.zeros(len(self), dtype=bool)
        for split, indices in found.items():
            flags[self.offsets[split] + np.asarray(indices, dtype=int)] = True
        return flags

    def locate(self, index: int) -> tuple[str, int]:
        """(split, index inside the split) of an index into the concatenated splits.

        Examples
        --------
        >>> data = CheckedData({"train": Dataset(np.zeros((3, 28, 28), np.uint8), np.array([0, 1, 0]), ["a", "b"]),
        ...                     "test": Dataset(np.ones((2, 28, 28), np.uint8), np.array([1, 0]), ["a", "b"])})
        >>> data.locate(1), data.locate(4)
        (('train', 1), ('test', 1))
        """
        for name, start in reversed(list(self.offsets.items())):
            if index >= start:
                return name, index - start
        raise IndexError(index)


@dataclass
class CheckResult:
    """What one check found.

    Attributes
    ----------
    name : str
        The check's name (``DataCheck.name``).
    title : str
        How the command line and the page name it ("exact duplicate pairs").
    counts : dict
        The data-set-level numbers (``health.json``; the command line prints them), by split or kind.
    rows : list of dict
        One row per finding: kind, splits, indices, labels, value, suggested_probability (``findings.csv``).
    details : Any
        The check's own record of what it found (duplicate groups, pairs, suspects), for galleries and tests.
    score : float or None
        The data set's score for this check, 0..1: the share of images not flagged (1: nothing found); for rare
        classes the rarest class's share over an equal share; for ordering, the permutation test's p-value.
    example_scores : ndarray or None
        One number per image (the concatenated splits' order), in the check's own unit, higher meaning more of
        an issue (``score_unit`` says what it is); ``per_image.csv`` holds them.
    flags : ndarray of bool or None
        Which images the check flags.
    score_unit : str
        What ``example_scores`` measure, in words.
    score_name : str
        What ``score`` is, in words (printed beside it: the command line's table, ``health.json``, the page).
    verdict : bool
        False when the check could not judge this data (a label judge that learned too little): it then flags
        nothing, gives no score, and ``caveat`` says why.
    caveat : str
        What a reader must know beside the counts: why there is no verdict, or why to read it with care (the
        command line prints it as a warning, ``health.json`` and the page beside the counts).
    context : dict
        What the counts depend on, for ``health.json`` (the judge of the labels, its accuracy, how each split was
        scored).
    """

    name: str
    title: str
    counts: dict
    rows: list[dict]
    details: Any = None
    score: float | None = None
    example_scores: np.ndarray | None = field(default=None, repr=False)
    flags: np.ndarray | None = field(default=None, repr=False)
    score_unit: str = ""
    score_name: str = "share of images not flagged"
    verdict: bool = True
    caveat: str = ""
    context: dict = field(default_factory=dict)

    def worst(self, n: int) -> np.ndarray:
        """Indices of up to ``n`` flagged images, highest example score first.

        Examples
        --------
        >>> result = CheckResult("x", "x", {}, [], example_scores=np.array([0.1, 3.0, 2.0]),
        ...                      flags=np.array([False, True, True]))
        >>> result.worst(5).tolist()
        [1, 2]
        """
        if self.flags is None or self.example_scores is None:
            return np.array([], dtype=int)
        flagged = np.flatnonzero(self.flags)
        return flagged[np.argsort(-self.example_scores[flagged], kind="stable")][:n]

    def describe(self) -> str:
        """The counts as one line ("train 1, across 2"), or "none"; "NO VERDICT" and why, for a check that could
        not judge.

        Examples
        --------
        >>> CheckResult("x", "x", {"train": 1, "across": 0}, []).describe()
        'train 1'
        >>> CheckResult("x", "x", {}, [], verdict=False, caveat="the judge is too weak").describe()
        'NO VERDICT: the judge is too weak'
        """
        if not self.verdict:
            return f"NO VERDICT: {self.caveat}"
        shown = [f"{key} {value}" for key, value in self.counts.items() if value]
        return ", ".join(shown) or "none"


class DataCheck:
    """The interface of a data check. Subclasses set ``name`` (the key of its counts in ``health.json``) and
    ``title``, and implement :meth:`find_issues`; :meth:`validate` refuses bad settings before any check runs,
    :meth:`galleries` draws what a person should look at."""

    name: str = ""
    title: str = ""
    # What each setting accepts, as an estimator's _parameter_constraints (tests/test_parameter_rules.py checks
    # every rule of every check)
    _parameter_constraints: Mapping[str, Rule] = rule_set()

    def validate(self, data: CheckedData) -> None:
        """Raise a ``ParameterError`` for a setting that breaks its rule (``_parameter_constraints``) or cannot
        work on ``data`` (called before any check runs; a subclass that checks more calls this first)."""
        settings = {name: getattr(self, name) for name in self._parameter_constraints}
        check_params(self.title, settings, self._parameter_constraints)

    def find_issues(self, data: CheckedData) -> CheckResult:
        raise NotImplementedError

    def galleries(self, data: CheckedData, result: CheckResult, n: int) -> dict:
        """``{file name: Display}`` of up to ``n`` examples of what was found (none by default)."""
        return {}

    @staticmethod
    def worst_gallery(data: CheckedData, result: CheckResult, n: int, file: str, title: str, caption) -> dict:
        """``{file: gallery}`` of the ``n`` flagged images with the highest scores (:meth:`CheckResult.worst`),
        ``caption(index)`` under each; nothing when none is flagged."""
        from mnistlab import viz

        chosen = result.worst(n)
        if not len(chosen):
            return {}
        captions = [caption(int(i)) for i in chosen]
        return {file: viz.ImageGalleryDisplay(data.image_rows(chosen), captions, cols=8, title=title)}


def finding(
    kind: str, places: list[tuple[str, int]], labels: str, value: str = "", suggested_probability: str = ""
) -> dict:
    """One row of ``findings.csv``; ``suggested_probability`` is for a suspected label error only: the judge's
    out-of-sample probability of the class it suggests (``value`` is that of the recorded class).

    Examples
    --------
    >>> finding("suspected label error", [("train", 4)], "1 -> 7", "0.0310", "0.9120")["suggested_probability"]
    '0.9120'
    """
    return {
        "kind": kind,
        "splits": " ".join(s for s, _ in places),
        "indices": " ".join(str(i) for _, i in places),
        "labels": labels,
        "value": value,
        "suggested_probability": suggested_probability,
    }


def _check_dataset(dataset: Dataset) -> None:
    where = dataset.source or dataset.name
    if len(dataset) == 0:
        raise DataFormatError(f"{where}: no images")
    if dataset.labels is None:
        raise DataFormatError(f"{where}: no labels; health checks need labelled data")
    if len(np.unique(dataset.labels)) < 2:
        raise DataFormatError(f"{where}: one class only; label checks need two or more")
