"""How a network trains fastest on this machine: precision (fp32 or bf16), memory layout (channels-last or not)
and intra-op threads, decided by timing its training step, once, and remembered under
``$MNISTLAB_HOME/machine.json``.

Why measure: PyTorch's ``_is_mkldnn_bf16_supported()`` answers True on every AVX-512 CPU, but only CPUs with
native bf16 (AVX512-BF16 or AMX) run bf16 faster than fp32; the others emulate it, a third slower (PyTorch's AMP
documentation says the same). Channels-last helps some networks on some CPUs and not others, and on a CPU with
hyper-threads the logical cores may help or hinder. ``precision="auto"`` therefore times training steps of the
actual network in each combination, alternated, and takes bf16 only when it is clearly faster. The answer is
cached per CPU model, its relevant flags, the torch version and the network; ``mnistlab doctor`` shows it.

Examples
--------
>>> timings = {(False, False): 0.040, (False, True): 0.030, (True, False): 0.050, (True, True): 0.045}
>>> answer = choose("cnn", measure=lambda arch, bf16, cl, threads: timings[bf16, cl], cache=False)
>>> answer["precision"], answer["channels_last"]  # bf16 is slower here: fp32, in the faster layout
('fp32', True)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from mnistlab.fileio import read_json, write_json

CACHE_FILE = "machine.json"
FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_bf16", "amx_bf16", "amx_tile")  # what decides bf16's speed
MARGIN = 0.9  # bf16 must take at most 90% of fp32's step time: "never slower than fp32 beyond noise"
# the other layout than the registered one must be 5% faster (a tie keeps the registered)
LAYOUT_MARGIN = 0.95
MIN_SECONDS = 0.05  # each round of a configuration lasts at least this long (many steps of a small network)
# the configurations are alternated at least this many times (load on the machine moves timings 10-50%)
ROUNDS = 5
MAX_ROUNDS = 10  # ... and up to this many while the fastest and the median rounds disagree on the choice
STEADY = 1.3  # thread counts: the slowest round at most 1.3x the fastest, or the answer is not cached
_CHOSEN: dict[str, dict] = {}  # this process's answers by name (its machine and torch stay the same)

Measure = Callable[[str, bool, bool, int], float]


def cpu_facts() -> dict:
    """The CPU's model name, the flags that decide bf16's speed, and the torch version."""
    import torch

    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return {"cpu": model, "flags": [f for f in FLAGS if f in flags], "torch": torch.__version__}


def machine_key(facts: dict | None = None) -> str:
    """A short key for this CPU and torch: the cache holds one entry per key."""
    facts = facts or cpu_facts()
    text = f"{facts['cpu']}|{','.join(facts['flags'])}|{facts['torch']}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def bf16_supported() -> bool:
    """Whether PyTorch can run bf16 on this CPU at all (natively or emulated)."""
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def thread_candidates() -> list[int]:
    """The intra-op thread counts worth timing: PyTorch's default (the physical cores) and every core this
    process may run on, when they differ (hyper-threads)."""
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        usable = os.cpu_count() or 1
    return sorted({torch.get_num_threads(), usable})


def step_timer(
    architecture: str, batch_size: int | None = None, build: Callable[[], Any] | None = None
) -> Measure:
    """A ``measure(architecture, bf16, channels_last, threads) -> seconds`` for :func:`choose`: the median time of
    a few training steps (forward, backward, fused Adam) of ``architecture`` (or the network ``build()`` returns,
    for one outside the registry) at the batch size of its recipe unless given.

    Each configuration's network, optimiser and data are prepared once, on first use (its first step, where oneDNN
    picks its kernels, is not timed), so that later rounds time steps alone and :func:`choose` can alternate the
    configurations step by step: a change in the machine's speed then reaches all of them alike. Every step
    gathers a batch of uint8 images from a pool of 4096 and converts it, as training does. A round lasts at least
    :data:`MIN_SECONDS` (and 3 steps).
    """
    import torch

    from mnistlab.models import networks

    if batch_size is None:
        batch_size = 256 if build else networks.get(architecture).defaults.get("batch_size", 128)
    generator = torch.Generator().manual_seed(0)
    pool = torch.randint(0, 256, (4096, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (4096,), generator=generator)
    prepared: dict[tuple[bool, bool], Callable[[], float]] = {}

    def prepare(bf16: bool, channels_last: bool) -> Callable[[], float]:
        torch.manual_seed(0)
        net = build() if build else networks.build(architecture, 10)
        if channels_last:
            net = net.to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(net.parameters(), fused=True)

        def step() -> float:
            start = time.perf_counter()
            idx = torch.randint(0, len(pool), (batch_size,), generator=generator)
            x = pool[idx].float().unsqueeze(1)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = torch.nn.functional.cross_entropy(net(x).float(), labels[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return time.perf_counter() - start

        step()  # warm-up: oneDNN picks its kernels
        return step

    def measure(_architecture: str, bf16: bool, channels_last: bool, threads: int) -> float:
        from mnistlab.training import torch_threads

        with torch_threads(threads):
            step = prepared.get((bf16, channels_last))
            if step is None:
                step = prepared[bf16, channels_last] = prepare(bf16, channels_last)
            times = [step()]
            while len(times) < 3 or (sum(times) < MIN_SECONDS and len(times) < 200):
                times.append(step())
        return statistics.median(times)

    return measure


def execution_plan(
    architecture: str, precision: str, threads: int | None, device_type: str, convolutional: bool
) -> tuple[bool, bool, int | None]:
    """(bf16, channels-last, threads) to train ``architecture`` in on a device of ``device_type`` ("cpu", "cuda"). ``precision="auto"`` on a CPU:
    what its training step measured fastest (:func:`choose`, timed once per machine and cached); on a GPU bf16.
    An explicit precision is honoured, in the network's registered layout. Dense networks train in fp32.
    ``threads`` given always wins; otherwise the measured thread count, never more than this process may use
    (``torch.get_num_threads()``: a joblib or Dask worker that shares the cores is started with fewer, and more
    threads than cores make PyTorch's threads wait on each other, several times slower).

    Examples
    --------
    >>> execution_plan("mlp", "auto", None, "cpu", convolutional=False)
    (False, False, None)
    >>> execution_plan("cnn", "bf16", 2, "cpu", convolutional=True)
    (True, True, 2)
    """
    import torch

    from mnistlab.models import networks

    registered = networks.get(architecture).channels_last
    if precision != "auto" or not convolutional:
        return precision == "bf16", registered and convolutional, threads
    if device_type == "cuda":
        return True, registered, threads
    chosen = choose(architecture)
    allowed = min(chosen["threads"], torch.get_num_threads())
    return chosen["precision"] == "bf16", chosen["channels_last"], threads or allowed


def choose(
    architecture: str,
    measure: Measure | None = None,
    cache: bool = True,
    registered_layout: bool | None = None,
    refresh: bool = False,
) -> dict:
    """How to train the convolutional network ``architecture`` here: ``{"precision": "fp32" | "bf16",
    "channels_last": bool, "threads": int, "timings_ms": {...}, "reason": str}``.

    Every combination of precision (bf16 only where PyTorch supports it) and layout is timed
    (``measure(architecture, bf16, channels_last, threads)``, by default :func:`step_timer`; injectable for
    tests), alternated :data:`ROUNDS`
    times; each precision takes its faster layout (the registered one unless the other is 5% faster), and bf16 is
    chosen only when its time is at most 90% of fp32's. The choice is made on each combination's fastest round
    and must agree with the one made on the median rounds; while they disagree, up to :data:`MAX_ROUNDS` rounds
    are timed. A dispute over the layout alone, or between candidates within 10% of each other, is settled for the
    plainer one (fp32, the registered layout); a wider one over precision is "unsteady" (used, not stored). Then, where more than one thread count is worth trying
    (:func:`thread_candidates`), the chosen combination is timed at each and the fastest kept. With ``cache``,
    answers are kept in this process and in ``$MNISTLAB_HOME/machine.json`` under :func:`machine_key` (a
    read-only home only means measuring again next time; unsteady timings are not stored: :func:`remembered`);
    ``refresh`` measures again now. ``registered_layout`` names the layout to keep on a
    tie for a network outside the registry (the benchmarks' reference networks).
    """
    from mnistlab.models import networks

    registered = networks.get(architecture).channels_last if registered_layout is None else registered_layout
    return remembered(
        architecture,
        lambda: _measure_choice(architecture, registered, measure or step_timer(architecture)),
        _is_training_choice,
        cache,
        refresh,
    )


def _is_training_choice(answer: dict) -> bool:
    threads = answer.get("threads")
    return (
        answer.get("precision") in ("fp32", "bf16")
        and isinstance(answer.get("channels_last"), bool)
        and isinstance(threads, int)
        and not isinstance(threads, bool)
        and 1 <= threads <= 1024
    )


def _measure_choice(architecture: str, registered_layout: bool, measure: Measure) -> dict:
    threads = thread_candidates()
    default_threads = _default_threads()
    precisions = [False, True] if bf16_supported() else [False]
    combos = [(bf16, layout) for bf16 in precisions for layout in (registered_layout, not registered_layout)]
    seconds: dict[tuple[bool, bool], list[float]] = {combo: [] for combo in combos}
    for round_ in range(MAX_ROUNDS):
        for bf16, layout in combos:
            seconds[bf16, layout].append(measure(architecture, bf16, layout, default_threads))
        if round_ + 1 < ROUNDS:
            continue
        # The fastest round estimates each combination's own speed (other load only ever adds time); the
        # median guards against one lucky round. Where both pick the same, the answer is settled.
        fastest = _decide({combo: min(times) for combo, times in seconds.items()}, registered_layout)
        typical = _decide(
            {combo: statistics.median(times) for combo, times in seconds.items()}, registered_layout
        )
        if fastest == typical:
            break
    steady = fastest == typical
    if not steady:
        # Still disputed: settled for the plainer candidate (fp32 before bf16, the registered layout before the
        # other) when the dispute is only about the layout (both exact: at worst a few per cent) or the two
        # candidates' median steps are within 10% (a tie); a wider dispute over precision is noise from other
        # work: used now, not stored.
        medians = {combo: statistics.median(times) for combo, times in seconds.items()}
        pair = sorted([medians[fastest], medians[typical]])
        steady = fastest[0] == typical[0] or pair[1] * MARGIN <= pair[0]
        fastest = min(fastest, typical, key=lambda combo: (combo[0], combo[1] != registered_layout))
    bf16, layout = fastest
    best = {combo: min(times) for combo, times in seconds.items()}
    timings_ms = {_label(b, cl): round(1000 * s, 2) for (b, cl), s in best.items()}
    chosen_threads, thread_ms, threads_steady = _fastest_threads(architecture, bf16, layout, threads, measure)
    return {
        "precision": "bf16" if bf16 else "fp32",
        "channels_last": layout,
        "threads": chosen_threads,
        "timings_ms": timings_ms | thread_ms,
        "reason": explain(timings_ms, bf16, layout, registered_layout),
        "steady": steady and threads_steady,
        "rounds": len(next(iter(seconds.values()))),
    }


def explain(timings_ms: dict[str, float], bf16: bool, channels_last: bool, registered_layout: bool) -> str:
    """Why a network trains in the precision and layout chosen, worded from the step times shown beside the
    choice (``timings_ms``: each precision and layout's fastest round, as :func:`choose` records and ``mnistlab
    doctor`` prints them; thread counts are ignored), so the reason and the numbers always agree. Where those
    numbers alone would have chosen otherwise, the choice came from the median rounds (the rounds disagreed), and
    the reason says so.

    Examples
    --------
    >>> times = {"fp32 contiguous": 16.5, "fp32 channels-last": 18.1, "bf16 contiguous": 15.5,
    ...          "bf16 channels-last": 15.2}
    >>> explain(times, False, False, False)  # channels-last is not 5% faster than the registered contiguous
    "bf16's best step (15.5 ms, contiguous) is 94% of fp32's (16.5 ms, contiguous); bf16 is chosen only at 90% or less"
    >>> explain({"fp32 contiguous": 10.0, "fp32 channels-last": 12.0}, False, False, False)
    'no bf16 on this CPU: fp32'
    """
    seconds = {}
    for label, ms in timings_ms.items():
        precision, _, layout = label.partition(" ")
        if precision in ("fp32", "bf16") and layout in ("contiguous", "channels-last"):
            seconds[precision == "bf16", layout == "channels-last"] = ms
    if not any(bf16_ for bf16_, _ in seconds):
        return "no bf16 on this CPU: fp32"
    shown = _decide(seconds, registered_layout)
    fp32_layout = shown[1] if not shown[0] else _layout_for(seconds, False, registered_layout)
    bf16_layout = shown[1] if shown[0] else _layout_for(seconds, True, registered_layout)
    fp32_ms, bf16_ms = seconds[False, fp32_layout], seconds[True, bf16_layout]
    compared = (
        f"bf16's best step ({bf16_ms:g} ms, {_label(True, bf16_layout).split(' ', 1)[1]}) is "
        f"{bf16_ms / fp32_ms:.0%} of fp32's ({fp32_ms:g} ms, {_label(False, fp32_layout).split(' ', 1)[1]})"
    )
    if shown == (bf16, channels_last):
        return compared + (
            "; bf16 is chosen at 90% or less" if bf16 else "; bf16 is chosen only at 90% or less"
        )
    return (
        f"{compared}, but the median rounds disagreed with the fastest ones (other work on the cores?), so the "
        f"plainer choice was kept: {_label(bf16, channels_last)}"
    )


def _layout_for(seconds: dict[tuple[bool, bool], float], bf16: bool, registered_layout: bool) -> bool:
    """A precision's layout: the registered one unless the other is 5% faster."""
    other = not registered_layout
    return (
        other
        if seconds[bf16, other] <= LAYOUT_MARGIN * seconds[bf16, registered_layout]
        else registered_layout
    )


def _decide(seconds: dict[tuple[bool, bool], float], registered_layout: bool) -> tuple[bool, bool]:
    """(bf16, channels-last) from each combination's seconds: each precision in its faster layout (the registered
    one unless the other is 5% faster), bf16 only when at most 90% of fp32's time."""

    fp32_layout = _layout_for(seconds, False, registered_layout)
    if (True, registered_layout) in seconds:
        bf16_layout = _layout_for(seconds, True, registered_layout)
        if seconds[True, bf16_layout] <= MARGIN * seconds[False, fp32_layout]:
            return True, bf16_layout
    return False, fp32_layout


def _fastest_threads(architecture, bf16, layout, candidates, measure) -> tuple[int, dict, bool]:
    if len(candidates) == 1:
        return candidates[0], {}, True
    seconds: dict[int, list[float]] = {n: [] for n in candidates}
    for _ in range(ROUNDS):
        for n in candidates:
            seconds[n].append(measure(architecture, bf16, layout, n))
    median = {n: statistics.median(times) for n, times in seconds.items()}
    default = _default_threads()
    best = min(median, key=median.get)
    chosen = best if median[best] <= LAYOUT_MARGIN * median.get(default, median[best]) else default
    steady = all(max(times) <= STEADY * min(times) for times in seconds.values())
    return chosen, {f"{n} threads": round(1000 * s, 2) for n, s in median.items()}, steady


def _default_threads() -> int:
    import torch

    return torch.get_num_threads()


def _label(bf16: bool, channels_last: bool) -> str:
    return f"{'bf16' if bf16 else 'fp32'} {'channels-last' if channels_last else 'contiguous'}"


def remembered(
    name: str,
    measure: Callable[[], dict],
    valid: Callable[[dict], bool],
    cache: bool = True,
    refresh: bool = False,
) -> dict:
    """``measure()``'s answer for ``name`` on this machine: from this process, else from
    ``$MNISTLAB_HOME/machine.json`` under :func:`machine_key` when ``valid`` accepts it (a damaged or edited
    cache is measured again, never trusted), else measured now and stored in both. An answer whose timings were
    unsteady (``"steady": False``: other work was competing for the cores) serves this process only: the next
    one measures again rather than keep a choice made under load. ``refresh`` measures afresh and stores a steady
    answer (``mnistlab doctor --measure``); ``cache=False`` neither reads nor stores anything."""
    if (
        cache and not refresh and name in _CHOSEN
    ):  # this process's machine and torch do not change: no /proc read
        return _CHOSEN[name]
    facts = cpu_facts()
    key = machine_key(facts)
    stored = _read_cache().get(key, {}).get(name) if cache and not refresh else None
    if (
        isinstance(stored, dict)
        and stored.get("version") == ANSWER_VERSION
        and stored.get("steady", True)
        and valid(stored)
    ):
        _CHOSEN[name] = stored
        return stored
    answer = {
        **measure(),
        "version": ANSWER_VERSION,
        "measured": time.strftime("%Y-%m-%d %H:%M"),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    if cache:
        _CHOSEN[name] = answer
        if answer.get("steady", True):
            _write_cache(key, facts, name, answer)
    return answer


ANSWER_VERSION = 2  # answers of another shape (version 1: precision only) are measured again


def _cache_path():
    from mnistlab.datasets import data_home

    return data_home() / CACHE_FILE


def _read_cache() -> dict:
    try:
        stored = read_json(_cache_path(), default={})
    except Exception:  # a damaged cache is measured again, never trusted
        return {}
    return stored if isinstance(stored, dict) else {}


def _write_cache(key: str, facts: dict, name: str, answer: dict) -> None:
    stored = _read_cache()
    entry = stored.get(key) if isinstance(stored.get(key), dict) else {}
    entry = {**entry, "machine": facts, name: answer}
    with contextlib.suppress(OSError):  # a read-only home: measured again next time
        write_json(_cache_path(), {**stored, key: entry})
