"""How far a longer training goes on 2 CPU cores within a time budget: issue 39's "ceilings, fast" (MNIST >= 99.6%
within 60 s of training, Fashion-MNIST >= 94.0% within 5 minutes, mean of 3 seeds) and its hour-budget rows
(MNIST >= 99.75%, Fashion-MNIST >= 95.5%; ensembles their own rows).

Protocol. Each candidate configuration of a registered network (``--model``, its recipe's defaults overridden by
the candidate's parameters) trains once (seed 0) on the first 50,000 images of the training split and is scored
on the last 10,000: the validation split. The candidate with the best validation accuracy (ties: the shorter
training) is then trained with ``--seeds`` seeds on the whole training split and scored once on the test split;
a single candidate, fixed in advance, skips the validation runs. ``--ensemble`` adds the seeds' networks scored
together (the mean of their probabilities) as a row of its own, its training time the sum of theirs.
Nothing is chosen on the test split. Training time is the sum of the epochs' clocks (``history_``), as in the speed
record; the whole ``fit`` call is recorded too. Results are written after every run
(``benchmarks/results/ceilings-<data>-<date>.json`` and ``.md``), so a stopped run keeps what it measured.

    .venv/bin/python benchmarks/ceilings.py --data mnist --model cnn-fast --budget 60 \\
        --candidates '[{"epochs": 20, "augment": "shift=2"}, {"epochs": 20, "augment": "shift=2,rotate=8"}]'
    .venv/bin/python benchmarks/ceilings.py --data mnist --model cnn --budget 3600 --goal 0.9975 --ensemble \
        --candidates '[{"epochs": 40}]'
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from common import THREADS, timed_fit, write_results
from speed_record import machine_kind

from mnistlab import datasets
from mnistlab.models import precision
from mnistlab.runs import versions

RESULTS = Path(__file__).parent / "results"
VALIDATION = 10_000


def markdown(result: dict) -> str:
    lines = [
        f"# Ceilings within a budget: {result['data']}, `{result['model']}` ({result['date']})",
        "",
        f"Machine kind: {result['machine_kind']}; {result['machine']['cores']} cores, {THREADS} threads, "
        f"torch {result['versions'].get('torch')}. Goal: >= {result['goal_accuracy']:.2%} mean test accuracy "
        f"over {result['seeds']} seeds within {result['budget_seconds']:g} s of training.",
        "",
    ]
    if result["candidates"]:
        held_out, fit_on = result.get("validation_images", VALIDATION), result.get("fit_images", 50_000)
        lines += [
            f"Candidates, validation split (the last {held_out:,} training images; trained on the first "
            f"{fit_on:,}, seed 0):",
            "",
            "| parameters over the recipe | validation accuracy | training s |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{json.dumps(row['params'])}` | {row['accuracy']:.2%} | {row['train_seconds']:.1f} |"
            for row in result["candidates"]
        ]
    else:
        lines.append("One configuration, fixed before any run: no validation runs, nothing chosen.")
    test = result["test"]
    if test:
        accs = [row["accuracy"] for row in test]
        times = [row["train_seconds"] for row in test]
        lines += [
            "",
            f"{'Chosen on validation' if result['candidates'] else 'The configuration'}: "
            f"`{json.dumps(result['chosen'])}`. Whole training split, test split once per seed:",
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
    ensemble = result.get("ensemble")
    if ensemble:
        lines += [
            "",
            f"Its own row, **the ensemble** of those {ensemble['members']} networks (the mean of their "
            f"probabilities): test accuracy {ensemble['accuracy']:.2%}, {ensemble['train_seconds']:.1f} s of "
            f"training in all (one ensemble: {100 * (ensemble['accuracy'] - result['goal_accuracy']):+.2f} points "
            f"against the goal, {'within' if ensemble['train_seconds'] <= result['budget_seconds'] else 'OVER'} "
            "the budget).",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--model", default="cnn-fast")
    parser.add_argument("--candidates", required=True, help="a JSON list of parameter dicts")
    parser.add_argument("--budget", type=float, required=True, help="seconds of training")
    parser.add_argument("--goal", type=float, required=True, help="mean test accuracy, e.g. 0.996")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--ensemble", action="store_true", help="also score the seeds' networks together (its own row)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--limit", type=int, help="a try on the first N training and test images (not a result)"
    )
    args = parser.parse_args()
    torch.set_num_threads(THREADS)
    train, test = datasets.load(args.data, "train"), datasets.load(args.data, "test")
    held_out = VALIDATION
    if args.limit:
        train, test = train.subset(slice(0, args.limit)), test.subset(slice(0, args.limit))
        held_out = args.limit // 6
    fit_on = train.subset(slice(0, len(train) - held_out))
    validation = train.subset(slice(len(train) - held_out, len(train)))
    stem = (
        args.out
        / f"ceilings-{args.data}-{time.strftime('%Y-%m-%d-%H%M')}{f'-limit{args.limit}' if args.limit else ''}"
    )
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
        "limit": args.limit,
        "fit_images": len(fit_on),
        "validation_images": len(validation),
        "candidates": [],
        "chosen": None,
        "test": [],
    }
    candidates = json.loads(args.candidates)
    if len(candidates) > 1:  # one configuration fixed in advance needs no choosing
        for params in candidates:
            result["candidates"].append(timed_fit(args.model, fit_on, validation, 0, **params)[1])
            print(json.dumps(result["candidates"][-1]), flush=True)
            write_results(result, stem.with_suffix(".json"), markdown)
        best = max(result["candidates"], key=lambda row: (row["accuracy"], -row["train_seconds"]))
        candidates = [best["params"]]
    result["chosen"] = candidates[0]
    members = []
    for seed in range(args.seeds):
        clf, row = timed_fit(args.model, train, test, seed, **result["chosen"])
        result["test"].append(row)
        print(json.dumps(row), flush=True)
        write_results(result, stem.with_suffix(".json"), markdown)
        if args.ensemble:
            members.append(clf.predict_proba(test.images))
    if args.ensemble:
        mean = sum(members) / len(members)
        result["ensemble"] = {
            "members": len(members),
            "accuracy": float((clf.classes_[mean.argmax(1)] == test.labels).mean()),
            "train_seconds": sum(row["train_seconds"] for row in result["test"]),
        }
        write_results(result, stem.with_suffix(".json"), markdown)
    print(stem.with_suffix(".md"))


if __name__ == "__main__":
    main()
