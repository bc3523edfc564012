"""The benchmark suite starts and writes its JSON at the tiny size (the numbers themselves are not tested)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
SUITE = Path(__file__).parents[1] / "benchmarks" / "suite.py"


def test_every_benchmark_writes_json_at_tiny_size(tmp_path):
    out = subprocess.run(
        [sys.executable, str(SUITE), "--size", "tiny", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=3000,  # a hang guard under pytest-timeout (3600 s), not a speed test: two loaded runs side by
        # side took over 900 s (PyTorch threads oversubscribed); idle, a few minutes
    )
    assert out.returncode == 0, out.stderr[-2000:]
    written = Path(out.stdout.strip().splitlines()[-1])
    results = json.loads(written.read_text())
    names = [
        "csv_parse",
        "cached_load",
        "png_route",
        "inference",
        "sklearn_overhead",
        "frontier",
        "record",
        "auto_precision",
        "train_vs_pytorch_example",
        "cnn_fashion",
        "graph",
        "health",
        "planted",
        "label_errors",
        "noise_downstream",
        "real_label_errors",
        "trust",
        "augmentation",
        "serve",
        "start_up",
        "health_under_attack",
        "refusals",
    ]
    for name in names:
        assert name in results and "error" not in results[name], results.get(name)
        assert results[name]["machine"] and results[name]["date"], "every row records its machine and date"
    assert results["peak"]["fp32_gflops"] > 0 and written.name.endswith("-tiny.json")
    assert written.with_suffix(".md").read_text().count("\n| ") >= len(names)
