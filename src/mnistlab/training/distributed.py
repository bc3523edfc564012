"""Data-parallel training with PyTorch's ``DistributedDataParallel`` when the process was launched by ``torchrun``.

Nothing here is mnistlab's own engine: ``torchrun`` starts the processes and sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_WORLD_SIZE`` and the rendezvous; ``torch.distributed`` joins them (gloo on the CPU, NCCL on a GPU) and
``DistributedDataParallel`` averages the gradients. What this module adds is how the same training loop shares
the work: every process draws the same order of the rows (same seed), and each takes every ``world_size``-th row
of each batch, so that the processes' batches together are exactly the batch one process would take. With the
gradients averaged, two processes then take the optimizer steps one process would (up to float rounding,
dropout and the augmentation drawn per process).

Outside ``torchrun`` (no ``WORLD_SIZE``, or 1) :func:`launched` is None and training is the one-process loop.
"""

from __future__ import annotations

import atexit
import datetime
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import torch

from mnistlab.errors import ParameterError
from mnistlab.training.callbacks import Callback
from mnistlab.training.state import TrainState, draw_order

# A process that died leaves the others waiting in an all-reduce; torchrun then stops them all, but a hang
# without torchrun's watch (a process killed by hand) must end too: after this long without progress.
COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=10)
# the row entries that are means over the rows each process trained on (averaged across processes)
AVERAGED = ("train_loss", "train_accuracy")


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place in a ``torchrun`` job.

    Attributes
    ----------
    rank : int
        This process's number, 0 to ``world_size - 1``; rank 0 writes what the job writes.
    world_size : int
        The processes training together.
    local_world_size : int
        The processes on this machine (they share its CPU cores).
    """

    rank: int
    world_size: int
    local_world_size: int

    def local_batch(self, batch_size: int) -> int:
        """Each process's share of a batch of ``batch_size`` rows (the batch must divide evenly).

        Examples
        --------
        >>> ProcessGroup(0, 2, 2).local_batch(128)
        64
        """
        if batch_size % self.world_size:
            raise ParameterError(
                "batch_size", batch_size, f"a multiple of the {self.world_size} processes training together"
            )
        return batch_size // self.world_size

    def shard(self, shuffle: Callable[[int, torch.Generator], torch.Tensor]) -> Callable:
        """``shuffle`` as this process draws it: the same order as every process, padded (by its first rows) to
        a multiple of ``world_size``, every ``world_size``-th row from ``rank`` on.

        Examples
        --------
        >>> order = ProcessGroup(1, 2, 2).shard(lambda n, g: torch.arange(n))(5, None)
        >>> order.tolist()  # rows 0..4 padded to 0..4, 0: this process takes 1, 3 and 0
        [1, 3, 0]
        """

        def sharded(n_rows: int, generator: torch.Generator) -> torch.Tensor:
            order = shuffle(n_rows, generator)
            padding = -len(order) % self.world_size
            if padding:
                order = torch.cat([order, order[:padding]])
            return order[self.rank :: self.world_size]

        return sharded

    def rows(self, n_rows: int) -> int:
        """How many rows this process trains on per epoch (after the padding of :meth:`shard`)."""
        return -(-n_rows // self.world_size)


def launched() -> ProcessGroup | None:
    """This process's place in the ``torchrun`` job that launched it, or None outside one (no ``WORLD_SIZE``,
    or a job of one process).

    Examples
    --------
    >>> launched() is None  # not under torchrun
    True
    """
    if "WORLD_SIZE" not in os.environ:
        return None
    values = {}
    for name in ("WORLD_SIZE", "RANK", "LOCAL_WORLD_SIZE"):
        text = os.environ.get(name, "1" if name == "LOCAL_WORLD_SIZE" else "")
        try:
            values[name] = int(text)
        except ValueError:
            raise ParameterError(
                f"environment variable {name}={text!r} is not a whole number: torchrun sets it; run through "
                "torchrun, or unset WORLD_SIZE to train in one process"
            ) from None
    world, rank = values["WORLD_SIZE"], values["RANK"]
    if world < 1 or not 0 <= rank < world:
        raise ParameterError(
            f"RANK={rank} and WORLD_SIZE={world} are not a rank of the job (0 <= RANK < WORLD_SIZE)"
        )
    if world == 1:
        return None
    return ProcessGroup(rank, world, max(1, values["LOCAL_WORLD_SIZE"]))


def join(group: ProcessGroup, device: torch.device) -> None:
    """Join the job's process group (once per process: gloo on the CPU, NCCL on CUDA); left at exit."""
    import torch.distributed as dist

    if dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    # torchrun's own rendezvous (env://), with the keys of each restart of the job apart: without the prefix a
    # restarted process read the addresses its dead predecessors had published and never connected (torch 2.13)
    store, rank, world_size = next(dist.rendezvous("env://", timeout=COLLECTIVE_TIMEOUT))
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    store = dist.PrefixStore(f"mnistlab/attempt-{attempt}", store)
    dist.init_process_group(
        backend, store=store, rank=rank, world_size=world_size, timeout=COLLECTIVE_TIMEOUT
    )
    atexit.register(_leave)
    if group.rank != 0:  # rank 0 speaks for the job; the others say only what goes wrong
        logging.getLogger("mnistlab").setLevel(logging.WARNING)


def _leave() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def is_writer() -> bool:
    """True in the process that writes what a job writes (its rank 0, or the only process).

    Examples
    --------
    >>> is_writer()
    True
    """
    group = launched()
    return group is None or group.rank == 0


def same_everywhere(value: object) -> object:
    """Rank 0's ``value`` in every process of a joined job (the value itself outside one): a choice each
    process could make differently (the precision measured per process) is then the same in all."""
    import torch.distributed as dist

    if not dist.is_initialized():
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class DataParallel(Callback):
    """Wraps the network in ``DistributedDataParallel`` and gives each process its share of every batch
    (:meth:`ProcessGroup.shard`); the epoch's training loss and accuracy in the history are the means over all
    processes. The loop puts it first."""

    def __init__(self, group: ProcessGroup) -> None:
        self.group = group

    def on_train_begin(self, state: TrainState) -> None:
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [state.device.index or 0] if state.device.type == "cuda" else None
        state.model = DistributedDataParallel(state.net, device_ids=device_ids)
        state.shuffle = self.group.shard(state.shuffle if state.shuffle is not None else draw_order)
        state.share = (
            self.group.rank,
            self.group.world_size,
        )  # rows streamed from shards: a share of each batch

    def on_epoch_end(self, state: TrainState, row: dict) -> None:
        import torch.distributed as dist

        values = torch.tensor([row[key] for key in AVERAGED] + [row["seconds"]], dtype=torch.float64)
        seconds = values[-1:].clone()
        dist.all_reduce(values[:-1])
        dist.all_reduce(seconds, op=dist.ReduceOp.MAX)  # the epoch took as long as its slowest process
        for key, total in zip(AVERAGED, values[:-1].tolist(), strict=True):
            row[key] = total / self.group.world_size
        row["seconds"] = seconds.item()

    def on_interrupt(self, state: TrainState) -> None:
        # The other processes wait for this one in their next all-reduce: the job stops whole (torchrun stops
        # the rest, or restarts all from the checkpoint); a lone process keeping its best weights would hang them.
        raise KeyboardInterrupt


class AgreeToStop(Callback):
    """Early stopping decided by any process stops every process after the same epoch (one that stopped alone
    would leave the others waiting). The loop puts it last."""

    def on_epoch_end(self, state: TrainState, row: dict) -> None:
        import torch.distributed as dist

        flags = torch.tensor([state.stop_training, state.result.stopped_early], dtype=torch.int32)
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        state.stop_training, state.result.stopped_early = bool(flags[0]), bool(flags[1])
