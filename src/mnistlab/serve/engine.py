"""Which engine answers the web app's predictions fastest on this machine: PyTorch or ONNX Runtime, decided by
timing one-image predictions of the run's network through each, once per machine, torch version and network, and
remembered beside the training choices (``$MNISTLAB_HOME/machine.json``, :mod:`mnistlab.models.precision`).

Why measure: ONNX Runtime answered a 28x28 image in about a third of PyTorch's time on the machines measured so
far (the README's latency table), but that depends on the CPU and the network, and a wrong default costs every
request.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mnistlab import runs
from mnistlab.models import PRECISION_ROUNDS as ROUNDS
from mnistlab.models import remembered

ENGINES = ("pytorch", "onnxruntime")
CALLS = 30  # one-image predictions per engine and round


def choose_engine(
    run: str | Path, trust: bool = False, measure: Callable[[str], float] | None = None, cache: bool = True
) -> dict:
    """``{"engine": "pytorch" | "onnxruntime", "timings_ms": {...}}`` for serving the PyTorch run ``run``.

    Both engines are timed alternately (:data:`ROUNDS` rounds of :data:`CALLS` one-image predictions;
    ``measure(engine) -> seconds per prediction`` replaces the timing in tests) and the faster is kept. The
    answer is cached under the run's network and width: the weights do not change the time.

    Examples
    --------
    >>> choose_engine("runs/cnn-mnist")["engine"]  # doctest: +SKIP
    'onnxruntime'
    """
    config = runs.read_config(run)
    width = (config.get("params") or {}).get("width")
    name = f"serve {config['model']} width={width}"
    # the engines are loaded only when the answer is not cached yet
    return remembered(name, lambda: _measure(measure or _timer(run, trust)), _is_engine_choice, cache)


def _measure(measure: Callable[[str], float]) -> dict:
    seconds: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    for _ in range(ROUNDS):
        for engine in ENGINES:
            seconds[engine].append(measure(engine))
    median = {engine: statistics.median(times) for engine, times in seconds.items()}
    return {
        "engine": min(ENGINES, key=median.get),
        "timings_ms": {engine: round(1000 * s, 3) for engine, s in median.items()},
    }


def _is_engine_choice(answer: dict) -> bool:
    return answer.get("engine") in ENGINES


def _timer(run: str | Path, trust: bool) -> Callable[[str], float]:
    """Seconds per one-image prediction through each engine, as the web app runs them (PyTorch on one thread)."""
    from mnistlab.serve.predict import load_predictor
    from mnistlab.training import torch_threads

    estimators = {
        "pytorch": load_predictor(run, False, trust),
        "onnxruntime": load_predictor(run, True, trust),
    }
    image = np.zeros((1, 28, 28), np.uint8)

    def measure(engine: str) -> float:
        estimator = estimators[engine]
        with torch_threads(1):
            estimator.predict_proba(image)  # warm-up
            start = time.perf_counter()
            for _ in range(CALLS):
                estimator.predict_proba(image)
            return (time.perf_counter() - start) / CALLS

    return measure
