"""``mnistlab doctor``: what this machine is, and what mnistlab chose for it (and why)."""

from __future__ import annotations

from mnistlab.models import networks
from mnistlab.models.precision import bf16_supported, choose, cpu_facts, machine_key


def doctor(measure: bool = False) -> dict:
    """The CPU, its relevant flags, torch, threads, and the precision, memory layout and threads chosen for
    training each convolutional network (read from ``$MNISTLAB_HOME/machine.json``, or measured now; ``measure``
    times every network afresh, replacing what was stored).

    Examples
    --------
    >>> doctor()["precision"]["cnn"]["precision"]  # doctest: +SKIP
    'bf16'
    """
    import torch

    convolutional = [name for name, spec in networks.NETWORKS.items() if not spec.dense]
    return {
        **cpu_facts(),
        "machine_key": machine_key(),
        "threads": torch.get_num_threads(),
        "bf16_supported": bf16_supported(),
        "precision": {name: choose(name, refresh=measure) for name in convolutional},
    }
