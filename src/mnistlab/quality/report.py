"""Running checks over a data set and what comes out: :func:`audit` and the :class:`HealthReport`."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from mnistlab.datasets import Dataset
from mnistlab.quality.base import CheckedData, CheckResult, DataCheck

log = logging.getLogger("mnistlab.quality")


@dataclass
class HealthReport:
    """The results of the checks run on one data set's splits, by check name."""

    data: CheckedData
    results: dict[str, CheckResult]

    @property
    def splits(self) -> dict[str, Dataset]:
        return self.data.splits

    def __getitem__(self, name: str) -> CheckResult:
        return self.results[name]

    def duplicate_pairs(self) -> dict[str, int]:
        """Pairs of identical images inside each split and across splits ("leakage"), and how many conflict."""
        return self.results["exact_duplicate_pairs"].counts

    def summary(self) -> dict:
        """``health.json``: the images per split, then each check's counts under its name, the data-set scores
        (0..1) of the checks that give one and what each is (``score_meanings``), what the counts depend on (``context``: the judge of the labels, its
        out-of-fold accuracy and how each split was scored) and each check's caveat (``warnings``: why a check
        gave no verdict, or why to read it with care)."""
        images = {name: len(ds) for name, ds in self.splits.items()}
        scores = {name: r.score for name, r in self.results.items() if r.score is not None}
        meanings = {name: self.results[name].score_name for name in scores}
        counts = {name: result.counts for name, result in self.results.items()}
        context = {name: r.context for name, r in self.results.items() if r.context}
        caveats = {name: r.caveat for name, r in self.results.items() if r.caveat}
        verdicts = [name for name, r in self.results.items() if not r.verdict]
        return {
            "images": images,
            **counts,
            **({"scores": scores, "score_meanings": meanings} if scores else {}),
            **({"context": context} if context else {}),
            **({"warnings": caveats} if caveats else {}),
            **({"no_verdict": verdicts} if verdicts else {}),
        }

    def per_image(self) -> tuple[list[str], list[dict]]:
        """The columns and rows of ``per_image.csv``: every image's split, index and label, then each check's
        score of it (``<check>``) and flag (``<check> flagged``, 0/1), for the checks that score images.

        Examples
        --------
        >>> import numpy as np
        >>> from mnistlab.quality import ExactDuplicates
        >>> images = np.zeros((3, 28, 28), np.uint8); images[2] = 5
        >>> report = audit({"train": Dataset(images, np.array([0, 0, 1]), ["a", "b"])}, [ExactDuplicates()])
        >>> report.per_image()[1][1]
        {'split': 'train', 'index': 1, 'label': 'a', 'exact_duplicate_pairs': 1.0, 'exact_duplicate_pairs flagged': 1}
        """
        scored = [r for r in self.results.values() if r.example_scores is not None and r.flags is not None]
        columns = ["split", "index", "label"]
        for result in scored:
            columns += [result.name, f"{result.name} flagged"]
        split_names = [name for name, ds in self.splits.items() for _ in range(len(ds))]
        positions = [i for ds in self.splits.values() for i in range(len(ds))]
        classes = self.data.classes
        rows = []
        for k, label in enumerate(self.data.labels.tolist()):
            row = {"split": split_names[k], "index": positions[k], "label": classes[label]}
            for result in scored:
                row[result.name] = round(float(result.example_scores[k]), 6)
                row[f"{result.name} flagged"] = int(result.flags[k])
            rows.append(row)
        return columns, rows

    def findings_table(self) -> list[dict]:
        """One row per finding: kind, split(s), indices, labels, distance or score, and for a suspected label error
        the probability of the suggested class (what ``findings.csv`` holds)."""
        return [row for result in self.results.values() for row in result.rows]


# suggested_probability came last (a suspected label error's probability of the suggested class; empty for other
# kinds): readers of older findings.csv files, without it, still work
FINDING_COLUMNS = ["kind", "splits", "indices", "labels", "value", "suggested_probability"]


def audit(splits: dict[str, Dataset], checks: Sequence[DataCheck]) -> HealthReport:
    """Run ``checks`` on a data set's ``splits``: every check's settings are validated first, so a mistake
    fails before any long check runs.

    Examples
    --------
    >>> import numpy as np
    >>> from mnistlab.quality import ExactDuplicates
    >>> images = np.zeros((4, 28, 28), np.uint8); images[1:3] = 1  # 0 = 3, 1 = 2
    >>> train = Dataset(images, np.array([0, 1, 1, 1]), ["a", "b"])
    >>> audit({"train": train}, [ExactDuplicates()]).duplicate_pairs()
    {'train': 2, 'train conflicting': 1}
    """
    data = CheckedData(splits)
    for check in checks:
        check.validate(data)
    results = {}
    for check in checks:
        start = time.perf_counter()
        results[check.name] = check.find_issues(data)
        log.info("%s of %d images: %.1f s", check.title, len(data), time.perf_counter() - start)
    return HealthReport(data, results)
