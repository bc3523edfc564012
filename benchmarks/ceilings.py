"""How far a longer training goes on 2 CPU cores within a time budget: issue 39's "ceilings, fast" (MNIST >= 99.6%
within 60 s of training, Fashion-MNIST >= 94.0% within 5 minutes, mean of 3 seeds).

Protocol. Each candidate configuration of a registered network (``--model``, its recipe's defaults overridden by
the candidate's parameters) trains once (seed 0) on the first 50,000 images of the training split and is scored
on the last 10,000: the validation split. The candidate with the best validation accuracy (ties: the shorter
training) is then trained with ``--seeds`` seeds on the whole training split and scored once on the test split.
Nothing is chosen on the test split. Training time is the sum of the epochs' clocks (``history_``), as in the speed
record; the whole ``fit`` call is recorded too. Results are written after every run
(``benchmarks/results/ceilings-<data>-<date>.json`` and ``.md``), so a stopped run keeps what it measured.

    .venv/bin/python benchmarks/ceilings.py --data mnist --model cnn-fast --budget 60 \\
        --candidates '[{"epochs": 20, "augment": "shift=2"}, {"epochs": 20, "augment": "shift=2,rotate=8"}]'
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import torch
from common import THREADS
from speed_record import machine_kind

from mnistlab import datasets, models
from mnistlab.models import precision
from mnistlab.runs import versions

RESULTS = Path(__file__).parent / "results"
VALIDATION = 10_000


def one_run(model: str, train, scored, params: dict, seed: int) -> dict:
    """Train ``model`` with ``params`` over its defaults on ``train``; its accuracy on ``scored``."""
    clf = models.create(model, train, seed=seed, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(train.images, train.labels)
    wall = time.perf_counter() - start
    return {
        "seed": seed,
        "params": params,
        "train_seconds": sum(row["seconds"] for row in clf.history_),
        "fit_wall_seconds": wall,
        "accuracy": float((clf.predict(scored.images) == scored.labels).mean()),
        "epochs": clf.epochs_,
        "steps": clf.steps_,
        "precision": clf.precision_,
        "load_average_before": os.getloadavg()[0],
    }


def markdown(result: dict) -> str:
    lines = [
        f"# Ceilings within a budget: {result['data']}, `{result['model']}` ({result['date']})",
        "",
        f"Machine kind: {result['machine_kind']}; {result['machine']['cores']} cores, {THREADS} threads, "
        f"torch {result['versions'].get('torch')}. Goal: >= {result['goal_accuracy']:.2%} mean test accuracy "
        f"over {result['seeds']} seeds within {result['budget_seconds']:g} s of training.",
        "",
        "Candidates, validation split (the last 10,000 training images; trained on the first 50,000, seed 0):",
        "",
        "| parameters over the recipe | validation accuracy | training s |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{json.dumps(row['params'])}` | {row['accuracy']:.2%} | {row['train_seconds']:.1f} |"
        for row in result["candidates"]
    ]
    test = result["test"]
    if test:
        accs = [row["accuracy"] for row in test]
        times = [row["train_seconds"] for row in test]
        lines += [
            "",
            f"Chosen on validation: `{json.dumps(result['chosen'])}`. Whole training split, test split once per seed:",
            "",
            "| seed | test accuracy | training s | whole fit s | load before |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {row['seed']} | {row['accuracy']:.2%} | {row['train_seconds']:.1f} | {row['fit_wall_seconds']:.1f} "
            f"| {row['load_average_before']:.1f} |"
            for row in test
        ]
        mean = statistics.fmean(accs)
        verdict = (
            "met"
            if len(test) >= result["seeds"]
            and mean >= result["goal_accuracy"]
            and max(times) <= result["budget_seconds"]
            else "MISSED"
        )
        lines += [
            "",
            f"Mean {mean:.2%} (range {min(accs):.2%}-{max(accs):.2%}), training {statistics.median(times):.1f} s "
            f"median (range {min(times):.1f}-{max(times):.1f}): **{verdict}** "
            f"(accuracy {100 * (mean - result['goal_accuracy']):+.2f} points against the goal).",
        ]
    return "\n".join(lines) + "\n"


def write(result: dict, stem: Path) -> None:
    for suffix, text in ((".json", json.dumps(result, indent=1)), (".md", markdown(result))):
        tmp = stem.with_suffix(suffix + ".tmp")
        tmp.write_text(text)
        tmp.replace(stem.with_suffix(suffix))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--model", default="cnn-fast")
    parser.add_argument("--candidates", required=True, help="a JSON list of parameter dicts")
    parser.add_argument("--budget", type=float, required=True, help="seconds of training")
    parser.add_argument("--goal", type=float, required=True, help="mean test accuracy, e.g. 0.996")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    train, test = datasets.load(args.data, "train"), datasets.load(args.data, "test")
    fit_on = train.subset(slice(0, len(train) - VALIDATION))
    validation = train.subset(slice(len(train) - VALIDATION, len(train)))
    stem = args.out / f"ceilings-{args.data}-{time.strftime('%Y-%m-%d-%H%M')}"
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine_kind": machine_kind(),
        "machine": {**precision.cpu_facts(), "cores": os.cpu_count(), "threads": THREADS},
        "versions": versions(),
        "data": args.data,
        "model": args.model,
        "budget_seconds": args.budget,
        "goal_accuracy": args.goal,
        "seeds": args.seeds,
        "candidates": [],
        "chosen": None,
        "test": [],
    }
    for params in json.loads(args.candidates):
        result["candidates"].append(one_run(args.model, fit_on, validation, params, seed=0))
        print(json.dumps(result["candidates"][-1]), flush=True)
        write(result, stem)
    best = max(result["candidates"], key=lambda row: (row["accuracy"], -row["train_seconds"]))
    result["chosen"] = best["params"]
    for seed in range(args.seeds):
        result["test"].append(one_run(args.model, train, test, best["params"], seed))
        print(json.dumps(result["test"][-1]), flush=True)
        write(result, stem)
    print(stem.with_suffix(".md"))


if __name__ == "__main__":
    main()
