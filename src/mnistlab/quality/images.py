"""Images that stand out without any model: empty (all 0), saturated (all 255), constant (one value)."""

from __future__ import annotations

import numpy as np

from mnistlab.datasets import Dataset
from mnistlab.params import real, rule_set
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
        flags = data.flags({split: [i for v in kinds.values() for i in v] for split, kinds in found.items()})
        return CheckResult(
            self.name,
            self.title,
            counts,
            rows,
            found,
            score=1 - flags.sum() / len(data),
            example_scores=flags.astype(float),
            flags=flags,
            score_unit="1 if empty, saturated or constant",
        )


PROPERTIES = (
    "low contrast",
    "off-centre ink",
    "ink at the border",
    "unusual amount of ink",
    "unusual stroke thickness",
)
SHORT = ("low contrast", "off-centre", "border ink", "ink amount", "stroke")  # captions under 28x28 images
ROBUST_SIGMA = 1.4826  # the median absolute deviation of a normal distribution, in standard deviations


def image_properties(images: np.ndarray) -> dict[str, np.ndarray]:
    """Per image: ``contrast`` (its darkest ink over its paper: the largest pixel value less the smallest, 0..1;
    percentiles called a thin "1" with 40 inked pixels faint), ``offset`` (pixels from the
    image centre to the centre of mass of its ink), ``border`` (the share of its ink in the outer 2-pixel frame),
    ``ink`` (the share of pixels at 128 or more) and ``stroke`` (the stroke's width in pixels: twice the inked
    area over the ink's outline, which is the width of a long stroke of any shape).

    Examples
    --------
    >>> image = np.zeros((2, 28, 28), np.uint8); image[0, 10:18, 10:18] = 255; image[1, 4:24, 12:15] = 255
    >>> {k: [round(float(x), 3) for x in v] for k, v in image_properties(image).items()}["stroke"]  # a square, a bar
    [4.0, 2.609]
    >>> {k: round(float(v[0]), 3) for k, v in image_properties(image[:1]).items()}
    {'contrast': 1.0, 'offset': 0.0, 'border': 0.0, 'ink': 0.082, 'stroke': 4.0}
    """
    flat = images.reshape(len(images), -1)
    low, high = flat.min(axis=1).astype(np.float64), flat.max(axis=1).astype(np.float64)
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
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    outline = (padded[:, 1:, :] != padded[:, :-1, :]).sum(axis=(1, 2)) + (
        padded[:, :, 1:] != padded[:, :, :-1]
    ).sum(axis=(1, 2))
    stroke = 2 * inked / np.maximum(outline, 1)
    return {
        "contrast": (high - low) / 255,
        "offset": offset,
        "border": border,
        "ink": inked / ink[0].size,
        "stroke": stroke,
    }


def property_scores(properties: dict[str, np.ndarray], labels: np.ndarray) -> np.ndarray:
    """(N, 5) robust z-scores of each image's properties against its own class, in the direction that is
    unusual: low contrast, high offset, high border ink, ink amount and stroke width either way (0 where not
    unusual). A class's spread is its median absolute deviation, floored per property (0.02 of contrast, half a
    pixel of offset, 2% of the ink at the border, 0.5% of the pixels inked, 0.1 pixel of stroke width)."""
    # (values, direction, the smallest spread: a class whose images barely vary in a property, such as MNIST's
    # ink at the border, median 0, must not flag the first pixel of difference)
    columns = [
        (properties["contrast"], -1, 0.02),
        (properties["offset"], 1, 0.5),
        (properties["border"], 1, 0.02),
        (properties["ink"], 0, 0.005),
        (properties["stroke"], 0, 0.1),
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
    """Images whose contrast, centring, ink at the border, amount of ink or stroke width is far from their
    class's (a robust z-score above ``threshold`` against the class's median and spread): a scan with the wrong
    levels, a digit pushed to a corner, a cropped garment, a stroke much thicker or thinner than the class's.
    Each image's score is its largest z-score; the data-set score is the share not flagged."""

    name, title = "image_properties", "unusual image properties"

    _parameter_constraints = rule_set(threshold=real(low=0, low_open=True))  # robust z-scores

    def __init__(self, threshold: float = 6.0) -> None:
        self.threshold = threshold

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
            score=1 - len(flagged) / len(worst),
            example_scores=worst,
            flags=worst > self.threshold,
            score_unit="largest robust z-score of a property against the image's class",
        )
        return result

    def galleries(self, data: CheckedData, result: CheckResult, n: int) -> dict:
        by_property, scores = result.details["by_property"], result.example_scores

        def caption(i: int) -> str:
            return f"{PROPERTIES[int(by_property[i].argmax())][:14]} {scores[i]:.0f}"

        title = "unusual image properties, most unusual first (property, robust z against the class)"
        return self.worst_gallery(data, result, n, "image_properties.png", title, caption)


class ClassImbalance(DataCheck):
    """Classes much rarer than the others in each split: flagged when a class holds under ``ratio`` times an
    equal share (1 / the number of classes). The data-set score is named where it is shown: the rarest class's
    share of the first split over an equal share (1: balanced; 0.5: the rarest class has half the images it
    would have if all classes were equal); beside it, per split, the largest over the smallest class."""

    name, title = "class_imbalance", "rare classes"
    SCORE_NAME = "rarest class's share over an equal share (1: balanced)"

    _parameter_constraints = rule_set(
        ratio=real(low=0, high=1, low_open=True, high_open=True)
    )  # of an equal share

    def __init__(self, ratio: float = 0.5) -> None:
        self.ratio = ratio

    def find_issues(self, data: CheckedData) -> CheckResult:
        n_classes = len(data.classes)
        counts: dict[str, int] = {}
        rows, balance, scores, rarest_shares = [], {}, [], []
        for split, dataset in data.splits.items():
            sizes = np.bincount(dataset.labels, minlength=n_classes)
            share = sizes / len(dataset) * n_classes
            scores.append(np.maximum(1 - share[dataset.labels], 0))
            rarest = int(share.argmin())
            rarest_shares.append(float(share.min()))
            balance[split] = {
                "rarest_class": data.classes[rarest],
                "rarest_share_of_equal": round(float(share.min()), 4),
                "largest_over_smallest": round(float(sizes.max() / sizes.min()), 2) if sizes.min() else None,
            }
            rare = np.flatnonzero(share < self.ratio)
            counts[split] = len(rare)
            rows += [
                {
                    "kind": "rare class",
                    "splits": split,
                    "indices": "",
                    "labels": data.classes[k],
                    "value": f"{share[k]:.3f} of an equal share",
                }
                for k in rare
            ]
        measured = "; ".join(f"{split}: {_balance_words(b)}" for split, b in balance.items())
        return CheckResult(
            self.name,
            f"{self.title} (< {self.ratio}x an equal share; {measured})",
            counts,
            rows,
            balance,
            score=min(
                1.0, rarest_shares[0]
            ),  # the first split's, unrounded (balance holds it rounded, to show)
            example_scores=np.concatenate(scores),
            flags=np.concatenate(scores) > 1 - self.ratio,
            score_unit="1 - the image's class's share of its split over an equal share (0 if common)",
            score_name=self.SCORE_NAME,
            context={"balance": balance},
        )


def _balance_words(balance: dict) -> str:
    """One split's balance in words.

    Examples
    --------
    >>> _balance_words({"rarest_class": "5", "rarest_share_of_equal": 0.9036, "largest_over_smallest": 1.24})
    "rarest class '5' at 0.904 of an equal share, largest/smallest class ratio 1.24"
    """
    ratio = balance["largest_over_smallest"]
    spread = "a class with no images" if ratio is None else f"largest/smallest class ratio {ratio:.2f}"
    return (
        f"rarest class {balance['rarest_class']!r} at {balance['rarest_share_of_equal']:.3f} of an equal share, "
        f"{spread}"
    )


class OriginalFiles(DataCheck):
    """Files of an image folder that differ from the rest of their split before they became 28x28 grayscale:
    another pixel size (where one size holds at least ``uniform`` of the split: a folder of scans with a few
    photos in it), an aspect ratio over 1.25x away from the split's median, or colour among grayscale files (or
    grayscale among colour ones). Each image's score is how many of the three it shows; the data-set score is the
    share not flagged. Data that never had files of its own (IDX, CSV, npz, registered sets) is not scored."""

    name, title = "original_files", "files unlike the others (size, aspect, colour)"

    _parameter_constraints = rule_set(
        uniform=real(low=0, high=1, low_open=True), aspect=real(low=1, low_open=True)
    )

    def __init__(self, uniform: float = 0.9, aspect: float = 1.25) -> None:
        self.uniform, self.aspect = uniform, aspect

    def find_issues(self, data: CheckedData) -> CheckResult:
        with_files = {s: ds for s, ds in data.splits.items() if ds.originals is not None}
        if not with_files:
            return CheckResult(self.name, f"{self.title}: no image files (not an image folder)", {}, [])
        scores = np.zeros(len(data))
        counts: dict[str, int] = {}
        rows = []
        for split, dataset in with_files.items():
            odd = self._odd(dataset.originals)
            start = data.offsets[split]
            scores[start : start + len(dataset)] = sum(odd.values())
            for kind, found in odd.items():
                counts[f"{split} {kind}"] = int(found.sum())
                original = dataset.originals
                rows += [
                    finding(
                        f"{kind} file",
                        [(split, int(i))],
                        data.classes[int(dataset.labels[i])],
                        f"{original['width'][i]}x{original['height'][i]}"
                        + (" colour" if original["colour"][i] else " gray"),
                    )
                    for i in np.flatnonzero(found)
                ]
        flags = scores > 0
        return CheckResult(
            self.name,
            self.title,
            counts,
            rows,
            {"flagged": np.flatnonzero(flags)},
            score=1 - flags.sum() / len(data),
            example_scores=scores,
            flags=flags,
            score_unit="how many of size, aspect and colour differ from the rest of its split",
        )

    def galleries(self, data: CheckedData, result: CheckResult, n: int) -> dict:
        first: dict[int, str] = {}  # one caption per image: its first finding
        for row in result.rows:
            index = data.offsets[row["splits"]] + int(row["indices"])
            first.setdefault(index, f"{row['kind'].removesuffix(' file')} {row['value']}"[:24])
        title = "image-folder files unlike the others (what differs, the file's own size and colour)"
        return self.worst_gallery(data, result, n, "original_files.png", title, first.__getitem__)

    def _odd(self, originals: dict) -> dict[str, np.ndarray]:
        width, height, colour = originals["width"], originals["height"], originals["colour"]
        _, inverse, counts = np.unique(
            np.stack([width, height], 1), axis=0, return_inverse=True, return_counts=True
        )
        common = counts.argmax()
        odd_size = (
            (inverse.ravel() != common)
            if counts[common] >= self.uniform * len(width)
            else np.zeros_like(colour)
        )
        ratio = np.log(width / np.maximum(height, 1))
        odd_aspect = np.abs(ratio - np.median(ratio)) > np.log(self.aspect)
        odd_colour = colour if colour.mean() < 0.5 else ~colour
        return {"other size": odd_size, "other aspect": odd_aspect, "other colour": odd_colour}
