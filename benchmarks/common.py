"""What every benchmark shares: timing, fresh-process measurement, seeds run side by side, and the machine's peak.

The rules these helpers enforce are written at the top of the README's Benchmarks section.
"""

from __future__ import annotations

import functools
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

THREADS = 2
SIZES = ("tiny", "quick", "full")  # tiny: the smoke test; quick: under 10 minutes; full: under 60 minutes


def timed_fit(model: str, train, scored, seed: int, **params) -> tuple[object, dict]:
    """Train the registered ``model`` (its recipe for ``train``, ``params`` over it) and score it once on
    ``scored``: the fitted estimator and a row with the training clock (the sum of the epochs' clocks, as the
    speed record counts it), the whole ``fit`` call, the accuracy and what the fit chose (precision, layout,
    threads), with the load average before it."""
    import warnings

    from mnistlab import models

    load = os.getloadavg()[0]
    clf = models.create(model, train, seed=seed, **params)
    start = time.perf_counter()
    # A recipe's notes (e.g. min_steps raising the epochs) are not the news here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(train.images, train.labels)
    wall = time.perf_counter() - start
    return clf, {
        "seed": seed,
        "params": params,
        "train_seconds": sum(row["seconds"] for row in clf.history_),
        "fit_wall_seconds": wall,
        "accuracy": float((clf.predict(scored.images) == scored.labels).mean()),
        "epochs": clf.epochs_,
        "steps": clf.steps_,
        "precision": clf.precision_,
        "channels_last": clf.channels_last_,
        "threads": clf.threads_,
        "load_average_before": load,
    }


def write_results(results: dict, path: Path, to_markdown: Callable[[dict], str]) -> None:
    """``results`` as JSON at ``path`` and as markdown beside it, each replaced in one rename (a reader, or a
    stopped run, never sees half a file)."""
    from mnistlab.fileio import atomic_write

    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(results, indent=2, default=str))
    with atomic_write(path.with_suffix(".md")) as tmp:
        tmp.write_text(to_markdown(results))


def timed(fn: Callable[[], object], repeat: int = 3) -> dict:
    """Median, min and max wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeat": repeat}


def child(setup: str, work: str) -> dict:
    """Run ``setup`` then ``work`` in a fresh Python; ``work`` sets ``result``. Adds the time of ``work`` and
    its peak memory above the process's peak after ``setup`` (VmHWM, which a new process does not inherit)."""
    wrapper = (
        "import json, time\n"
        "def hwm():\n"
        "    return int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024\n"
        f"{setup}\n"
        "base = hwm(); start = time.perf_counter()\n"
        f"{work}\n"
        "result['seconds'] = time.perf_counter() - start; result['peak_mib'] = hwm() - base\n"
        "print(json.dumps(result))\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def spread(values: list[float | None]) -> dict:
    """Median and range; a run that never reached its target counts as infinitely slow (None stays visible)."""
    finite = [math.inf if v is None else v for v in values]
    median = statistics.median(finite)
    return {
        "median": None if math.isinf(median) else median,
        "min": min(finite),
        "max": None if math.isinf(max(finite)) else max(finite),
        "n": len(values),
        "reached": sum(v is not None for v in values),
    }


def side_by_side(sides: dict[str, Callable[[int], dict]], seeds: int) -> dict[str, list[dict]]:
    """Run every side once per seed, seed by seed (A0 B0 A1 B1 ...), so a change in the machine's load reaches all
    sides alike; each row records the 1-minute load average before it ran."""
    rows: dict[str, list[dict]] = {name: [] for name in sides}
    for seed in range(seeds):
        for name, run in sides.items():
            load = os.getloadavg()[0]
            row = run(seed)
            row.update(seed=seed, load_average_before=load)
            rows[name].append(row)
            print(
                f"   {name} seed {seed}: {json.dumps({k: v for k, v in row.items() if k != 'history'})}",
                flush=True,
            )
    return rows


def first_crossing(history: list[dict], target: float) -> float | None:
    """Training seconds (evaluation excluded) when test accuracy first reached ``target``, else None."""
    return next((h["seconds"] for h in history if h["test_accuracy"] >= target), None)


def ratio(reference: float | None, ours: float | None) -> float | None:
    return reference / ours if reference and ours else None


# ---------------------------------------------------------------------------------------------- the peak


def _sustained(fn: Callable[[], object], flops: float) -> float:
    fn()
    return flops / timed(fn, repeat=5)["median_s"] / 1e9


@functools.cache
def gemm_peak(size: str) -> dict:
    """The highest sustained GEMM rate any library reaches on this machine, in GFLOP/s: torch, numpy and ONNX
    Runtime in fp32, torch in bf16 where the CPU has native bf16 (emulated bf16 would give a meaningless "peak").
    Square matrices of 2048 and 4096 (1024 at the tiny size), ``THREADS`` threads each."""
    torch.set_num_threads(THREADS)
    dims = (1024,) if size == "tiny" else (2048, 4096)
    rates: dict[str, dict[str, float]] = {"fp32": {}, "bf16": {}}
    for n in dims:
        flops = 2 * n**3
        a, b = torch.randn(n, n), torch.randn(n, n)
        rates["fp32"][f"torch_{n}"] = _sustained(lambda a=a, b=b: a @ b, flops)
        an, bn = a.numpy(), b.numpy()
        rates["fp32"][f"numpy_{n}"] = _sustained(lambda an=an, bn=bn: an @ bn, flops)
        session = _onnx_matmul()
        if session is not None:
            rates["fp32"][f"onnxruntime_{n}"] = _sustained(
                lambda an=an, bn=bn, s=session: s.run(None, {"a": an, "b": bn}), flops
            )
        if torch.ops.mkldnn._is_mkldnn_bf16_supported():
            ab, bb = a.bfloat16(), b.bfloat16()
            rates["bf16"][f"torch_{n}"] = _sustained(lambda ab=ab, bb=bb: ab @ bb, flops)
    best = {precision: max(r.values()) if r else None for precision, r in rates.items()}
    return {
        "gflops": rates,
        "fp32_gflops": best["fp32"],
        "bf16_gflops": best["bf16"],
        "threads": THREADS,
        "numpy_threads": "its BLAS's default (all cores)",
    }


def _onnx_matmul():
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError:
        return None
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        "matmul",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["n", "n"]) for x in ("a", "b")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "n"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 10)
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def compute_floor(macs_per_image: int, images: int, peak_gflops: float) -> float:
    """Seconds a training run needs at the peak: forward + backward ~ 3x the forward's 2 FLOPs per multiply-add."""
    return 6 * macs_per_image * images / (peak_gflops * 1e9)


def count_macs(net: torch.nn.Module) -> int:
    """Multiply-adds of one 28x28 image through the conv and linear layers (hooks on a real forward pass)."""
    macs = []

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            macs.append(output.numel() * k)
        elif isinstance(module, torch.nn.Linear):
            macs.append(output.numel() * module.in_features)

    layers = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    handles = [m.register_forward_hook(hook) for m in layers]
    training = net.training
    with torch.inference_mode():
        net.eval()(torch.zeros(1, 1, 28, 28, dtype=next(net.parameters()).dtype))
    net.train(training)
    for h in handles:
        h.remove()
    return int(sum(macs))
