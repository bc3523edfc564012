"""Which precision trains a network fastest on this machine: decided by timing its training step, once, and
remembered under ``$MNISTLAB_HOME/machine.json``.

Why measure: PyTorch's ``_is_mkldnn_bf16_supported()`` answers True on every AVX-512 CPU, but only CPUs with
native bf16 (AVX512-BF16 or AMX) run bf16 faster than fp32; the others emulate it, a third slower (PyTorch's AMP
documentation says the same). ``precision="auto"`` therefore times one fp32 and one bf16 training step of the
actual network, alternated, and takes bf16 only when it is clearly faster. The answer is cached per CPU model, its
relevant flags, the torch version and the network; ``mnistlab doctor`` shows it.

>>> choose("cnn", measure=lambda net, bf16: 0.05 if bf16 else 0.04, cache=False)["precision"]  # doctest: +SKIP
'fp32'
"""

from __future__ import annotations

import contextlib
import hashlib
import statistics
import time
from collections.abc import Callable

from mnistlab.fileio import read_json, write_json

CACHE_FILE = "machine.json"
FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_bf16", "amx_bf16", "amx_tile")  # what decides bf16's speed
MARGIN = 0.9  # bf16 must take at most 90% of fp32's step time: "never slower than fp32 beyond noise"
ROUNDS = 3  # fp32 and bf16 alternated this many times (load on the machine moves timings 10-50%)
_CHOSEN: dict[str, dict] = {}  # this process's answers by network (its machine and torch stay the same)


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


def step_seconds(architecture: str, bf16: bool, batch_size: int = 128, steps: int = 4) -> float:
    """Median seconds of one training step (forward, backward, Adam) of ``architecture`` on random images."""
    import torch

    from mnistlab.models import networks

    torch.manual_seed(0)
    net = networks.build(architecture, 10)
    channels_last = networks.get(architecture).channels_last
    x = torch.rand(batch_size, 1, 28, 28) * 255
    y = torch.randint(0, 10, (batch_size,))
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters())
    times = []
    for i in range(steps + 1):  # the first step warms up (oneDNN picks its kernels)
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def choose(
    architecture: str,
    measure: Callable[[str, bool], float] = step_seconds,
    cache: bool = True,
) -> dict:
    """``{"precision": "bf16" | "fp32", "fp32_ms", "bf16_ms", "reason"}`` for training ``architecture`` here.

    Without bf16 support the answer is fp32 without measuring. Otherwise fp32 and bf16 steps are timed
    alternately (``measure(architecture, bf16)``, injectable for tests) and bf16 is chosen only when its median is
    at most 90% of fp32's. With ``cache``, answers are kept in this process and in ``$MNISTLAB_HOME/machine.json``
    under :func:`machine_key` (a read-only home only means measuring again next time).
    """
    if cache and architecture in _CHOSEN:  # this process's machine and torch do not change: no /proc read
        return _CHOSEN[architecture]
    facts = cpu_facts()
    key = machine_key(facts)
    stored = _read_cache().get(key, {}).get(architecture) if cache else None
    if isinstance(stored, dict) and stored.get("precision") in ("fp32", "bf16"):
        _CHOSEN[architecture] = stored
        return stored
    if not bf16_supported():
        answer = {"precision": "fp32", "fp32_ms": None, "bf16_ms": None, "reason": "no bf16 support"}
    else:
        fp32, bf16 = [], []
        for _ in range(ROUNDS):
            fp32.append(measure(architecture, False))
            bf16.append(measure(architecture, True))
        fp32_s, bf16_s = statistics.median(fp32), statistics.median(bf16)
        faster = bf16_s <= MARGIN * fp32_s
        answer = {
            "precision": "bf16" if faster else "fp32",
            "fp32_ms": round(1000 * fp32_s, 2),
            "bf16_ms": round(1000 * bf16_s, 2),
            "reason": "bf16 measured faster" if faster else "bf16 not measured 10% faster than fp32 here",
        }
    if cache:
        _CHOSEN[architecture] = answer
        _write_cache(key, facts, architecture, answer)
    return answer


def _cache_path():
    from mnistlab.datasets.cache import data_home

    return data_home() / CACHE_FILE


def _read_cache() -> dict:
    try:
        stored = read_json(_cache_path(), default={})
    except Exception:  # a damaged cache is measured again, never trusted
        return {}
    return stored if isinstance(stored, dict) else {}


def _write_cache(key: str, facts: dict, architecture: str, answer: dict) -> None:
    stored = _read_cache()
    entry = stored.get(key) if isinstance(stored.get(key), dict) else {}
    entry = {**entry, "machine": facts, architecture: answer}
    with contextlib.suppress(OSError):  # a read-only home: measured again next time
        write_json(_cache_path(), {**stored, key: entry})
