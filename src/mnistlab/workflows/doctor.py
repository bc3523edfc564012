"""``mnistlab doctor``: what this machine is, and what mnistlab chose for it (and why)."""

from __future__ import annotations

from mnistlab.models import (
    NETWORKS,
    bf16_supported,
    choose_precision,
    cpu_facts,
    explain_precision,
    machine_key,
)


def doctor(measure: bool = False) -> dict:
    """This machine, and how each convolutional network is trained on it.

    Parameters
    ----------
    measure : bool
        Time every network afresh (fp32/bf16 x contiguous/channels-last x thread counts), replacing what
        ``$MNISTLAB_HOME/machine.json`` stored.

    Returns
    -------
    dict
        The CPU, its bf16-relevant flags, torch, threads, and per network the precision, memory layout and
        threads chosen (with the timings behind the choice).

    Examples
    --------
    >>> doctor()["precision"]["cnn"]["precision"]  # doctest: +SKIP
    'bf16'
    """
    import torch

    convolutional = [name for name, spec in NETWORKS.items() if not spec.dense]
    return {
        **cpu_facts(),
        "machine_key": machine_key(),
        "threads": torch.get_num_threads(),
        "bf16_supported": bf16_supported(),
        "precision": {
            name: _with_reason(name, choose_precision(name, refresh=measure)) for name in convolutional
        },
    }


def _with_reason(name: str, chosen: dict) -> dict:
    """The choice with its reason worded from the timings printed beside it (answers cached by an earlier
    version carry a reason that did not always agree with them)."""
    registered = NETWORKS[name].channels_last
    bf16 = chosen["precision"] == "bf16"
    return {
        **chosen,
        "reason": explain_precision(chosen["timings_ms"], bf16, chosen["channels_last"], registered),
    }
