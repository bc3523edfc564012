"""Images that stand out without any model: empty (all 0), saturated (all 255), constant (one value)."""

from __future__ import annotations

import numpy as np

from mnistlab.datasets import Dataset
from mnistlab.errors import ParameterError
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
        odd = sum(len(v) for kinds in found.values() for v in kinds.values())
        return CheckResult(self.name, self.title, counts, rows, found, score=1 - odd / len(data.images))


PROPERTIES = ("low contrast", "off-centre ink", "ink at the border", "unusual amount of ink")
SHORT = ("low contrast", "off-centre", "border ink", "ink amount")  # for captions under 28x28 images
ROBUST_SIGMA = 1.4826  # the median absolute deviation of a normal distribution, in standard deviations


def image_properties(images: np.ndarray) -> dict[str, np.ndarray]:
    """Per image: ``contrast`` (the 1st to 99th percentile of its pixels, 0..1), ``offset`` (pixels from the
    image centre to the centre of mass of its ink), ``border`` (the share of its ink in the outer 2-pixel frame)
    and ``ink`` (the share of pixels at 128 or more).

    >>> image = np.zeros((1, 28, 28), np.uint8); image[0, 10:18, 10:18] = 255
    >>> {k: round(float(v[0]), 3) for k, v in image_properties(image).items()}
    {'contrast': 1.0, 'offset': 0.0, 'border': 0.0, 'ink': 0.082}
    """
    flat = images.reshape(len(images), -1)
    low, high = np.percentile(flat, [1, 99], axis=1)
    weight = images.astype(np.float64)
    total = weight.sum(axis=(1, 2))
    rows, cols = np.arange(images.shape[1]), np.arange(images.shape[2])
    with np.errstate(invalid="ignore", divide="ignore"):
        cy = (weight.sum(axis=2) * rows).sum(1) / total
        cx = (weight.sum(axis=1) * cols).sum(1) / total
    centre = ((images.shape[1] - 1) / 2, (images.shape[2] - 1) / 2)
    offset = np.nan_to_num(np.hypot(cy - centre[0], cx - centre[1]))
    ink = images >= 128
    frame = np.ones(images.shape[1:], dtype=bool)
    frame[2:-2, 2:-2] = False
    inked = ink.sum(axis=(1, 2))
    border = np.where(inked > 0, (ink & frame).sum(axis=(1, 2)) / np.maximum(inked, 1), 0.0)
    return {"contrast": (high - low) / 255, "offset": offset, "border": border, "ink": inked / ink[0].size}


def property_scores(properties: dict[str, np.ndarray], labels: np.ndarray) -> np.ndarray:
    """(N, 4) robust z-scores of each image's properties against its own class, in the direction that is
    unusual: low contrast, high offset, high border ink, ink amount either way (0 where not unusual). A class's
    spread is its median absolute deviation, floored per property (0.02 of contrast, half a pixel of offset, 2% of
    the ink at the border, 0.5% of the pixels inked)."""
    # (values, direction, the smallest spread: a class whose images barely vary in a property, such as MNIST's
    # ink at the border, median 0, must not flag the first pixel of difference)
    columns = [
        (properties["contrast"], -1, 0.02),
        (properties["offset"], 1, 0.5),
        (properties["border"], 1, 0.02),
        (properties["ink"], 0, 0.005),
    ]
    scores = np.zeros((len(labels), len(columns)))
    for label in np.unique(labels):
        members = labels == label
        for j, (values, direction, floor) in enumerate(columns):
            v = values[members]
            median = np.median(v)
            spread = max(ROBUST_SIGMA * np.median(np.abs(v - median)), floor)
            z = (v - median) / spread
            scores[members, j] = np.abs(z) if direction == 0 else np.maximum(direction * z, 0)
    return scores


class ImageProperties(DataCheck):
    """Images whose contrast, centring, ink at the border or amount of ink is far from their class's (a robust
    z-score above ``threshold`` against the class's median and spread): a scan with the wrong levels, a digit
    pushed to a corner, a cropped garment, a stroke much thicker or thinner than the class's. Each image's score
    is its largest z-score; the data-set score is the share not flagged."""

    name, title = "image_properties", "unusual image properties"

    def __init__(self, threshold: float = 6.0) -> None:
        self.threshold = threshold

    def validate(self, data: CheckedData) -> None:
        if not isinstance(self.threshold, int | float) or self.threshold <= 0:
            raise ParameterError(
                f"threshold={self.threshold!r}; expected a positive number of robust z-scores"
            )

    def find_issues(self, data: CheckedData) -> CheckResult:
        scores = property_scores(image_properties(data.images), data.labels)
        worst = scores.max(axis=1)
        flagged = np.flatnonzero(worst > self.threshold)
        flagged = flagged[np.argsort(-worst[flagged], kind="stable")]
        counts: dict[str, int] = {}
        rows = []
        for index in flagged:
            split, position = data.locate(int(index))
            kind = PROPERTIES[int(scores[index].argmax())]
            counts[f"{split} {kind}"] = counts.get(f"{split} {kind}", 0) + 1
            label = data.classes[int(data.labels[index])]
            rows.append(finding(kind, [(split, position)], label, f"{worst[index]:.1f}"))
        result = CheckResult(
            self.name,
            f"{self.title} (> {self.threshold} robust z against the class)",
            counts,
            rows,
            {"scores": worst, "flagged": flagged, "by_property": scores},
        )
        result.score = 1 - len(flagged) / len(worst)
        return result

    def galleries(self, data: CheckedData, result: CheckResult, n: int) -> dict:
        from mnistlab import viz

        chosen = result.details["flagged"][:n]
        if not len(chosen):
            return {}
        by_property = result.details["by_property"]
        captions = [
            f"{PROPERTIES[int(by_property[i].argmax())][:14]} {result.details['scores'][i]:.0f}"
            for i in chosen
        ]
        title = "unusual image properties, most unusual first (property, robust z against the class)"
        return {
            "image_properties.png": viz.ImageGalleryDisplay(
                data.images[chosen], captions, cols=8, title=title
            )
        }


class ClassImbalance(DataCheck):
    """Classes much rarer than the others in each split: flagged when a class holds under ``ratio`` times an
    equal share. The data-set score is the rarest class's share over an equal share (1: balanced), in the first
    split."""

    name, title = "class_imbalance", "rare classes"

    def __init__(self, ratio: float = 0.5) -> None:
        self.ratio = ratio

    def validate(self, data: CheckedData) -> None:
        if not isinstance(self.ratio, int | float) or not 0 < self.ratio < 1:
            raise ParameterError(f"ratio={self.ratio!r}; expected a number between 0 and 1")

    def find_issues(self, data: CheckedData) -> CheckResult:
        n_classes = len(data.classes)
        counts: dict[str, int] = {}
        rows, balance = [], {}
        for split, dataset in data.splits.items():
            share = np.bincount(dataset.labels, minlength=n_classes) / len(dataset) * n_classes
            balance[split] = float(share.min())
            rare = np.flatnonzero(share < self.ratio)
            counts[split] = len(rare)
            rows += [
                {
                    "kind": "rare class",
                    "splits": split,
                    "indices": "",
                    "labels": data.classes[k],
                    "value": f"{share[k]:.3f}",
                }
                for k in rare
            ]
        result = CheckResult(
            self.name, f"{self.title} (< {self.ratio}x an equal share)", counts, rows, balance
        )
        result.score = min(1.0, next(iter(balance.values())))
        return result
