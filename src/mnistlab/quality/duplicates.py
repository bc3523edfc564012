"""Exact and near duplicates, inside each split and across splits (train/test leakage), and conflicting labels.

Exact duplicates compare the image bytes (one sort of the rows, no hashing collisions). Near duplicates are pairs
whose distance, after a 50-component PCA of the pixels, is below ``near_ratio`` times the median
nearest-neighbour distance *of their class*: thin digits such as "1" sit close to each other, and a threshold
relative to their own class keeps them from flooding the list.

>>> import numpy as np
>>> images = np.zeros((4, 28, 28), np.uint8); images[1, 5, 5] = 9; images[3, 5, 5] = 9  # 0 = 2, 1 = 3
>>> [(g.indices, g.labels) for g in exact_duplicates(images, np.array([1, 2, 1, 5]))]
[([0, 2], [1, 1]), ([1, 3], [2, 5])]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mnistlab.errors import ParameterError
from mnistlab.quality.base import CheckedData, CheckResult, DataCheck, finding


@dataclass(frozen=True)
class DuplicateGroup:
    """Images with identical pixels: their indices (in the concatenated splits) and labels."""

    indices: list[int]
    labels: list[int]

    @property
    def conflicting(self) -> bool:
        return len(set(self.labels)) > 1

    @property
    def pairs(self) -> int:
        return len(self.indices) * (len(self.indices) - 1) // 2


def exact_duplicates(images: np.ndarray, labels: np.ndarray | None = None) -> list[DuplicateGroup]:
    """Groups of byte-identical images, each group's indices ascending, groups in order of their first index."""
    rows = np.ascontiguousarray(images.reshape(len(images), -1))
    keys = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    repeated = np.flatnonzero(counts[inverse] > 1)
    order = repeated[np.argsort(inverse[repeated], kind="stable")]
    groups = np.split(order, np.flatnonzero(np.diff(inverse[order])) + 1) if len(order) else []
    labels = np.full(len(images), -1) if labels is None else np.asarray(labels)
    found = [DuplicateGroup(sorted(g.tolist()), labels[sorted(g.tolist())].tolist()) for g in groups]
    return sorted(found, key=lambda g: g.indices[0])


def near_duplicates(
    images: np.ndarray, labels: np.ndarray, near_ratio: float = 0.2, seed: int = 0
) -> list[tuple]:
    """(i, j, distance) pairs closer than ``near_ratio`` times their class's median nearest-neighbour distance
    (in a 50-component PCA of the pixels), identical images left out (they are exact duplicates)."""
    from sklearn.decomposition import PCA
    from sklearn.neighbors import NearestNeighbors

    _check_ratio(near_ratio)
    flat = images.reshape(len(images), -1).astype(np.float32)
    reduced = PCA(n_components=min(50, len(images) - 1), random_state=seed).fit_transform(flat)
    distance, neighbour = NearestNeighbors(n_neighbors=2).fit(reduced).kneighbors(reduced)
    distance, neighbour = distance[:, 1], neighbour[:, 1]
    typical = np.zeros(int(labels.max()) + 1)
    for k in np.unique(labels):  # one median per class
        typical[k] = np.median(distance[labels == k])
    limit = near_ratio * np.minimum(typical[labels], typical[labels[neighbour]])
    identical = np.all(flat == flat[neighbour], axis=1)
    close = np.flatnonzero((distance < limit) & ~identical)
    pairs = {(min(i, int(neighbour[i])), max(i, int(neighbour[i]))): float(distance[i]) for i in close}
    return sorted((i, j, d) for (i, j), d in pairs.items())


class ExactDuplicates(DataCheck):
    """Byte-identical images: pairs inside each split, across splits ("across": leakage), and how many of them
    disagree on the label ("... conflicting")."""

    name, title = "exact_duplicate_pairs", "exact duplicate pairs"

    def find_issues(self, data: CheckedData) -> CheckResult:
        groups = exact_duplicates(data.images, data.labels)
        counts: dict[str, int] = {}
        for group in groups:
            where = [data.locate(i)[0] for i in group.indices]
            for a in range(len(where)):
                for b in range(a + 1, len(where)):
                    key = where[a] if where[a] == where[b] else "across"
                    counts[key] = counts.get(key, 0) + 1
                    if group.labels[a] != group.labels[b]:
                        counts[f"{key} conflicting"] = counts.get(f"{key} conflicting", 0) + 1
        rows = [
            finding(
                "exact duplicate" + (" (conflicting labels)" if g.conflicting else ""),
                [data.locate(i) for i in g.indices],
                " ".join(map(str, g.labels)),
            )
            for g in groups
        ]
        copies = sum(len(g.indices) - 1 for g in groups)  # every image of a group but its first is a copy
        return CheckResult(self.name, self.title, counts, rows, groups, score=1 - copies / len(data.images))

    def galleries(self, data: CheckedData, result: CheckResult, n: int) -> dict:
        spans = {id(g): len({data.locate(i)[0] for i in g.indices}) > 1 for g in result.details}
        worst_first = sorted(result.details, key=lambda g: (not g.conflicting, not spans[id(g)]))
        pairs = [(g.indices[0], g.indices[1]) for g in worst_first[: max(n // 2, 1)]]
        title = "exact duplicate pairs side by side (red: labels disagree)"
        return _pair_gallery(data, pairs, "duplicates.png", title)


class NearDuplicates(DataCheck):
    """Pairs of different images closer than ``near_ratio`` times their class's median nearest-neighbour
    distance (:func:`near_duplicates`)."""

    name, title = "near_duplicate_pairs", "near duplicate pairs"

    def __init__(self, near_ratio: float = 0.2, seed: int = 0) -> None:
        self.near_ratio, self.seed = near_ratio, seed

    def validate(self, data: CheckedData) -> None:
        _check_ratio(self.near_ratio)

    def find_issues(self, data: CheckedData) -> CheckResult:
        pairs = near_duplicates(data.images, data.labels, self.near_ratio, self.seed)
        counts: dict[str, int] = {}
        rows = []
        for i, j, d in pairs:
            places = [data.locate(i), data.locate(j)]
            key = places[0][0] if places[0][0] == places[1][0] else "across"
            counts[key] = counts.get(key, 0) + 1
            rows.append(finding("near duplicate", places, f"{data.labels[i]} {data.labels[j]}", f"{d:.3f}"))
        involved = len({i for i, _, _ in pairs} | {j for _, j, _ in pairs})
        return CheckResult(self.name, self.title, counts, rows, pairs, score=1 - involved / len(data.images))

    def galleries(self, data: CheckedData, result: CheckResult, n: int) -> dict:
        pairs = [(i, j) for i, j, _ in result.details[: max(n // 2, 1)]]
        title = "near duplicate pairs side by side (red: labels disagree)"
        return _pair_gallery(data, pairs, "near_duplicates.png", title)


def _pair_gallery(data: CheckedData, pairs: list[tuple[int, int]], file: str, title: str) -> dict:
    from mnistlab import viz

    if not pairs:
        return {}
    shown = [k for pair in pairs for k in pair]
    captions = [
        f"{data.locate(k)[0]} {data.locate(k)[1]}: {data.classes[data.labels[k]]}"[:24] for k in shown
    ]
    flagged = [data.labels[i] != data.labels[j] for i, j in pairs for _ in (0, 1)]
    return {file: viz.ImageGalleryDisplay(data.images[shown], captions, flagged, cols=8, title=title)}


def _check_ratio(near_ratio: float) -> None:
    if isinstance(near_ratio, bool) or not isinstance(near_ratio, int | float) or not 0 < near_ratio < 1:
        raise ParameterError(f"near_ratio={near_ratio}; expected a number between 0 and 1, e.g. 0.2")
