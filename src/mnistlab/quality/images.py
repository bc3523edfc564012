"""Images that stand out without any model: empty (all 0), saturated (all 255), constant (one value)."""

from __future__ import annotations

import numpy as np

from mnistlab.datasets import Dataset
from mnistlab.quality.base import CheckedData, CheckResult, DataCheck, finding


def odd_images(dataset: Dataset) -> dict[str, list[int]]:
    """Images that stand out without any model: empty (all 0), saturated (all 255), constant (one value)."""
    flat = dataset.images.reshape(len(dataset), -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    return {
        "empty": np.flatnonzero(high == 0).tolist(),
        "saturated": np.flatnonzero(low == 255).tolist(),
        "constant": np.flatnonzero((low == high) & (low > 0) & (low < 255)).tolist(),
    }


class OddImages(DataCheck):
    """Empty, saturated and constant images in each split (:func:`odd_images`)."""

    name, title = "odd_images", "odd images"

    def find_issues(self, data: CheckedData) -> CheckResult:
        found = {split: odd_images(dataset) for split, dataset in data.splits.items()}
        counts = {f"{split} {kind}": len(v) for split, kinds in found.items() for kind, v in kinds.items()}
        rows = [
            finding(f"{kind} image", [(split, i)], "")
            for split, kinds in found.items()
            for kind, indices in kinds.items()
            for i in indices
        ]
        return CheckResult(self.name, self.title, counts, rows, found)
