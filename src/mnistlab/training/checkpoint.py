"""Checkpoints: the whole state of a training after each epoch, so that a job stopped or killed part-way continues
where it was (``torchrun --max-restarts`` restarts the processes; the same command then resumes).

A checkpoint holds the network's weights, the optimizer's and the schedule's state, the random generator that
draws the batches and the augmentation, the history so far and what the callbacks keep (the best weights, early
stopping's patience). It is written after every epoch, atomically (a kill while writing leaves the previous one),
by the process that writes (rank 0 of a job), and read with ``torch.load(weights_only=True)``: tensors and plain
values only, never pickled objects. It names the training it belongs to (a fingerprint of the data, the network's
shape and the configuration): a checkpoint of another training is refused, never silently continued.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import pickle
from pathlib import Path

import torch

from mnistlab.errors import DataFormatError
from mnistlab.fileio import atomic_write, open_regular
from mnistlab.training.callbacks import Callback
from mnistlab.training.state import TrainConfig, TrainState

log = logging.getLogger("mnistlab.training")
FORMAT = 1
# what may change between a training and its resumption without changing what it computes
NOT_FINGERPRINTED = ("verbose", "checkpoint")


def fingerprint(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig) -> str:
    """What identifies a training: its data, its network's parameter shapes and its configuration.

    Examples
    --------
    >>> net = torch.nn.Linear(4, 2)
    >>> x, y = torch.zeros(3, 2, 2, dtype=torch.uint8), torch.tensor([0, 1, 0])
    >>> fingerprint(net, x, y, TrainConfig()) == fingerprint(net, x, y, TrainConfig(verbose=1))
    True
    >>> fingerprint(net, x, y, TrainConfig()) == fingerprint(net, x, y, TrainConfig(lr=0.1))
    False
    """
    digest = hashlib.sha256()
    if not isinstance(x, torch.Tensor):  # rows streamed from shards: their checksums, not their bytes
        digest.update(x.fingerprint().encode())
        x = torch.zeros(0)
    for tensor in (x, y):
        digest.update(repr((tuple(tensor.shape), str(tensor.dtype))).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    shapes = [(name, tuple(p.shape)) for name, p in net.state_dict().items()]
    settings = {
        f.name: repr(getattr(cfg, f.name)) for f in dataclasses.fields(cfg) if f.name not in NOT_FINGERPRINTED
    }
    digest.update(repr((shapes, sorted(settings.items()))).encode())
    return digest.hexdigest()


class Checkpoint:
    """The checkpoint file of one training: :meth:`resume` puts a saved state back, :meth:`save` writes one.

    Parameters
    ----------
    path : Path
        The checkpoint file (created with its folder when missing).
    identity : str
        The training's :func:`fingerprint`.
    callbacks : list of Callback
        The training's callbacks, whose ``state_dict`` is saved and put back in the same order.
    """

    def __init__(self, path: str | Path, identity: str, callbacks: list[Callback]) -> None:
        self.path, self.identity, self.callbacks = Path(path), identity, callbacks

    def save(self, state: TrainState) -> None:
        """Write ``state`` after an epoch (atomically)."""
        payload = {
            "format": FORMAT,
            "fingerprint": self.identity,
            "epoch": state.epoch,
            "stopped": state.stop_training,
            "net": state.net.state_dict(),
            "optimizer": state.optimizer.state_dict(),
            "schedule": None if state.schedule is None else state.schedule.state_dict(),
            "generator": state.generator.get_state(),
            "torch_rng": torch.get_rng_state(),  # dropout draws from PyTorch's global generator
            "history": state.result.history,
            "steps": state.result.steps,
            "best_epoch": state.result.best_epoch,
            "stopped_early": state.result.stopped_early,
            "callbacks": [(type(c).__qualname__, c.state_dict()) for c in self.callbacks],
        }
        with atomic_write(self.path) as tmp:
            torch.save(payload, tmp)

    def resume(self, state: TrainState) -> bool:
        """Put the saved state back into ``state`` (and the callbacks); False when there is no checkpoint yet."""
        if not self.path.exists():
            return False
        saved = self._read(state.device)
        if saved.get("format") != FORMAT or saved.get("fingerprint") != self.identity:
            raise DataFormatError(
                f"{self.path}: this checkpoint was written by another training (other data, network or "
                "parameters); continuing from it would train a different model. Remove it, or name another "
                "checkpoint file"
            )
        state.net.load_state_dict(saved["net"])
        state.optimizer.load_state_dict(saved["optimizer"])
        if state.schedule is not None and saved["schedule"] is not None:
            state.schedule.load_state_dict(saved["schedule"])
        state.generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        state.epoch, state.stop_training = int(saved["epoch"]), bool(saved["stopped"])
        result = state.result
        result.history, result.steps = list(saved["history"]), list(saved["steps"])
        result.best_epoch, result.stopped_early = saved["best_epoch"], bool(saved["stopped_early"])
        # by name, in order: a job resumed on another number of processes has other callbacks around these
        kept: dict[str, list] = {}
        for name, value in saved["callbacks"]:
            kept.setdefault(name, []).append(value)
        for callback in self.callbacks:
            values = kept.get(type(callback).__qualname__)
            value = values.pop(0) if values else None
            if value is not None:
                callback.load_state_dict(value)
        log.info("resumed from %s after epoch %d", self.path, state.epoch)
        return True

    def _read(self, device: torch.device) -> dict:
        try:
            with open_regular(self.path, "a checkpoint file") as handle:
                saved = torch.load(handle, map_location=device, weights_only=True)
            saved = _on_cpu_generators(saved)
        except (
            OSError,
            RuntimeError,
            EOFError,
            ValueError,
            pickle.UnpicklingError,
        ) as exc:  # truncated, or not a checkpoint
            raise DataFormatError(
                f"{self.path}: not a readable mnistlab checkpoint ({type(exc).__name__}: {exc}). Remove it to "
                "train from the start"
            ) from None
        if not isinstance(saved, dict):
            raise DataFormatError(
                f"{self.path}: not a mnistlab checkpoint (it holds a {type(saved).__name__})"
            )
        return saved


def _on_cpu_generators(saved):
    """Random generator states stay CPU byte tensors whatever device the weights were mapped to."""
    if isinstance(saved, dict):
        for key in ("generator", "torch_rng"):
            if isinstance(saved.get(key), torch.Tensor):
                saved[key] = saved[key].cpu()
    return saved
