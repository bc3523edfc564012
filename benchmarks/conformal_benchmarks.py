"""Conformal prediction sets of every method (split = LAC, split-nonempty, class-conditional, APS, RAPS) on MNIST
and Fashion-MNIST: coverage, worst-class coverage, mean set size and the share of empty sets on the test split,
the sets calibrated on each run's validation split (10% of the training split: ``mnistlab train``'s default).

Each model is trained with the product's defaults (``train_model``), once per seed; the test split is measured
once per trained model, and every method sees the same probabilities. Median and range over the seeds. The
trained models' validation and test probabilities are kept in ``--cache`` (default
``~/.cache/mnistlab/bench-conformal``) so the sets can be measured again without training (``--reuse``).

    .venv/bin/python benchmarks/conformal_benchmarks.py               # 2 data sets x cnn-fast, mlp x 3 seeds
    .venv/bin/python benchmarks/conformal_benchmarks.py --models cnn-fast --seeds 1 --limit 5000   # a quick try

Writes benchmarks/results/conformal-<date>.json and .md (the docs' results page shows the JSON).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mnistlab import runs
from mnistlab.models.calibration import CAN_BE_EMPTY, METHODS, ConformalCalibration, prediction_sets
from mnistlab.workflows import train_model

DATA = ("mnist", "fashion-mnist-kaggle")
MODELS = ("cnn-fast", "mlp")
ALPHAS = (0.1, 0.05)
RESULTS = Path(__file__).parent / "results"
CACHE = Path.home() / ".cache" / "mnistlab" / "bench-conformal"


def probabilities(data: str, model: str, seed: int, limit: int | None, cache: Path, reuse: bool) -> dict:
    """The validation split's and the test split's probabilities and labels of one trained model (cached)."""
    cached = cache / f"{data}-{model}-seed{seed}-limit{limit or 'all'}.npz"
    if reuse and cached.exists():
        with np.load(cached, allow_pickle=False) as held:
            return {name: held[name] for name in held.files}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        start = time.perf_counter()
        train_model(data, model, out=out, seed=seed, limit=limit, verbose=0)
        trained = time.perf_counter() - start
        run = runs.load_run(out)
        held_out = run.estimator.conformal_
        test = runs.test_data(run)
        test_proba = run.estimator.predict_proba(test.images)
        test_labels = np.searchsorted(run.estimator.classes_, test.labels)
    found = {
        "val_proba": held_out.probabilities,
        "val_labels": held_out.labels,
        "test_proba": test_proba,
        "test_labels": test_labels,
        "train_seconds": np.array(trained),
    }
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cached, **found)
    return found


def measure(found: dict, alpha: float, method: str) -> dict:
    """Coverage, worst-class coverage, mean set size and empty-set share of one method on the test split."""
    held_out = ConformalCalibration.from_probabilities(found["val_proba"], found["val_labels"])
    y = found["test_labels"]
    start = time.perf_counter()
    sets = prediction_sets(found["test_proba"], held_out, alpha, method)
    seconds = time.perf_counter() - start
    covered = sets[np.arange(len(y)), y]
    sizes = sets.sum(axis=1)
    return {
        "coverage": float(covered.mean()),
        "worst_class_coverage": float(min(covered[y == k].mean() for k in np.unique(y))),
        "mean_size": float(sizes.mean()),
        "empty": float((sizes == 0).mean()),
        "seconds": seconds,
    }


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def machine() -> dict:
    """The machine as the suite records it, with the CPU's model name (lscpu's "Model name")."""
    from suite import machine as suite_machine

    host = suite_machine()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        host["cpu_model"] = cpuinfo.split("model name", 1)[1].split(":", 1)[1].split("\n", 1)[0].strip()
    except (OSError, IndexError):
        host["cpu_model"] = None
    return host


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", default=list(DATA))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="training images (default: all)")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--reuse", action="store_true", help="measure cached probabilities again")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    host = machine()
    rows: list[dict] = []
    for data in args.data:
        for model in args.models:
            per_seed = []
            for seed in range(args.seeds):
                found = probabilities(data, model, seed, args.limit, args.cache, args.reuse)
                accuracy = float((found["test_proba"].argmax(1) == found["test_labels"]).mean())
                per_seed.append({"accuracy": accuracy, "train_seconds": float(found["train_seconds"])})
                per_seed[-1]["sets"] = {
                    (alpha, method): measure(found, alpha, method) for alpha in ALPHAS for method in METHODS
                }
                print(f"{data} {model} seed {seed}: accuracy {accuracy:.4f}", file=sys.stderr, flush=True)
            calibrated_on = len(found["val_labels"])
            for alpha in ALPHAS:
                for method in METHODS:
                    measured = [s["sets"][alpha, method] for s in per_seed]
                    rows.append(
                        {
                            "data": data,
                            "model": model,
                            "alpha": alpha,
                            "method": method,
                            "can_be_empty": method in CAN_BE_EMPTY,
                            "seeds": len(per_seed),
                            "calibration_images": calibrated_on,
                            "test_images": len(found["test_labels"]),
                            "accuracy": spread([s["accuracy"] for s in per_seed]),
                            **{
                                key: spread([m[key] for m in measured])
                                for key in (
                                    "coverage",
                                    "worst_class_coverage",
                                    "mean_size",
                                    "empty",
                                    "seconds",
                                )
                            },
                        }
                    )
    date = time.strftime("%Y-%m-%d")
    record = {
        "date": date,
        "size": "full" if args.limit is None else f"limit {args.limit}",
        "machine": host,
        "versions": versions(),
        "setup": {
            "models": "the product's defaults (train_model), validation split 0.1 of the training split",
            "calibration": "the validation split; sets measured once on the test split",
            "seeds": args.seeds,
            "limit": args.limit,
        },
        "conformal": [_flat(row) for row in rows],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"conformal-{date}" if args.limit is None else f"conformal-{date}-limit{args.limit}"
    (args.out / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (args.out / f"{stem}.md").write_text(markdown(record, rows), encoding="utf-8")
    print(args.out / f"{stem}.md")
    return args.out / f"{stem}.md"


def _flat(row: dict) -> dict:
    """One JSON row: each spread as median and [min, max] (the results page renders a list of flat dicts)."""
    out = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out[key] = round(value["median"], 5)
            out[f"{key}_range"] = [round(value["min"], 5), round(value["max"], 5)]
        else:
            out[key] = value
    return out


def cell(value: dict, digits: int = 3) -> str:
    return f"{value['median']:.{digits}f} [{value['min']:.{digits}f}, {value['max']:.{digits}f}]"


def markdown(record: dict, rows: list[dict]) -> str:
    host = record["machine"]
    lines = [
        f"# Conformal prediction sets, {record['date']}",
        "",
        f"Machine: {host.get('cpu_model')}, {host.get('cpu_count')} cores, flags {' '.join(host.get('simd', []))}; "
        f"load average before {[round(x, 2) for x in host.get('load_average', [])]}.",
        f"{record['setup']['models']}; {record['setup']['calibration']}; median [min, max] over "
        f"{record['setup']['seeds']} seeds.",
        "",
        "| data | model | accuracy | alpha | method | coverage | worst-class coverage | mean set size | empty sets |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['data']} | {row['model']} | {cell(row['accuracy'], 4)} | {row['alpha']} | {row['method']} | "
            f"{cell(row['coverage'])} | {cell(row['worst_class_coverage'])} | {cell(row['mean_size'], 2)} | "
            f"{cell(row['empty'])} |"
        )
    return "\n".join(lines) + "\n"


def versions() -> dict:
    import platform

    import mapie
    import sklearn
    import torch

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "mapie": mapie.__version__,
    }


if __name__ == "__main__":
    from mnistlab.parallel import loop_of_fits

    with loop_of_fits():  # Ctrl-C or SIGTERM stops every fit of the loop, not only the one running
        main()
