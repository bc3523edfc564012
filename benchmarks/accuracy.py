"""Acceptance table of the models issue: train each tutorial model on the full data sets, measure test
accuracy and training time on this machine, and reproduce Hands-On ML's SGD "5 vs rest" cross-validation.

    .venv/bin/python benchmarks/accuracy.py [--only cnn] [--threads 2]

Writes benchmarks/results/accuracy-<date>.json and .md. Takes ~20 minutes on 2 cores; never part of the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import cross_val_score

from mnistlab import datasets, models
from mnistlab.runs import versions
from mnistlab.workflows import train_model

# (model, data, target accuracy, what the target is)
CASES = [
    ("softmax", "mnist", 0.91, "Kaggle softmax tutorial: 0.9126"),
    ("softmax", "fashion-mnist-kaggle", 0.84, "Kaggle softmax tutorial: 0.8504"),
    ("mlp", "mnist", 0.97, "Keras tutorial recipe, >= 0.97"),
    ("mlp", "fashion-mnist-kaggle", 0.87, "Keras tutorial: ~0.87 after 3-5 epochs"),
    ("cnn-kaggle", "fashion-mnist-kaggle", 0.90, "Kaggle Fashion-MNIST CNN tutorial: ~0.90"),
    ("cnn", "mnist", 0.995, ">= 0.995 in a few minutes"),
    ("cnn", "fashion-mnist-kaggle", 0.93, ">= 0.93 in a few minutes"),
]
SGD_PUBLISHED = [0.95035, 0.96035, 0.9604]


def sgd_five_detector() -> dict:
    train = datasets.load("mnist", "train")
    start = time.perf_counter()
    scores = cross_val_score(models.create("sgd"), train.images, train.labels == 5, cv=3, scoring="accuracy")
    return {
        "scores": scores.tolist(),
        "published": SGD_PUBLISHED,
        "equal": scores.tolist() == SGD_PUBLISHED,
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", help="train only these models (comma-separated); results get their own file"
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for model, data, target, note in CASES:
        if args.only and model not in args.only.split(","):
            continue
        run = train_model(data, model, params={"threads": args.threads}, seed=0, verbose=1)
        m = run.metrics
        rows.append(
            {
                "model": model,
                "data": data,
                "test_accuracy": m["test_accuracy"],
                "target": target,
                "met": m["test_accuracy"] >= target,
                "train_seconds": m["train_seconds"],
                "note": note,
            }
        )
        print(rows[-1], flush=True)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "torch_threads": args.threads,
            "bf16": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        },
        "versions": versions(),
        "models": rows,
        "sgd_five_detector_cv": None if args.only else sgd_five_detector(),
    }
    suffix = f"-{args.only.replace(',', '-')}" if args.only else ""
    out = Path(__file__).parent / "results" / f"accuracy-{result['date']}{suffix}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = ["| model | data | test accuracy | target | met | train time (s) |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {r['model']} | {r['data']} | {r['test_accuracy']:.4f} | {r['target']} ({r['note']}) | "
        f"{'yes' if r['met'] else 'NO'} | {r['train_seconds']:.0f} |"
        for r in rows
    ]
    if result["sgd_five_detector_cv"]:
        sgd = result["sgd_five_detector_cv"]
        lines.append(
            f"\nSGD 5-vs-rest 3-fold CV accuracy: {np.round(sgd['scores'], 5).tolist()} "
            f"(published {SGD_PUBLISHED}; equal: {sgd['equal']})"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    from mnistlab.parallel import loop_of_fits

    with loop_of_fits():  # Ctrl-C or SIGTERM stops every fit of the loop, not only the one running
        main()
