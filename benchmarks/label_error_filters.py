"""Which filter flags the label errors a judge's probabilities point to: the label check's verdict
(:func:`mnistlab.quality.suspected_label_errors`), the one it replaced (cleanlab's default filter on the same
refit, calibrated probabilities), cleanlab's ``low_self_confidence`` filter, and cleanlab with its defaults on the
judge's first pass (the head-to-head row of ``label_error_benchmarks.py``), on the same planted cases.

The judge's probabilities are the expensive part (minutes per case); they are computed once per case by the
label check's own code (:func:`mnistlab.quality.predictions.judged`) and cached in ``--cache``, so every filter
is compared on exactly the probabilities the default check would use.

    python benchmarks/label_error_filters.py [--cache DIR] [--seeds 3] [--seeds-at-5pct 3] [--images 10000 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from label_error_benchmarks import planted, scores

N = 10_000
CASES = [
    (name, kind, level)
    for name in ("mnist", "fashion-mnist-kaggle")
    for kind in ("uniform", "look_alike")
    for level in (0.05, 0.20, 0.40)
]


def probabilities(name: str, kind: str, level: float, seed: int, cache: Path, images: int = N) -> dict:
    """The default judge's first-pass and final probabilities on one planted case of ``images`` training images
    (cached, written atomically)."""
    from mnistlab.quality import CheckedData
    from mnistlab.quality.predictions import judged

    size = "" if images == N else f"{images}-"
    path = cache / f"{name}-{size}{kind}-{level:g}-{seed}.npz"
    if not path.exists():
        train, truth = planted(name, images, kind, level, seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            judgement = judged(CheckedData({"train": train}), "auto", seed=seed, min_accuracy=0)
        scored = judgement.splits["train"]
        first = scored.first_pass if scored.first_pass is not None else scored.proba
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            first=first,
            final=scored.proba,
            noisy=train.labels,
            truth=truth,
            judge=judgement.judge.model,
            seconds=time.perf_counter() - start,
        )
        os.replace(tmp, path)
    with np.load(path) as saved:
        return {key: saved[key] for key in saved.files}


def sides(case: dict) -> dict[str, dict]:
    """Every filter's precision, recall and F1 on one case."""
    from cleanlab.filter import find_label_issues

    from mnistlab.quality import suspected_label_errors

    first, final, labels, truth = case["first"], case["final"], case["noisy"], case["truth"]

    def flagged(indices) -> np.ndarray:
        mask = np.zeros(len(labels), dtype=bool)
        mask[indices] = True
        return mask

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = {
            "mnistlab": flagged(suspected_label_errors(final, labels)),
            "previous_default": find_label_issues(labels, final),
            "cleanlab_low_self_confidence": find_label_issues(labels, final, filter_by="low_self_confidence"),
            "cleanlab": find_label_issues(labels, first),
        }
    return {side: scores(mask, None, truth) for side, mask in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "mnistlab-bench" / "label-filters"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--seeds-at-5pct", type=int, default=None, help="seeds of the 5%% cases (default: --seeds)"
    )
    parser.add_argument("--images", type=int, nargs="+", default=[N], help="training images per case")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    table: dict = {}
    for images, (name, kind, level) in ((i, case) for i in args.images for case in CASES):
        seeds = args.seeds_at_5pct if level == 0.05 and args.seeds_at_5pct else args.seeds
        rows = [sides(probabilities(name, kind, level, seed, args.cache, images)) for seed in range(seeds)]
        key = f"{name}_{images}_{kind}_{round(100 * level)}pct"
        table[key] = {
            side: {
                metric: statistics.median(r[side][metric] for r in rows)
                for metric in ("precision", "recall", "f1")
            }
            | {"f1_range": [min(r[side]["f1"] for r in rows), max(r[side]["f1"] for r in rows)]}
            for side in rows[0]
        } | {"seeds": len(rows)}
        print(key, {side: round(v["f1"], 3) for side, v in table[key].items() if side != "seeds"}, flush=True)
    write(table, args.out)


def write(table: dict, out: Path) -> None:
    from suite import machine

    stamp = time.strftime("%Y-%m-%d")
    result = {"date": stamp, "machine": machine(), "label_error_filters": table}
    (out / f"label-error-filters-{stamp}.json").write_text(json.dumps(result, indent=1, default=float) + "\n")
    lines = [
        f"# Label-error filters on the default judge's probabilities ({stamp})",
        "",
        "Planted flips in a subset of the training split (its size in the case's name); F1 median of the seeds "
        "(precision / recall), range. `previous default`: cleanlab's default filter on the same refit "
        "probabilities.",
        "",
        "| case | seeds | mnistlab | previous default | cleanlab low_self_confidence | cleanlab defaults |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in table.items():
        cells = [
            f"{row[s]['f1']:.3f} ({row[s]['precision']:.2f} / {row[s]['recall']:.2f}), "
            f"{row[s]['f1_range'][0]:.3f}-{row[s]['f1_range'][1]:.3f}"
            for s in (
                "mnistlab",
                "previous_default",
                "cleanlab_low_self_confidence",
                "cleanlab",
            )
        ]
        lines.append(f"| {key} | {row['seeds']} | " + " | ".join(cells) + " |")
    (out / f"label-error-filters-{stamp}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
