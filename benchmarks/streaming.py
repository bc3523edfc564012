"""Data bigger than memory, measured: the deformed-MNIST generator's time per million images, training streamed
from shards against the same training in memory (MNIST's 60,000 images, each recipe's defaults, `mnistlab train`,
seeds alternating), and a CNN trained on deformed MNIST: test accuracy, time and peak memory.

    python benchmarks/streaming.py [--seeds 3] [--deformed 1000000] [--models cnn-fast cnn]
        [--deformed-models cnn-fast] [--work DIR]

``--models`` with no name skips the streamed-vs-in-memory comparison; ``--work DIR`` keeps the generated shards
(a second run on a complete folder reports the generation as already done, not its time).

Every training runs in a process of its own, which reports its peak resident memory (``ru_maxrss``).
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
TRAIN = """
import json, resource, sys, time
from mnistlab.workflows import train_model
data, model, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
run = train_model(data, model, seed=seed, out=out, verbose=0, params={"threads": 2})
print(json.dumps({"test_accuracy": run.metrics["test_accuracy"], "train_seconds": run.metrics["train_seconds"],
                  "optimizer_steps": run.metrics.get("optimizer_steps"),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
HEALTH = """
import json, resource, sys, time
from mnistlab.workflows.health import health
start = time.perf_counter()
report = health(sys.argv[1], checks="label", out=sys.argv[2])
seconds = time.perf_counter() - start
judge = report.summary()["context"]["suspected_label_errors"]["judge"]
print(json.dumps({"seconds": seconds, "flagged": report.summary()["suspected_label_errors"], "judge": judge["model"],
                  "out_of_fold_accuracy": judge["out_of_fold_accuracy"],
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def health_label_check(data: str, folder: Path) -> dict:
    """``health --checks label`` on ``data`` in a process of its own: seconds, what it flagged, peak memory."""
    script = folder / "health.py"
    script.write_text(HEALTH)
    done = subprocess.run(
        [sys.executable, "-W", "ignore", str(script), data, str(folder / "health")],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"},
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"health on {data} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def trained(data: str, model: str, seed: int, folder: Path) -> dict:
    script = folder / "train.py"
    script.write_text(TRAIN)
    out = folder / f"run-{model}-{seed}-{abs(hash(data)) % 10_000}"
    done = subprocess.run(
        [sys.executable, "-W", "ignore", str(script), data, model, str(seed), str(out)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "2"},
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"training {model} on {data} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def complete(folder: Path) -> bool:
    """True when ``folder`` holds a finished generation (its training split complete)."""
    manifest = folder / "manifest.json"
    return manifest.exists() and json.loads(manifest.read_text())["splits"].get("train", {}).get(
        "complete", False
    )


def spread(rows: list[dict], key: str) -> dict:
    values = [row[key] for row in rows]
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", nargs="*", default=["cnn-fast", "cnn"])
    parser.add_argument("--deformed-models", nargs="*", default=["cnn-fast"])
    parser.add_argument(
        "--health", action="store_true", help="also health's label check on the deformed images"
    )
    parser.add_argument(
        "--work", type=Path, help="keep the generated shards here (default: a temporary folder)"
    )
    parser.add_argument("--cnn-seeds", type=int, default=1, help="seeds of cnn (minutes a run)")
    parser.add_argument(
        "--deformed", type=int, default=1_000_000, help="deformed images to generate and train on"
    )
    parser.add_argument("--shard-rows", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from suite import machine

    from mnistlab import datasets
    from mnistlab.datasets import shards

    result: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine()}
    stamp = time.strftime(
        "%Y-%m-%d-%H%M"
    )  # one results file, rewritten after every stage: a stopped run keeps them
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        folder = Path(tmp)
        deformed_folder = (args.work or folder) / f"deformed-{args.deformed}"
        already_done = complete(deformed_folder)
        sharded = folder / "mnist-shards"
        for split in ("train", "test"):
            shards.export_split(datasets.load("mnist", split), sharded, shard_rows=args.shard_rows)
        table: dict = {}
        for model in args.models:
            seeds = args.cnn_seeds if model == "cnn" else args.seeds
            sides: dict = {"in memory": [], "streamed": []}
            for seed in range(seeds):
                sides["in memory"].append(trained("mnist", model, seed, folder))
                sides["streamed"].append(trained(str(sharded), model, seed, folder))
                print(model, seed, {k: v[-1] for k, v in sides.items()}, flush=True)
            table[model] = {
                side: {key: spread(rows, key) for key in ("test_accuracy", "train_seconds", "peak_mb")}
                for side, rows in sides.items()
            }
        result["streamed_vs_in_memory"] = table
        write(result, args.out, stamp)
        start = time.perf_counter()
        deformed = datasets.generate_deformed_mnist(deformed_folder, args.deformed)
        seconds = time.perf_counter() - start
        result["generation"] = {
            "images": args.deformed,
            "resumed": already_done,
            "seconds": round(seconds, 1),
            "seconds_per_million": round(seconds / ((args.deformed - 60_000) / 1e6), 1),
            "bytes": sum(p.stat().st_size for p in Path(deformed).iterdir()),
        }
        print("generated", result["generation"], flush=True)
        write(result, args.out, stamp)
        if args.health:
            result["health"] = {"images": args.deformed, **health_label_check(str(deformed), folder)}
            print("health", result["health"], flush=True)
            write(result, args.out, stamp)
        result["deformed_training"] = {"images": args.deformed}
        for model in args.deformed_models:
            result["deformed_training"][model] = trained(str(deformed), model, 0, folder)
            write(result, args.out, stamp)
        print("deformed", result["deformed_training"], flush=True)


def write(result: dict, out: Path, stamp: str) -> None:
    (out / f"streaming-{stamp}.json").write_text(json.dumps(result, indent=1) + "\n")
    m = result["machine"]
    lines = [
        f"# Streaming from shards ({result['date']})",
        "",
        f"Machine: {m['processor']}, {m['cpu_count']} cores, native bf16 {m['bf16']}, load average at the start "
        f"{tuple(round(x, 1) for x in m['load_average'])}. MNIST (60,000 training images) exported to shards of "
        "10,000; each recipe's defaults through `mnistlab train`, 2 threads; median (min-max).",
    ]
    if result["streamed_vs_in_memory"]:
        lines += [
            "",
            "| model | side | seeds | test accuracy | training seconds | peak memory MB |",
            "|---|---|---|---|---|---|",
        ]
    for model, sides in result["streamed_vs_in_memory"].items():
        for side, row in sides.items():
            acc, sec, mem = row["test_accuracy"], row["train_seconds"], row["peak_mb"]
            lines.append(
                f"| {model} | {side} | {acc['n']} | {acc['median']:.4f} ({acc['min']:.4f}-{acc['max']:.4f}) | "
                f"{sec['median']:.1f} ({sec['min']:.1f}-{sec['max']:.1f}) | {mem['median']:.0f} |"
            )
    g, d = result.get("generation"), result.get("deformed_training", {})
    if g is None:
        (out / f"streaming-{stamp}.md").write_text("\n".join(lines) + "\n")
        return
    made = (
        "were already generated (time not measured in this run)"
        if g.get("resumed")
        else f"generated in {g['seconds']:.0f} s ({g['seconds_per_million']:.0f} s per million deformed images"
        f", {g['bytes'] / 2**30:.2f} GiB of shards)"
    )
    lines += ["", f"Deformed MNIST: {g['images']:,} training images {made}."]
    if "health" in result:
        h = result["health"]
        lines.append(
            f"`health --checks label` on them: {h['seconds']:.0f} s, judge {h['judge']} (out-of-fold accuracy "
            f"{h['out_of_fold_accuracy']:.4f}), flagged {h['flagged']}, peak memory {h['peak_mb']:.0f} MB."
        )
    for model, run in d.items():
        if model == "images":
            continue
        lines.append(
            f"{model} (its defaults) trained on them, streamed: test accuracy {run['test_accuracy']:.4f} on MNIST's "
            f"test split, {run['train_seconds']:.0f} s of training, {run['optimizer_steps']} optimizer steps, peak "
            f"memory {run['peak_mb']:.0f} MB."
        )
    (out / f"streaming-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
