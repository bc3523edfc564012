"""The CPU speed record for MNIST to 99%: mnistlab's ``cnn-fast`` with its defaults, on 2 CPU cores.

Claim (2026-11-26, 2-core Intel Xeon with AVX-512 bf16 and AMX, torch 2.13.0 CPU, 2 threads): mean test accuracy
99.11% over 20 seeds (std 0.06, range 99.00-99.26, P(>= 99.0%) = 1.00) in 1.92 s of training (median, range
1.43-2.70 s; the whole ``fit`` call 2.05 s), 4.8x sooner than the fastest public recipe as published (fp32, 9.24 s)
and 1.8x sooner than that recipe at its best here (bf16, channels-last, fused Adam: 3.52 s), same run.
Missed: training <= 1.0 s, asked of the 2-core AMD EPYC with native bf16: measured there on 2026-12-07, 1.70 s median
(range 1.51-2.65, 20 seeds, 99.11% mean, 5.2x sooner than A); that machine's bf16 peak (389 GFLOP/s, no AMX) puts
cnn-fast's compute floor at 0.58 s. The profiles of the miss are on the documentation's Benchmarks page ("CPU speed
record").
Evidence: ``benchmarks/results/record-*.json`` (every seed's row, the machine, the versions).

The recipe (``models.create("cnn-fast", data)``, as ``mnistlab train --model cnn-fast`` builds it):

    network          Conv(16 filters, 5x5 px, stride 2 px) -> ReLU -> Conv(32 filters, 3x3 px) -> MaxPool(2x2 px)
                     -> ReLU -> Dense(128 units, ReLU) -> Dense(10 units); 0.62 M multiply-adds per image
    images seen      60000 (1 epoch of the whole training split, reshuffled by the seed)
    batch            256 images per step (235 steps)
    optimiser        Adam, peak learning rate 0.01 per step, betas (0.7, 0.9) (unitless decay rates), fused
    schedule         OneCycle: 25% of the steps warming up, then cosine annealing to 0.0004x the peak
    loss             cross-entropy with label smoothing 0.1 (probability mass spread over the 10 classes)
    input            pixels 0..255 standardised by one mean and one std over all training pixels
    precision        "auto": fp32 or bf16, layout and threads, whichever the step measured fastest on the machine
    threads          2 (the machine's cores)

It was chosen on validation data only: a validation split of the training data (benchmarks/frontier.py's tuning,
recorded in the README); the test split is measured once per seed, after training.

Protocol: seeds 0..N-1 of ``cnn-fast`` with its defaults, seed by seed side by side with the references (the
fastest public recipe, tuomaso/train_mnist_fast: A as published in fp32; B tuned: fused Adam, channels-last, in
fp32 and in bf16, the faster of the two being the reference at its best) and ``cnn-fast`` forced to fp32 (its
own row). One warm-up run
first (seed 99, not counted: oneDNN picks its kernels, the precision choice is measured and cached; the time of
that first choice is recorded apart). Training time is the clock around the training steps (the data already in
memory, as in the reference); ``fit_wall_seconds`` is the whole ``fit`` call a user waits for (checks of the input,
tensors, scaling, training).

    .venv/bin/python benchmarks/speed_record.py --seeds 20 --reference-seeds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from common import THREADS, timed_fit
from frontier import normalised, reference_run, tuned_choice
from results_page import avx512_kind

from mnistlab import datasets
from mnistlab.models import precision
from mnistlab.runs import versions

RESULTS = Path(__file__).parent / "results"
TARGET_ACCURACY = 0.99


def machine_kind() -> str:
    """The machine kinds the README's figures are given by: vendor, and how bf16 runs (native or not)."""
    vendor = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            vendor = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("vendor_id")), vendor
            )
    except OSError:
        pass
    flags = set(precision.cpu_facts()["flags"])
    name = {"AuthenticAMD": "AMD", "GenuineIntel": "Intel"}.get(vendor, vendor)
    return f"{name}, {avx512_kind(flags) or ('AVX2' if 'avx2' in flags else 'no AVX2')}"


def cnn_fast_run(seed: int, train, test, **params) -> dict:
    """One ``cnn-fast`` training with its defaults (``params`` override, for the fp32 row)."""
    _, row = timed_fit("cnn-fast", train, test, seed, **params)
    row["test_accuracy"] = row.pop("accuracy")
    return row


def describe(rows: list[dict]) -> dict:
    """Mean, spread and P(accuracy >= 99%) of the accuracies; median and range of the times."""
    accs = [r["test_accuracy"] for r in rows]
    times = [r["train_seconds"] for r in rows]
    out = {
        "seeds": len(rows),
        "accuracy_mean": statistics.fmean(accs),
        "accuracy_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "accuracy_min": min(accs),
        "accuracy_max": max(accs),
        "p_at_least_99": sum(a >= TARGET_ACCURACY for a in accs) / len(accs),
        "train_seconds_median": statistics.median(times),
        "train_seconds_min": min(times),
        "train_seconds_max": max(times),
        "precision": rows[0].get("precision"),
        "channels_last": rows[0].get("channels_last"),
    }
    walls = [r["fit_wall_seconds"] for r in rows if "fit_wall_seconds" in r]
    if walls:
        out["fit_wall_seconds_median"] = statistics.median(walls)
    return out


def record(seeds: int, reference_seeds: int, limit: int | None = None) -> dict:
    """The record's runs and their summary; ``limit`` trains on that many images (the suite's tiny smoke run)."""
    torch.set_num_threads(THREADS)
    train, test = datasets.load("mnist", "train"), datasets.load("mnist", "test")
    if limit:
        train, test = train.subset(slice(0, limit)), test.subset(slice(0, limit // 4))
    tx, ty = normalised(train.images), torch.from_numpy(train.labels)
    vx, vy = normalised(test.images), torch.from_numpy(test.labels)
    start = time.perf_counter()
    first_choice = precision.choose("cnn-fast", cache=False)
    choice_seconds = time.perf_counter() - start
    cnn_fast_run(99, train.subset(slice(0, 5120)), test.subset(slice(0, 100)))  # warm-up, not counted
    reference_run(99, tx[:2560], ty[:2560], vx[:100], vy[:100], tuned=True)
    sides = {
        "cnn_fast": lambda seed: cnn_fast_run(seed, train, test),
        "cnn_fast_fp32": lambda seed: cnn_fast_run(seed, train, test, precision="fp32"),
        "A_published_fp32": lambda seed: reference_run(seed, tx, ty, vx, vy, tuned=False),
        "B_tuned_fp32": lambda seed: reference_run(seed, tx, ty, vx, vy, tuned=True, precision="fp32"),
        "B_tuned_bf16": lambda seed: reference_run(seed, tx, ty, vx, vy, tuned=True, precision="bf16"),
    }
    rows: dict[str, list[dict]] = {name: [] for name in sides}
    for seed in range(seeds):  # seed by seed, side by side: the machine's load reaches every side alike
        for name, run in sides.items():
            if name != "cnn_fast" and seed >= reference_seeds:
                continue
            row = run(seed)
            row["load_average_before"] = os.getloadavg()[0]
            rows[name].append(row)
            print(name, json.dumps(row), flush=True)
    summary = {name: describe(side_rows) for name, side_rows in rows.items()}
    ours = summary["cnn_fast"]["train_seconds_median"]
    # the reference at its best: whichever precision trained it sooner here (both run, so no rule decides it)
    best_b = min(("B_tuned_fp32", "B_tuned_bf16"), key=lambda name: summary[name]["train_seconds_median"])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine_kind": machine_kind(),
        "machine": {**precision.cpu_facts(), "cores": os.cpu_count(), "threads": THREADS},
        "versions": versions(),
        "first_choice": {**first_choice, "seconds": choice_seconds},
        "tuned_reference_choice": tuned_choice(),
        "summary": summary,
        "speedup_vs_published": summary["A_published_fp32"]["train_seconds_median"] / ours,
        "reference_at_its_best": best_b,
        "speedup_vs_reference_at_its_best": summary[best_b]["train_seconds_median"] / ours,
        "targets": {
            "mean accuracy >= 99.0% over >= 20 seeds": seeds >= 20
            and summary["cnn_fast"]["accuracy_mean"] >= TARGET_ACCURACY,
            "training <= 1.0 s (asked of the AMD EPYC with native bf16)": ours <= 1.0,
            ">= 2x sooner than A (asked of the machines without native bf16)": (
                summary["A_published_fp32"]["train_seconds_median"] / ours >= 2
            ),
        },
        "rows": rows,
    }


def bench_record(size: str) -> dict:
    """The benchmark suite's entry: 20 seeds at full size (5 for each reference), 3 at quick, a smoke run at tiny."""
    seeds, reference_seeds, limit = {"tiny": (2, 1, 5120), "quick": (3, 2, None), "full": (20, 5, None)}[size]
    result = record(seeds, reference_seeds, limit)
    result["target"] = ", ".join(result["targets"])
    result["met"] = all(result["targets"].values())
    return result


def markdown(result: dict) -> str:
    lines = [
        f"# CPU speed record, MNIST to 99%: {result['date']}",
        "",
        f"Machine kind: {result['machine_kind']}; {result['machine']['cpu']}, {result['machine']['cores']} cores, "
        f"{result['machine']['threads']} threads, torch {result['machine']['torch']}  ",
        f"cnn-fast's measured choice here: {result['first_choice']['precision']}, "
        f"{'channels-last' if result['first_choice']['channels_last'] else 'contiguous'} "
        f"(measuring it took {result['first_choice']['seconds']:.1f} s, once per machine)",
        "",
        "| row | seeds | precision | training s, median [min, max] | whole fit s | test accuracy, mean +- std "
        "[min, max] | P(>= 99%) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in result["summary"].items():
        wall = s.get("fit_wall_seconds_median")
        lines.append(
            f"| {name} | {s['seeds']} | {s['precision']} | {s['train_seconds_median']:.2f} "
            f"[{s['train_seconds_min']:.2f}, {s['train_seconds_max']:.2f}] | "
            f"{'-' if wall is None else f'{wall:.2f}'} | {100 * s['accuracy_mean']:.2f} +- "
            f"{100 * s['accuracy_std']:.2f} [{100 * s['accuracy_min']:.2f}, {100 * s['accuracy_max']:.2f}] | "
            f"{s['p_at_least_99']:.2f} |"
        )
    lines += [
        "",
        f"cnn-fast is {result['speedup_vs_published']:.2f}x sooner than A (published, fp32) and "
        f"{result['speedup_vs_reference_at_its_best']:.2f}x sooner than the same recipe at its best here "
        f"({result['reference_at_its_best']}).",
        "",
        *(f"- {'met' if met else 'MISSED'}: {target}" for target, met in result["targets"].items()),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--reference-seeds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    result = record(args.seeds, args.reference_seeds)
    slug = "".join(c if c.isalnum() else "-" for c in result["machine_kind"].lower()).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    stem = f"record-{time.strftime('%Y-%m-%d-%H%M')}-{slug}"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2, default=str))
    (args.out / f"{stem}.md").write_text(markdown(result))
    print(markdown(result))
    print(args.out / f"{stem}.json")


if __name__ == "__main__":
    from mnistlab.parallel import loop_of_fits

    with loop_of_fits():  # Ctrl-C or SIGTERM stops every fit of the loop, not only the one running
        main()
