"""Outliers: images far from the training images, in a 50-component PCA of the pixels plus each image's distance
from that PCA's subspace (cleanlab's Datalab scores out-of-distribution examples by their nearest-neighbour
distances in a feature space the same way).

Every image gets a score: its mean distance to its ``k`` nearest training images of the same label, over the
median of that distance among those training images (1: as typical as a training image; a training image is not
its own neighbour). Images scoring above ``threshold`` are flagged; the data-set score is the share not flagged.
"""

from __future__ import annotations

import numpy as np

from mnistlab.errors import ParameterError
from mnistlab.params import integer, real, rule_set, validates
from mnistlab.quality.base import CheckedData, CheckResult, DataCheck, finding

# Neighbours per image, and the share of least typical reference images left out in the second pass
NEIGHBOURS = integer(low=1)
TRIM = real(low=0, high=0.5, high_open=True)


def outlier_scores(
    images: np.ndarray,
    labels: np.ndarray,
    reference: np.ndarray,
    reference_labels: np.ndarray,
    k: int = 50,
    seed: int = 0,
    trim: float = 0.05,
) -> np.ndarray:
    """Each image's mean distance to its ``k`` nearest ``reference`` images *of its own label* (PCA of the
    reference's pixels, 50 components, and the distance from its subspace), over the median of the same among
    the reference images of that label. ``images`` may begin with the reference images themselves (the order
    :class:`CheckedData` keeps): those leave themselves out.

    Why per label: outliers often come in a group (a batch of scans from another source); scored against all
    training images, such a group is its own neighbourhood and looks typical (planted Fashion images in MNIST:
    AUROC 0.54), against the images of the label they were given it stands out (0.96; the benchmark suite).
    Why ``trim``: even within a label, 60 planted images are each other's nearest neighbours; so the scores are
    computed twice, the second time against the reference without its ``trim`` least typical share (recall of
    1% planted inverted MNIST digits at the 2x flag: 0.36 -> 1.00; other planted kinds in the README).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference = (rng.normal(100, 20, (300, 28, 28))).clip(0, 255).astype(np.uint8)
    >>> labels = np.arange(300) % 2
    >>> odd = np.full((1, 28, 28), 255, np.uint8)
    >>> scores = outlier_scores(np.concatenate([reference, odd]), np.append(labels, 0), reference, labels)
    >>> round(float(np.median(scores[:300])), 1), bool(scores[300] > 3)
    (1.0, True)
    """
    from sklearn.decomposition import PCA

    pca = PCA(n_components=min(50, len(reference) - 1), random_state=seed)
    pca.fit(reference.reshape(len(reference), -1).astype(np.float32))
    ref, queried = _features(pca, reference), _features(pca, images)
    starts_with_reference = len(images) >= len(reference) and np.array_equal(
        images[: len(reference)], reference
    )
    return feature_outlier_scores(queried, labels, ref, reference_labels, starts_with_reference, k, trim)


@validates("outliers", k=NEIGHBOURS, trim=TRIM)
def feature_outlier_scores(
    vectors: np.ndarray,
    labels: np.ndarray,
    reference: np.ndarray,
    reference_labels: np.ndarray,
    starts_with_reference: bool = True,
    k: int = 50,
    trim: float = 0.05,
) -> np.ndarray:
    """:func:`outlier_scores` in any feature space: ``vectors`` (one row per image) scored against ``reference``
    (the training images' rows; ``vectors`` begin with them when ``starts_with_reference``), e.g. a trained
    network's penultimate layer."""
    in_reference = np.zeros(
        len(vectors), dtype=bool
    )  # queries that are reference images (leave themselves out)
    in_reference[: len(reference) if starts_with_reference else 0] = True
    scores = _scores(vectors, labels, reference, reference_labels, in_reference, k)
    if trim and in_reference.any():
        kept = scores[: len(reference)] <= np.quantile(scores[: len(reference)], 1 - trim)
        still = in_reference.copy()
        still[: len(reference)] = kept
        scores = _scores(vectors, labels, reference[kept], reference_labels[kept], still, k)
    return scores


def _scores(
    queried: np.ndarray,
    labels: np.ndarray,
    ref: np.ndarray,
    ref_labels: np.ndarray,
    in_reference: np.ndarray,
    k: int,
) -> np.ndarray:
    """One pass of :func:`outlier_scores` in feature space: ``in_reference`` marks the queries that are
    themselves among ``ref`` (their nearest neighbour, at distance 0, is themselves)."""
    from sklearn.neighbors import NearestNeighbors

    scores = np.zeros(len(queried))
    for label in np.unique(labels):
        members = np.flatnonzero(ref_labels == label)
        if len(members) < 2:  # a label the training images (almost) lack: scored against all of them
            members = np.arange(len(ref))
        neighbours = min(k, len(members) - 1)
        index = NearestNeighbors(n_neighbors=neighbours + 1).fit(ref[members])
        asked = np.flatnonzero(labels == label)
        distance, _ = index.kneighbors(queried[asked])
        # a reference image's nearest neighbour is itself (distance 0): its k neighbours are the next ones
        own = in_reference[asked]
        mean = np.where(own, distance[:, 1:].mean(1), distance[:, :neighbours].mean(1))
        typical = mean[own] if own.any() else mean
        scores[asked] = mean / max(float(np.median(typical)), 1e-12)
    return scores


def _features(pca, images: np.ndarray) -> np.ndarray:
    """PCA coordinates plus the distance from the PCA subspace: an image unlike every training image in a
    direction the training images never vary in (an inverted digit, a blank page) is far in that last feature."""
    flat = images.reshape(len(images), -1).astype(np.float32)
    coords = pca.transform(flat)
    residual = np.linalg.norm(flat - pca.inverse_transform(coords), axis=1, keepdims=True)
    return np.hstack([coords, residual])


class Outliers(DataCheck):
    """Images far from the training split (:func:`outlier_scores` above ``threshold``), in every split: in the
    pixels' PCA space, or in ``features`` when given (one row per image of all splits in order, e.g. a trained
    network's penultimate layer; ``features_source`` names it)."""

    name, title = "outliers", "outliers"
    _parameter_constraints = rule_set(
        threshold=real(low=1, low_open=True),  # times the typical distance (1 = typical)
        k=NEIGHBOURS,
        seed=integer(low=0),
        trim=TRIM,
    )

    def __init__(
        self,
        threshold: float = 2.0,
        k: int = 50,
        seed: int = 0,
        trim: float = 0.05,
        features: np.ndarray | None = None,
        features_source: str = "",
    ) -> None:
        self.threshold, self.k, self.seed, self.trim = threshold, k, seed, trim
        self.features, self.features_source = features, features_source

    def validate(self, data: CheckedData) -> None:
        super().validate(data)
        if self.features is not None and (np.ndim(self.features) != 2 or len(self.features) != len(data)):
            raise ParameterError(
                f"features of shape {np.shape(self.features)}; expected one row per image ({len(data)} rows)"
            )

    def find_issues(self, data: CheckedData) -> CheckResult:
        train = next(iter(data.splits.values()))
        if self.features is None:
            scores = outlier_scores(
                data.images, data.labels, train.images, train.labels, self.k, self.seed, self.trim
            )
            space = "pixels' PCA"
        else:
            vectors = np.asarray(self.features, dtype=np.float32)
            scores = feature_outlier_scores(
                vectors, data.labels, vectors[: len(train)], train.labels, True, self.k, self.trim
            )
            space = self.features_source or "given features"
        flagged = np.flatnonzero(scores > self.threshold)
        flagged = flagged[np.argsort(-scores[flagged], kind="stable")]
        counts: dict[str, int] = {name: 0 for name in data.splits}
        rows = []
        for index in flagged:
            split, position = data.locate(int(index))
            counts[split] += 1
            label = data.classes[int(data.labels[index])]
            rows.append(finding("outlier", [(split, position)], label, f"{scores[index]:.2f}"))
        result = CheckResult(
            self.name,
            f"{self.title} (distance to the {self.k} nearest training images of their label > {self.threshold}x "
            f"typical, in the {space} space)",
            counts,
            rows,
            {"scores": scores, "flagged": flagged},
            score=1 - len(flagged) / len(scores),
            example_scores=scores,
            flags=scores > self.threshold,
            score_unit="mean distance to the nearest training images of its label over the typical one",
        )
        return result

    def galleries(self, data: CheckedData, result: CheckResult, n: int) -> dict:
        scores = result.example_scores

        def caption(i: int) -> str:
            return f"{data.locate(i)[0]} {data.classes[int(data.labels[i])][:8]} {scores[i]:.1f}x"

        title = "outliers, farthest first (split, label, distance over typical)"
        return self.worst_gallery(data, result, n, "outliers.png", title, caption)
