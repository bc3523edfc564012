"""How well can label errors be flagged on Fashion-MNIST at 5% planted noise with the best judge one could have?

Not part of the suite (one run, about 10 minutes on 2 idle cores; it answered issue 36's question once): a judge
trained on *clean* labels, the Fashion training images outside the 10,000-image subsets of seeds 0-2 that
``label_error_benchmarks.planted`` draws (the subset depends on the seed only, not on the noise kind), scores each
subset; every flag rule is then applied to those probabilities and the subset's noisy labels. P@k (k = the
planted count, precision = recall there) is what a rule that knew the true number of wrong labels would get.

    PYTHONPATH=src .venv/bin/python benchmarks/label_error_ceiling.py

Results: docs/guide/data-quality.md, "The ceiling on Fashion-MNIST at 5%".
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
from label_error_benchmarks import planted, scores

from mnistlab import datasets, models
from mnistlab.evaluation.calibration import at_temperature
from mnistlab.quality.predictions import calibrating_temperature

NAME, SIZE, LEVEL, SEEDS = "fashion-mnist-kaggle", 10000, 0.05, (0, 1, 2)
# clean judges: the ladder's CNN with its default recipe, and the default recipe's CNN for a few epochs
JUDGES = {"cnn-fast": ("cnn-fast", {}), "cnn, 4 epochs": ("cnn", {"epochs": 4})}


def flagged_by(labels: np.ndarray, proba: np.ndarray, **options) -> np.ndarray:
    """cleanlab's ``find_label_issues`` with ``options`` as a boolean mask."""
    from cleanlab.filter import find_label_issues

    mask = np.zeros(len(labels), dtype=bool)
    mask[find_label_issues(labels, proba, n_jobs=1, **options)] = True
    return mask


def rules(labels: np.ndarray, proba: np.ndarray) -> dict[str, np.ndarray]:
    """Every flag rule compared, on one judge's probabilities."""
    calibrated = at_temperature(proba, 1 / calibrating_temperature(proba, labels))
    out = {
        "mnistlab (calibrated, cleanlab's default filter)": flagged_by(labels, calibrated),
        "cleanlab defaults": flagged_by(labels, proba),
    }
    for method in (
        "both",
        "prune_by_class",
        "confident_learning",
        "low_normalized_margin",
        "low_self_confidence",
    ):
        out[f"cleanlab filter_by={method}"] = flagged_by(labels, proba, filter_by=method)
    return out


def _cpu() -> str:
    """The CPU's model name (lscpu's), recorded with every measurement."""
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main() -> None:
    warnings.simplefilter("ignore")
    train = datasets.load(NAME, "train")
    subsets = {
        s: np.sort(np.random.default_rng(1000 + s).choice(len(train), SIZE, replace=False)) for s in SEEDS
    }
    outside = np.ones(len(train), dtype=bool)
    for chosen in subsets.values():
        outside[chosen] = False
    test = datasets.load(NAME, "test")
    print(f"machine: {_cpu()}, load {os.getloadavg()[0]:.1f}", flush=True)
    for judge, (model, params) in JUDGES.items():
        start = time.perf_counter()
        estimator = models.create(model, train, verbose=0, seed=0, **params)
        estimator.fit(train.images[outside], train.labels[outside])
        accuracy = float((estimator.predict(test.images) == test.labels).mean())
        print(
            f"{judge}: {outside.sum()} clean images, {time.perf_counter() - start:.0f} s, test {accuracy:.4f}"
        )
        for kind in ("uniform", "look_alike"):
            table: dict[str, list[dict]] = {}
            for seed, chosen in subsets.items():
                noisy, truth = planted(NAME, SIZE, kind, LEVEL, seed)
                proba = estimator.predict_proba(train.images[chosen])
                for rule, mask in rules(noisy.labels, proba).items():
                    ranking = 1 - proba[np.arange(SIZE), noisy.labels]
                    table.setdefault(rule, []).append(scores(mask, ranking, truth))
            for rule, rows in table.items():
                f1 = [r["f1"] for r in rows]
                print(
                    f"  {kind:10s} {rule:50s} P {statistics.median(r['precision'] for r in rows):.3f} "
                    f"R {statistics.median(r['recall'] for r in rows):.3f} F1 {statistics.median(f1):.3f} "
                    f"({min(f1):.3f}-{max(f1):.3f}) flagged {statistics.median(r['flagged'] for r in rows):.0f} "
                    f"P@k {statistics.median(r['precision_at_k'] for r in rows):.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
