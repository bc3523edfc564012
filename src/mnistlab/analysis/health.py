"""Data-set health: exact and near duplicates inside and across splits (train/test leakage), conflicting labels,
suspected label errors, and images that stand out (empty, saturated, constant).

Exact duplicates compare the image bytes (one sort of the rows, no hashing collisions). Near duplicates are pairs
whose distance, after a 50-component PCA of the pixels, is below ``near_ratio`` times the median
nearest-neighbour distance *of their class*: thin digits such as "1" sit close to each other, and a threshold
relative to their own class keeps them from flooding the list. Suspected label errors follow confident learning
(Northcutt et al., 2021): out-of-fold probabilities of a model cross-validated on the split (no image is scored by
a model that saw it); an image is suspected when the probability of its recorded label is below that class's
average self-confidence and another class reaches its own average; suspects are ranked by the probability of their
recorded label, lowest first.

>>> import numpy as np
>>> images = np.zeros((4, 28, 28), np.uint8); images[1, 5, 5] = 9; images[3, 5, 5] = 9  # 0 = 2, 1 = 3
>>> [(g.indices, g.labels) for g in exact_duplicates(images, np.array([1, 2, 1, 5]))]
[([0, 2], [1, 1]), ([1, 3], [2, 5])]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mnistlab.datasets import Dataset
from mnistlab.errors import DataFormatError, ParameterError


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

    if not 0 < near_ratio < 1:
        raise ParameterError(f"near_ratio={near_ratio}; expected a number between 0 and 1, e.g. 0.2")
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


def suspected_label_errors(proba: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of images whose recorded label is doubtful under out-of-fold probabilities ``proba`` (confident
    learning), most doubtful first.

    >>> proba = np.array([[0.9, 0.1], [0.7, 0.3], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8]])
    >>> suspected_label_errors(proba, np.array([0, 0, 1, 1, 1]))  # image 2 looks like a 0 but is labelled 1
    array([2])
    """
    labels = np.asarray(labels)
    given = proba[np.arange(len(labels)), labels]
    thresholds = np.array(
        [proba[labels == k, k].mean() if np.any(labels == k) else 1.0 for k in range(proba.shape[1])]
    )
    confident_other = proba >= thresholds[None, :]
    confident_other[np.arange(len(labels)), labels] = False
    suspects = np.flatnonzero((given < thresholds[labels]) & confident_other.any(axis=1))
    return suspects[np.argsort(given[suspects], kind="stable")]


@dataclass
class HealthReport:
    """The findings for one data set's splits; the numbers are attributes, tables and pictures are methods."""

    splits: dict[str, Dataset]
    duplicates: list[DuplicateGroup]  # indices into the splits concatenated in order
    near: list[tuple] = field(default_factory=list)  # (i, j, distance), same indexing
    label_errors: dict[str, dict] = field(
        default_factory=dict
    )  # split -> {"indices", "given", "predicted", "p"}
    odd_images: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # split -> kind -> indices

    @property
    def offsets(self) -> dict[str, int]:
        starts = np.cumsum([0] + [len(ds) for ds in self.splits.values()])
        return dict(zip(self.splits, starts.tolist(), strict=False))

    def locate(self, index: int) -> tuple[str, int]:
        """(split, index inside the split) of an index into the concatenated splits."""
        for name, start in reversed(list(self.offsets.items())):
            if index >= start:
                return name, index - start
        raise IndexError(index)

    def duplicate_pairs(self) -> dict[str, int]:
        """Pairs of identical images inside each split and across splits ("leakage"), and how many conflict."""
        counts: dict[str, int] = {}
        for group in self.duplicates:
            where = [self.locate(i)[0] for i in group.indices]
            for a in range(len(where)):
                for b in range(a + 1, len(where)):
                    key = where[a] if where[a] == where[b] else "across"
                    counts[key] = counts.get(key, 0) + 1
                    if group.labels[a] != group.labels[b]:
                        counts[f"{key} conflicting"] = counts.get(f"{key} conflicting", 0) + 1
        return counts

    def summary(self) -> dict:
        near_kinds: dict[str, int] = {}
        for i, j, _ in self.near:
            a, b = self.locate(i)[0], self.locate(j)[0]
            key = a if a == b else "across"
            near_kinds[key] = near_kinds.get(key, 0) + 1
        return {
            "images": {name: len(ds) for name, ds in self.splits.items()},
            "exact_duplicate_pairs": self.duplicate_pairs(),
            "near_duplicate_pairs": near_kinds,
            "suspected_label_errors": {s: len(v["indices"]) for s, v in self.label_errors.items()},
            "odd_images": {s: {k: len(v) for k, v in kinds.items()} for s, kinds in self.odd_images.items()},
        }

    def findings_table(self) -> list[dict]:
        """One row per finding: kind, split(s), indices, labels, distance or score (what ``findings.csv`` holds)."""
        rows = []
        for group in self.duplicates:
            places = [self.locate(i) for i in group.indices]
            rows.append(
                {
                    "kind": "exact duplicate" + (" (conflicting labels)" if group.conflicting else ""),
                    "splits": " ".join(s for s, _ in places),
                    "indices": " ".join(str(i) for _, i in places),
                    "labels": " ".join(map(str, group.labels)),
                    "value": "",
                }
            )
        labels = np.concatenate([ds.labels for ds in self.splits.values()])
        for i, j, d in self.near:
            places = [self.locate(i), self.locate(j)]
            rows.append(
                {
                    "kind": "near duplicate",
                    "splits": " ".join(s for s, _ in places),
                    "indices": " ".join(str(k) for _, k in places),
                    "labels": f"{labels[i]} {labels[j]}",
                    "value": f"{d:.3f}",
                }
            )
        for split, found in self.label_errors.items():
            for index, given, predicted, p in zip(
                found["indices"], found["given"], found["predicted"], found["p"], strict=True
            ):
                rows.append(
                    {
                        "kind": "suspected label error",
                        "splits": split,
                        "indices": str(index),
                        "labels": f"{given} -> {predicted}",
                        "value": f"{p:.4f}",
                    }
                )
        for split, kinds in self.odd_images.items():
            for kind, indices in kinds.items():
                rows += [
                    {"kind": f"{kind} image", "splits": split, "indices": str(i), "labels": "", "value": ""}
                    for i in indices
                ]
        return rows


def odd_images(dataset: Dataset) -> dict[str, list[int]]:
    """Images that stand out without any model: empty (all 0), saturated (all 255), constant (one value)."""
    flat = dataset.images.reshape(len(dataset), -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    return {
        "empty": np.flatnonzero(high == 0).tolist(),
        "saturated": np.flatnonzero(low == 255).tolist(),
        "constant": np.flatnonzero((low == high) & (low > 0) & (low < 255)).tolist(),
    }


def check_dataset(dataset: Dataset) -> None:
    if len(dataset) == 0:
        raise DataFormatError(f"{dataset.source or dataset.name}: no images")
    if dataset.labels is None:
        raise DataFormatError(
            f"{dataset.source or dataset.name}: no labels; health checks need labelled data"
        )
    if len(np.unique(dataset.labels)) < 2:
        raise DataFormatError(
            f"{dataset.source or dataset.name}: one class only; label checks need two or more"
        )
