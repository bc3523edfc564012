"""The measured table of a sweep beside its reference figures, as Markdown (the README's Fashion-MNIST benchmark
table is this script's output for runs/sweeps/fashion-benchmark).

    .venv/bin/python benchmarks/sweep_table.py runs/sweeps/fashion-benchmark
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path


def rows_of(folder: Path) -> dict[tuple[str, str], dict]:
    """The best configuration of each model on each data set (summary.csv is best first)."""
    best: dict[tuple[str, str], dict] = {}
    with open(folder / "summary.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["mean_accuracy"]:
                best.setdefault((row["model"], row["data"]), row)
    return best


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
    best = rows_of(folder)
    plan = json.loads((folder / "sweep.json").read_text())
    references = plan.get("references", {})
    data = list(dict.fromkeys(t["data"] for t in plan["trials"]))
    ranked = sorted(best.items(), key=lambda item: -float(item[1]["mean_accuracy"]))
    models = list(dict.fromkeys(model for (model, _), _row in ranked))
    models += [
        m for m in dict.fromkeys(t["model"] for t in plan["trials"]) if m not in models
    ]  # none finished
    head = (
        "| model | " + " | ".join(f"{d} measured | published | diff (pp)" for d in data) + " | training s |"
    )
    lines = [head, "|" + "---|" * (2 + 3 * len(data))]
    for model in models:
        cells = [c for d in data for c in cell(best.get((model, d)), references.get(model, {}).get(d))]
        seconds = [
            f"{float(best[(model, d)]['mean_train_seconds']):.0f}" if (model, d) in best else "-"
            for d in data
        ]
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {' / '.join(seconds)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/sweeps/fashion-benchmark")))
