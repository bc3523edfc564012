"""Does data-parallel training cost anything here? The same `mnistlab train` of a recipe on MNIST in one process
with 2 threads and under `torchrun --nproc-per-node 2` in two processes with 1 thread each (PyTorch DDP over
gloo on loopback), same seeds, in the same run: test accuracy and training seconds side by side. Then the
all-reduce of each model's gradient, timed on this machine, and a paper projection to 8 and 64 workers.

    python benchmarks/distributed_training.py [--seeds 3] [--models cnn-fast cnn] [--limit N]

The projection (clearly a model, not a measurement): a step of W workers at a fixed global batch takes the
one-process compute time of B/W rows (linear in the rows: optimistic for small per-worker batches) plus a ring
all-reduce, 2 (W - 1) latency + 2 (W - 1) / W x gradient bytes / bandwidth; latency and bandwidth are fitted on
this machine's loopback (the same-machine case) and, for machines on a network, assumed at 25 us and 1.25 GB/s
(10 Gigabit Ethernet).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
PROBE = """
import json, sys, time
import torch, torch.distributed as dist
from mnistlab.models import networks
dist.init_process_group("gloo")
sizes = {"latency (1 float)": 1}
for name in sys.argv[2:]:
    sizes[name] = sum(p.numel() for p in networks.build(name, 10).parameters())
out = {}
for label, n in sizes.items():
    grad = torch.zeros(n)
    for _ in range(10):
        dist.all_reduce(grad)
    dist.barrier()
    start, reps = time.perf_counter(), 200
    for _ in range(reps):
        dist.all_reduce(grad)
    out[label] = {"floats": n, "seconds": (time.perf_counter() - start) / reps}
if dist.get_rank() == 0:
    open(sys.argv[1], "w").write(json.dumps(out))
dist.destroy_process_group()
"""
NETWORK = {"latency": 25e-6, "bandwidth": 1.25e9}  # 10 GbE, assumed


def train(model: str, seed: int, processes: int, limit: int | None, folder: Path) -> dict:
    """One `mnistlab train` of ``model`` with its defaults (in ``processes`` processes), its metrics."""
    out = folder / f"{model}-{processes}p-s{seed}"
    args = ["train", "--data", "mnist", "--model", model, "--seed", str(seed), "--out", str(out)]
    args += ["--limit", str(limit)] if limit else []
    env = {**os.environ, "OMP_NUM_THREADS": str(2 // processes)}
    env.pop("WORLD_SIZE", None)
    if processes == 1:
        command = [sys.executable, "-m", "mnistlab", *args, "--threads", "2"]
    else:
        launcher = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc-per-node={processes}",
        ]
        command = [*launcher, "-m", "mnistlab", *args]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "test_accuracy": metrics["test_accuracy"],
        "train_seconds": metrics["train_seconds"],
        "optimizer_steps": metrics.get("optimizer_steps"),
        "wall_seconds": round(time.perf_counter() - start, 2),
    }


def all_reduce_times(models: list[str], folder: Path) -> dict:
    """Seconds of one all-reduce of each model's gradient (and of one float) between 2 processes here."""
    script, result = folder / "probe.py", folder / "probe.json"
    script.write_text(PROBE)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node=2",
        str(script),
    ]
    done = subprocess.run([*command, str(result), *models], capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"all-reduce probe failed:\n{done.stderr[-3000:]}")
    return json.loads(result.read_text())


def projection(step_seconds: float, floats: int, latency: float, bandwidth: float) -> dict:
    """Speed-up over one worker of W workers at a fixed global batch (the module's model)."""
    speedups = {}
    for workers in (2, 8, 64):
        reduce = 2 * (workers - 1) * latency + 2 * (workers - 1) / workers * 4 * floats / bandwidth
        speedups[str(workers)] = round(step_seconds / (step_seconds / workers + reduce), 2)
    return speedups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["cnn-fast", "cnn"])
    parser.add_argument("--limit", type=int, default=None, help="training images (default: all 60,000)")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from suite import machine

    table: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        reduce = all_reduce_times(args.models, folder)
        for model in args.models:
            sides: dict = {"1 process x 2 threads": [], "2 processes x 1 thread": []}
            for seed in range(args.seeds):  # the two sides alternate, so that a change of load hits both
                sides["1 process x 2 threads"].append(train(model, seed, 1, args.limit, folder))
                sides["2 processes x 1 thread"].append(train(model, seed, 2, args.limit, folder))
                print(model, seed, {k: v[-1] for k, v in sides.items()}, flush=True)
            table[model] = {side: summary(rows) for side, rows in sides.items()}
    latency = reduce["latency (1 float)"]["seconds"] / 2  # one exchange each way between 2 processes
    for model in args.models:
        floats, seconds = reduce[model]["floats"], reduce[model]["seconds"]
        loopback = floats * 4 / max(seconds - 2 * latency, 1e-9)
        one = table[model]["1 process x 2 threads"]
        step = one["train_seconds"]["median"] / max(one["optimizer_steps"], 1)
        table[model]["all_reduce"] = {"floats": floats, "seconds": seconds, "loopback_bytes_per_s": loopback}
        table[model]["projected_speedup"] = {
            "same machine (loopback)": projection(step, floats, latency, loopback),
            "10 GbE network (assumed)": projection(step, floats, **NETWORK),
        }
    write(table, reduce, args, machine())


def summary(rows: list[dict]) -> dict:
    def spread(key: str) -> dict:
        values = [row[key] for row in rows]
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    return {
        "seeds": len(rows),
        "test_accuracy": spread("test_accuracy"),
        "train_seconds": spread("train_seconds"),
        "optimizer_steps": rows[0]["optimizer_steps"],
        "runs": rows,
    }


def write(table: dict, reduce: dict, args, machine: dict) -> None:
    stamp = time.strftime("%Y-%m-%d-%H%M")
    size = f"{args.limit} images" if args.limit else "60,000 images"
    result = {
        "date": stamp,
        "machine": machine,
        "training_images": size,
        "distributed": table,
        "probe": reduce,
    }
    name = f"distributed-training-{stamp}"
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        f"# Data-parallel training on this machine ({stamp})",
        "",
        f"Machine: {machine['processor']}, {machine['cpu_count']} cores, native bf16 {machine['bf16']}, "
        f"SIMD {machine['simd']}, load average {machine['load_average']}. MNIST, {size}, each recipe's defaults, `mnistlab train`; "
        "median (min-max) over the seeds, the two sides alternating in one run.",
        "",
        "| model | side | seeds | test accuracy | training seconds | optimizer steps |",
        "|---|---|---|---|---|---|",
    ]
    for model, row in table.items():
        for side in ("1 process x 2 threads", "2 processes x 1 thread"):
            s = row[side]
            acc, sec = s["test_accuracy"], s["train_seconds"]
            lines.append(
                f"| {model} | {side} | {s['seeds']} | {acc['median']:.4f} ({acc['min']:.4f}-{acc['max']:.4f}) | "
                f"{sec['median']:.1f} ({sec['min']:.1f}-{sec['max']:.1f}) | {s['optimizer_steps']} |"
            )
    lines += [
        "",
        "All-reduce between 2 processes on loopback (gloo), and the paper projection of the speed-up over one "
        "worker at a fixed global batch (see the script's docstring for the model):",
        "",
        "| model | gradient floats | all-reduce ms | projected speed-up 2 / 8 / 64, same machine | "
        "2 / 8 / 64, 10 GbE (assumed) |",
        "|---|---|---|---|---|",
    ]
    for model, row in table.items():
        same, net = (
            row["projected_speedup"][k] for k in ("same machine (loopback)", "10 GbE network (assumed)")
        )
        lines.append(
            f"| {model} | {row['all_reduce']['floats']:,} | {1000 * row['all_reduce']['seconds']:.3f} | "
            f"{' / '.join(str(same[w]) for w in ('2', '8', '64'))} | "
            f"{' / '.join(str(net[w]) for w in ('2', '8', '64'))} |"
        )
    lines.append(
        f"\nLatency of one all-reduce of 1 float: {1000 * reduce['latency (1 float)']['seconds']:.3f} ms."
    )
    (args.out / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
