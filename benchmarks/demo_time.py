"""Time `make demo` the way the README states it: a fresh clone of this repository, its set-up done first (not
timed), then `make demo` with an empty data cache, so the downloads count.

    .venv/bin/python benchmarks/demo_time.py          # writes benchmarks/results/demo-<date>-<time>.json / .md

The results file holds the wall time of `make demo`, the seconds of each of its commands (from the time each
command's output started), the test accuracy of the two runs it trains, the machine and the versions. Run it
on a quiet machine: other load moves these timings by 10-50%.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


def timed_demo(clone: Path, home: Path) -> tuple[float, list[dict]]:
    """Run `make demo` in ``clone``; the wall time and each command's share (a command starts when make prints it)."""
    env = dict(os.environ, MNISTLAB_HOME=str(home))
    steps: list[dict] = []
    start = time.perf_counter()
    with subprocess.Popen(
        ["make", "--no-print-directory", "demo"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="")
            if line.startswith(".venv/bin/mnistlab "):
                now = time.perf_counter() - start
                if steps:
                    steps[-1]["seconds"] = round(now - steps[-1]["started"], 1)
                steps.append({"command": line.strip().removeprefix(".venv/bin/"), "started": round(now, 1)})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"make demo failed with status {proc.returncode}")
    if steps:
        steps[-1]["seconds"] = round(wall - steps[-1]["started"], 1)
    return wall, steps


def main() -> None:
    from suite import machine, versions

    with tempfile.TemporaryDirectory(prefix="mnistlab-demo-") as tmp:
        clone, home = Path(tmp) / "clone", Path(tmp) / "home"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        subprocess.run(["make", "--no-print-directory", ".venv/.installed"], cwd=clone, check=True)  # set-up
        host = machine()  # load average just before the timed part
        date = time.strftime("%Y-%m-%d %H:%M")
        wall, steps = timed_demo(clone, home)
        accuracy = {
            run.name: json.loads((run / "metrics.json").read_text()).get("test_accuracy")
            for run in sorted((clone / "runs").iterdir())
        }
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
        ).stdout.strip()
    result = {
        "date": date,
        "size": "full",
        "benchmarks": ["make demo"],
        "machine": host,
        "versions": versions() | {"commit": commit},
        "make_demo": {"wall_s": round(wall, 1), "empty_data_cache": True, "test_accuracy": accuracy},
        "steps": steps,
    }
    stem = "demo-" + time.strftime("%Y-%m-%d-%H%M")
    out = HERE / "results" / f"{stem}.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    lines = [f"# `make demo`, {date}", "", f"Wall time {wall:.0f} s after set-up, empty data cache.", ""]
    lines += ["| command | seconds |", "|---|---|"] + [
        f"| `{s['command']}` | {s['seconds']} |" for s in steps
    ]
    (HERE / "results" / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
