"""The measured table of a sweep beside its reference figures, as Markdown (the README's Fashion-MNIST benchmark
table is this script's output for runs/sweeps/fashion-benchmark).

    .venv/bin/python benchmarks/sweep_table.py runs/sweeps/fashion-benchmark
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from mnistlab.workflows.sweep import reference_for


def configurations(folder: Path) -> tuple[list[str], list[tuple[str, str]], dict, dict]:
    """The data sets, the (model, parameters) configurations best first, the summary rows by (model, parameters,
    data), and the references of the plan (sweep.json), finished or not."""
    plan = json.loads((folder / "sweep.json").read_text())
    with open(folder / "summary.csv", newline="") as f:
        summary = {(r["model"], r["params"], r["data"]): r for r in csv.DictReader(f) if r["mean_accuracy"]}
    data = list(dict.fromkeys(t["data"] for t in plan["trials"]))
    ranked = sorted(summary.values(), key=lambda r: -float(r["mean_accuracy"]))
    configs = list(dict.fromkeys((r["model"], r["params"]) for r in ranked))
    planned = [(t["model"], json.dumps(dict(t["params"]), sort_keys=True)) for t in plan["trials"]]
    configs += [c for c in dict.fromkeys(planned) if c not in configs]  # no trial finished yet
    return data, configs, summary, plan.get("references", {})


def cell(row: dict | None, reference: float | None) -> tuple[str, str, str]:
    """Measured (mean [min, max], seeds), published, difference in points."""
    published = "-" if reference is None else f"{reference:.3f}"
    if row is None:
        return "not run", published, "-"
    mean, low, high = (float(row[k]) for k in ("mean_accuracy", "min_accuracy", "max_accuracy"))
    spread = f" [{low:.3f}, {high:.3f}]" if int(row["seeds"]) > 1 else ""
    measured = f"{mean:.3f}{spread} ({row['seeds']} seed{'s' if int(row['seeds']) > 1 else ''})"
    difference = "-" if reference is None else f"{100 * (mean - reference):+.2f}"
    return measured, published, difference


def markdown(folder: Path) -> str:
    data, configs, summary, references = configurations(folder)
    models = [model for model, _ in configs]
    head = (
        "| model | " + " | ".join(f"{d} measured | published | diff (pp)" for d in data) + " | training s |"
    )
    lines = [head, "|" + "---|" * (2 + 3 * len(data))]
    for model, params in configs:
        label = model if models.count(model) == 1 else f"{model} `{params}`"
        cells = [
            c
            for d in data
            for c in cell(summary.get((model, params, d)), reference_for(references, model, params, d))
        ]
        rows = [summary.get((model, params, d)) for d in data]
        seconds = " / ".join("-" if r is None else f"{float(r['mean_train_seconds']):.0f}" for r in rows)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {seconds} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/sweeps/fashion-benchmark")))
