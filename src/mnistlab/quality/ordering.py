"""Non-IID ordering: is the order of a split's images independent of what they show? A split sorted by label, or
written writer by writer or source by source, trains badly wherever its order is used as it is (a validation
split taken from its end, batches without shuffling, a streaming learner).

The test (after cleanlab's Datalab, which applies the same idea to its kNN graph): for each image, its ``k``
nearest images in feature space, and how far apart the two sit in the split (the gap over the split's length).
In a split whose order is random those gaps follow the gaps of random pairs, whatever the images look like; in an
ordered split look-alikes sit together and the gaps are short. The statistic is the Kolmogorov-Smirnov distance
between the gaps' distribution and that of random pairs (cumulative ``2x - x^2``); its p-value comes from the same
statistic on ``permutations`` random reorderings of the split, which keep every dependence between the pairs.

A split read from a class-folder layout (one sub-folder of images per class) comes in class order because that
is how the folders are read, not because of how the data was made: it is not tested, and the result says "order
comes from reading class folders" instead of a verdict (:func:`read_in_class_folder_order`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnistlab.datasets import MANIFEST_NAME, Dataset
from mnistlab.errors import ParameterError
from mnistlab.params import integer, real, rule_set
from mnistlab.quality.base import CheckedData, CheckResult, DataCheck
from mnistlab.quality.features import pixel_features

BINS = 256  # the gaps' distribution is compared on this grid (exact to 1/256 of the split's length)


def order_test(
    features: np.ndarray, k: int = 10, permutations: int = 200, seed: int = 0
) -> tuple[float, float, np.ndarray, float]:
    """The ordering test of one split: (KS statistic, p-value, each image's score, the score a random order
    exceeds with probability 0.001 per image).

    An image's score is ``1 - 3 x`` the mean gap to its ``k`` neighbours (0 or below: as in a random order, where
    the mean gap is 1/3; near 1: its look-alikes sit right beside it).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> features = rng.normal(size=(600, 5)); features[:, 0] += np.repeat(np.arange(3) * 10, 200)  # 3 clumps
    >>> order_test(features)[1] < 0.01, order_test(features[rng.permutation(600)])[1] > 0.01
    (True, True)
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(features)
    neighbours = min(k, n - 1)
    _, index = NearestNeighbors(n_neighbors=neighbours + 1).fit(features).kneighbors(features)
    pairs_i = np.repeat(np.arange(n), neighbours)
    pairs_j = index[:, 1:].ravel()
    rng = np.random.default_rng(seed)

    def statistic(position: np.ndarray) -> tuple[float, np.ndarray]:
        gaps = np.abs(position[pairs_i] - position[pairs_j]) / n
        counts = np.bincount(np.minimum((gaps * BINS).astype(int), BINS - 1), minlength=BINS)
        edges = np.arange(1, BINS + 1) / BINS
        ks = float(np.abs(np.cumsum(counts) / len(gaps) - (2 * edges - edges**2)).max())
        return ks, 1 - 3 * gaps.reshape(n, neighbours).mean(axis=1)

    observed, scores = statistic(np.arange(n))
    null_stats, null_scores = [], []
    for _ in range(permutations):
        ks, permuted_scores = statistic(rng.permutation(n))
        null_stats.append(ks)
        null_scores.append(permuted_scores)
    p_value = (1 + sum(s >= observed for s in null_stats)) / (1 + permutations)
    return observed, p_value, scores, float(np.quantile(np.concatenate(null_scores), 0.999))


FROM_CLASS_FOLDERS = (
    "order comes from reading class folders (files grouped by class), not from the data; not tested"
)


def read_in_class_folder_order(dataset: Dataset) -> bool:
    """Whether ``dataset``'s order is the order of reading a class-folder layout: an image folder (its files' own
    sizes are recorded) without a ``labels.csv`` manifest (whose order would be the user's), whose labels run in
    contiguous blocks of ascending class.

    Examples
    --------
    >>> images = np.zeros((4, 28, 28), np.uint8)
    >>> read_in_class_folder_order(Dataset(images, np.array([0, 0, 1, 1]), ["a", "b"]))  # not from a folder
    False
    """
    if dataset.originals is None or dataset.labels is None or not dataset.source:
        return False
    folder = Path(dataset.source)
    if not folder.is_dir() or (folder / MANIFEST_NAME).is_file():
        return False
    return bool(np.all(np.diff(dataset.labels) >= 0))


class NonIidOrder(DataCheck):
    """Splits whose order is not random (:func:`order_test` in the pixels' PCA space). The data-set score is the
    smallest p-value of the splits (as cleanlab's Datalab reports it: near 0 when an order is found, spread over
    0..1 when not); a split with p below ``alpha`` is reported, and its images whose look-alikes sit beside them
    more closely than a random order allows (per image, 1 in 1000) are flagged."""

    name, title = "non_iid_order", "ordered splits (non-IID)"

    _parameter_constraints = rule_set(
        k=integer(low=1),
        permutations=integer(low=1),
        alpha=real(low=0, high=1, low_open=True, high_open=True),
        seed=integer(low=0),
    )

    def __init__(self, k: int = 10, permutations: int = 200, alpha: float = 0.01, seed: int = 0) -> None:
        self.k, self.permutations, self.alpha, self.seed = k, permutations, alpha, seed

    def validate(self, data: CheckedData) -> None:
        super().validate(data)
        if 1 / (1 + self.permutations) >= self.alpha:
            raise ParameterError(
                f"permutations={self.permutations} cannot give a p-value below alpha={self.alpha}; "
                f"use at least {int(np.ceil(1 / self.alpha))}"
            )

    def find_issues(self, data: CheckedData) -> CheckResult:
        features = pixel_features(data, self.seed)
        scores = np.zeros(len(data))
        flags = np.zeros(len(data), dtype=bool)
        counts, rows, tests, untested = {}, [], {}, []
        for split, start in data.offsets.items():
            n = len(data.splits[split])
            if n < 3:
                continue
            if read_in_class_folder_order(data.splits[split]):
                untested.append(split)
                continue
            ks, p, split_scores, limit = order_test(
                features[start : start + n], self.k, self.permutations, self.seed
            )
            scores[start : start + n] = split_scores
            tests[split] = {"statistic": ks, "p_value": p, "limit": limit}
            ordered = p < self.alpha
            counts[split] = int(ordered)
            if ordered:
                flags[start : start + n] = split_scores > limit
                rows.append(
                    {
                        "kind": "non-IID order",
                        "splits": split,
                        "indices": "",
                        "labels": "",
                        "value": f"KS {ks:.3f}, p {p:.4f}",
                    }
                )
        caveat = f"{', '.join(untested)}: {FROM_CLASS_FOLDERS}" if untested else ""
        return CheckResult(
            self.name,
            f"{self.title} (neighbours' distance in the split, permutation test, p < {self.alpha})",
            counts,
            rows,
            tests,
            score=min((t["p_value"] for t in tests.values()), default=None if untested else 1.0),
            example_scores=scores,
            flags=flags,
            score_unit="1 - 3 x the mean gap in the split to its 10 nearest look-alikes (random order: about 0)",
            score_name="smallest p-value of the splits' permutation tests (near 0: ordered)",
            verdict=bool(tests) or not untested,
            caveat=caveat,
            context={"from_class_folders": untested} if untested else {},
        )
