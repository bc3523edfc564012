"""Planted truth: known label errors, outliers and near duplicates put into real data, and how well a check's
flags and ranking recover them. This is how the method papers (confident learning, Northcutt et al., 2021)
measure a detector, and how mnistlab's benchmark suite measures its own (``benchmarks/quality_benchmarks.py``).

Examples
--------
>>> labels = np.repeat(np.arange(4), 25)
>>> noisy, flipped = flip_labels(labels, 0.1, n_classes=4, seed=0)
>>> int(flipped.sum()), bool(np.all(noisy[flipped] != labels[flipped])), bool(np.all(noisy[~flipped] == labels[~flipped]))
(10, True, True)
>>> recovery(np.array([3, 7]), scores=np.arange(100.0), truth=flipped)["flagged"]
2
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import shift as shift_image

from mnistlab.errors import ParameterError
from mnistlab.params import integer, one_of, real, validates

# The share of the data a planting changes, shared by every function below
FRACTION = real(low=0, high=1, low_open=True, high_open=True)
SEED = integer(low=0)


@validates("flip_labels", fraction=FRACTION, seed=SEED)
def flip_labels(
    labels: np.ndarray, fraction: float, n_classes: int, seed: int = 0, among: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels with ``fraction`` of them changed to another class, and which were changed.

    Uniform noise (``among=None``): any image may be chosen, its new class drawn uniformly from the others.
    Class-conditional noise (``among=[classes]``): only images of those classes are chosen (``fraction`` of
    all of them), each moved to another class of the same group (e.g. Shirt / T-shirt / Pullover / Coat).
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    group = np.arange(n_classes) if among is None else np.asarray(among)
    if len(group) < 2:
        raise ParameterError("label noise needs at least two classes to move between")
    eligible = np.flatnonzero(np.isin(labels, group))
    chosen = rng.choice(eligible, size=round(fraction * len(eligible)), replace=False)
    noisy = labels.copy()
    # a random non-zero step around the group: never the original class
    position = np.searchsorted(np.sort(group), labels[chosen])
    step = rng.integers(1, len(group), size=len(chosen))
    noisy[chosen] = np.sort(group)[(position + step) % len(group)]
    flipped = np.zeros(len(labels), dtype=bool)
    flipped[chosen] = True
    return noisy, flipped


@validates("flip_to_look_alikes", fraction=FRACTION, seed=SEED)
def flip_to_look_alikes(
    labels: np.ndarray, fraction: float, partners: list[int], seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Labels with ``fraction`` of them changed to their class's look-alike (``partners[k]``: the class a
    labeller mistakes class ``k`` for, e.g. MNIST's 4 for a 9), and which were changed: the noise of a tired
    labeller, harder to find than uniform noise because the wrong label is plausible.

    Examples
    --------
    >>> noisy, flipped = flip_to_look_alikes(np.repeat(np.arange(3), 10), 0.2, partners=[1, 0, 0], seed=0)
    >>> int(flipped.sum()), sorted(set(zip(np.repeat(np.arange(3), 10)[flipped].tolist(), noisy[flipped].tolist())))
    (6, [(0, 1), (1, 0), (2, 0)])
    """
    labels, partners_array = np.asarray(labels), np.asarray(partners)
    if np.any(partners_array == np.arange(len(partners_array))):
        raise ParameterError(f"partners={partners!r}: a class cannot be its own look-alike")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(labels), size=round(fraction * len(labels)), replace=False)
    noisy = labels.copy()
    noisy[chosen] = partners_array[labels[chosen]]
    flipped = np.zeros(len(labels), dtype=bool)
    flipped[chosen] = True
    return noisy, flipped


@validates("plant_outliers", fraction=FRACTION, seed=SEED)  # how: read only without a source
def plant_outliers(
    images: np.ndarray, fraction: float, seed: int = 0, source: np.ndarray | None = None, how: str = "invert"
) -> tuple[np.ndarray, np.ndarray]:
    """Images with ``fraction`` of them replaced by outliers, and which were: images of another data set
    (``source``, e.g. Fashion-MNIST in MNIST), or the image itself inverted (``how="invert"``) or rotated by
    90 degrees (``how="rotate"``)."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(images), size=max(1, round(fraction * len(images))), replace=False)
    out = images.copy()
    if source is not None:
        out[chosen] = source[rng.choice(len(source), size=len(chosen), replace=False)]
    elif how == "invert":
        out[chosen] = 255 - images[chosen]
    elif how == "rotate":
        out[chosen] = np.rot90(images[chosen], k=1, axes=(1, 2))
    else:
        raise ParameterError("how", how, "invert or rotate (or give a source)")
    planted = np.zeros(len(images), dtype=bool)
    planted[chosen] = True
    return out, planted


@validates("plant_near_duplicates", seed=SEED, how=one_of("shift", "noise"))
def plant_near_duplicates(
    images: np.ndarray, labels: np.ndarray, count: int, seed: int = 0, how: str = "shift"
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """``count`` near copies of randomly chosen images appended at the end: shifted by one pixel
    (``how="shift"``) or with Gaussian noise of standard deviation 8 grey levels (``how="noise"``). Returns the
    images, labels and the planted (original, copy) index pairs."""
    rng = np.random.default_rng(seed)
    originals = rng.choice(len(images), size=count, replace=False)
    copies = images[originals].astype(np.float32)
    if how == "shift":
        directions = rng.choice([-1, 1], size=(count, 2))
        copies = np.stack(
            [shift_image(c, d, order=0, mode="constant") for c, d in zip(copies, directions, strict=True)]
        )
    else:  # noise
        copies = copies + rng.normal(0, 8, copies.shape)
    copies = np.clip(np.rint(copies), 0, 255).astype(np.uint8)
    pairs = [(int(o), len(images) + i) for i, o in enumerate(originals)]
    return np.concatenate([images, copies]), np.concatenate([labels, labels[originals]]), pairs


def recovery(flagged: np.ndarray, scores: np.ndarray | None, truth: np.ndarray) -> dict:
    """How well a check recovered planted truth: precision and recall of the flagged set, and for a ranking
    (``scores``, higher = more suspect, one per image) the area under the ROC curve and the precision among the
    top k, k being the number of planted items.

    Examples
    --------
    >>> truth = np.array([True, False, True, False])
    >>> recovery(np.array([0, 1]), np.array([0.9, 0.8, 0.1, 0.0]), truth)["precision"]
    0.5
    """
    truth = np.asarray(truth, dtype=bool)
    flagged = np.asarray(flagged, dtype=int)
    hits = int(truth[flagged].sum()) if len(flagged) else 0
    out = {
        "planted": int(truth.sum()),
        "flagged": len(flagged),
        "precision": hits / len(flagged) if len(flagged) else None,
        "recall": hits / int(truth.sum()) if truth.any() else None,
    }
    if scores is not None and truth.any() and not truth.all():
        from sklearn.metrics import roc_auc_score

        k = int(truth.sum())
        top = np.argsort(-np.asarray(scores), kind="stable")[:k]
        out["auroc"] = float(roc_auc_score(truth, scores))
        out["precision_at_k"] = float(truth[top].mean())
    return out
