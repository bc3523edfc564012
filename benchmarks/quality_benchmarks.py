"""Data-quality checks measured against planted truth: label noise flipped into real training labels (uniform, and
class-conditional inside a group of look-alike classes), near copies of real images, and outliers (1% of the
images from the other data set, inverted or rotated); precision and recall of
what each check flags, AUROC and precision-at-k of its ranking, time per check. Medians over the seeds.

    .venv/bin/python benchmarks/suite.py --only planted --size quick
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from mnistlab import datasets
from mnistlab.quality import CheckedData
from mnistlab.quality.duplicates import NearDuplicates
from mnistlab.quality.label_errors import LabelErrors
from mnistlab.quality.outliers import Outliers
from mnistlab.quality.planted import flip_labels, plant_near_duplicates, plant_outliers, recovery

# look-alike groups for class-conditional noise: Fashion's tops, MNIST's round digits
GROUPS = {"fashion-mnist-kaggle": [0, 2, 4, 6], "mnist": [3, 5, 8]}
LEVELS = (0.01, 0.05, 0.10)
JUDGES = ("cnn-fast", "mlp")  # label-error models compared
SIZES = {"tiny": (1000, 1), "quick": (10000, 1), "full": (60000, 3)}  # images, seeds


def _train(name: str, n: int) -> datasets.Dataset:
    train = datasets.load(name, "train")
    return train.subset(slice(0, n)) if n < len(train) else train


def _median(rows: list[dict]) -> dict:
    keys = [k for k, v in rows[0].items() if isinstance(v, int | float) and v is not None]
    return {k: statistics.median(r[k] for r in rows if r.get(k) is not None) for k in keys}


def label_noise(
    name: str, n: int, seeds: int, levels: tuple[float, ...] = LEVELS, model: str = "cnn-fast"
) -> dict:
    """The label-error check (``model``, 5 folds out-of-fold) on training labels with planted noise."""
    train = _train(name, n)
    out: dict = {}
    for kind, among in (("uniform", None), ("class_conditional", GROUPS[name])):
        for level in levels:
            rows = []
            for seed in range(seeds):
                noisy, flipped = flip_labels(train.labels, level, train.n_classes, seed, among)
                data = CheckedData(
                    {"train": datasets.Dataset(train.images, noisy, train.classes, train.name)}
                )
                start = time.perf_counter()
                # min_judge_accuracy=0: measured at every noise level, whatever the judge agrees with
                found = LabelErrors(model=model, seed=seed, min_judge_accuracy=0).find_issues(data)
                row = recovery(np.flatnonzero(found.flags), found.example_scores, flipped)
                rows.append({**row, "seconds": time.perf_counter() - start})
            out[f"{kind}_{round(100 * level)}pct"] = {"median": _median(rows), "rows": rows}
    return out


def near_copies(name: str, n: int, seeds: int, count: int = 200) -> dict:
    """The near-duplicate check on a split with ``count`` planted near copies (1-pixel shifts, or noise of
    8 grey levels): recall of the planted pairs, and how many other pairs it flagged."""
    train = _train(name, n)
    out: dict = {}
    for how in ("shift", "noise"):
        rows = []
        for seed in range(seeds):
            images, labels, pairs = plant_near_duplicates(train.images, train.labels, count, seed, how)
            data = CheckedData(
                {"train": datasets.Dataset(images, labels, train.classes, train.name, "train")}
            )
            start = time.perf_counter()
            found = NearDuplicates(seed=seed).find_issues(data)
            found_pairs = {(min(i, j), max(i, j)) for i, j, _ in found.details}
            recalled = sum((min(a, b), max(a, b)) in found_pairs for a, b in pairs)
            rows.append(
                {
                    "planted": count,
                    "recall": recalled / count,
                    "other_pairs_flagged": len(found_pairs) - recalled,
                    "seconds": time.perf_counter() - start,
                }
            )
        out[how] = {"median": _median(rows), "rows": rows}
    return out


def outliers(name: str, other: str, n: int, seeds: int, fraction: float = 0.01) -> dict:
    """The outlier check (defaults) on a split where ``fraction`` of the images were replaced: by images of the
    other data set, inverted, or rotated by 90 degrees."""
    train, source = _train(name, n), _train(other, n).images
    out: dict = {}
    for how in ("other data set", "invert", "rotate"):
        rows = []
        for seed in range(seeds):
            images, planted = plant_outliers(
                train.images, fraction, seed, source if how == "other data set" else None, how
            )
            data = CheckedData(
                {"train": datasets.Dataset(images, train.labels, train.classes, train.name, "train")}
            )
            start = time.perf_counter()
            found = Outliers(seed=seed).find_issues(data)
            row = recovery(found.details["flagged"], found.details["scores"], planted)
            rows.append({**row, "seconds": time.perf_counter() - start})
        out[how.replace(" ", "_")] = {"median": _median(rows), "rows": rows}
    return out


def bench_planted(size: str) -> dict:
    """Planted label noise and near copies in MNIST and Fashion-MNIST training images."""
    n, seeds = SIZES[size]
    # tiny (the smoke test) judges with logreg: cnn-fast's 10 fits of 211 steps took 1,100 s of a loaded run
    judges = JUDGES if size != "tiny" else ("logreg",)
    out: dict = {"images": n, "seeds": seeds, "label_error_models": list(judges)}
    levels, copies = ((0.10,), 20) if size == "tiny" else (LEVELS, 200)  # tiny: the smoke test's few seconds
    for name, other in (("mnist", "fashion-mnist-kaggle"), ("fashion-mnist-kaggle", "mnist")):
        out[name] = {
            # the default judge (cnn-fast) and the one it replaced (mlp), in the same run
            **{f"label_noise_{judge}": label_noise(name, n, seeds, levels, judge) for judge in judges},
            "near_copies": near_copies(name, n, seeds, copies),
            "outliers": outliers(name, other, n, seeds),
        }
    out["target"] = "planted truth recovered; figures in the README (issue 25)"
    return out
