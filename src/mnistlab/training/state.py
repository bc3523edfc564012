"""What one training is: its configuration, its state as callbacks see it, its result, and the evaluation of
images in the training's precision and memory layout.

Callbacks (:mod:`mnistlab.training.callbacks`) read and change a :class:`TrainState`; the loop
(:mod:`mnistlab.training.loop`) drives it. ``net`` is the network whose weights are kept; ``model`` is what the
training step calls, the same network unless a callback wraps it (a ``DistributedDataParallel`` wrapper, say),
and ``shuffle`` draws each epoch's order of the rows (a distributed sampler would give each process its shard).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnistlab.training.augment import Augmentation


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] | None = None  # Adam's; None: torch's (0.9, 0.999), beta1 cycled by OneCycle
    weight_decay: float = 0.0
    schedule: str = "none"
    label_smoothing: float = 0.0
    augment: Augmentation | None = None
    early_stopping: int | None = None
    seed: int = 0
    bf16: bool = False
    channels_last: bool = False
    verbose: int = 0
    # the checkpoint file written after every epoch and resumed from (mnistlab.training.checkpoint); None: none
    checkpoint: str | None = None


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    # the training loss of every optimizer step: {"step", "epoch", "train_loss", "lr"} (learning curves of runs
    # of few epochs are drawn from it)
    steps: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    interrupted: bool = False
    stopped_early: bool = False


def draw_order(n_rows: int, generator: torch.Generator) -> torch.Tensor:
    """The rows of one epoch in random order (the loop's default ``shuffle``)."""
    return torch.randperm(n_rows, generator=generator)


@dataclass
class TrainState:
    """Everything a callback may read or change while ``net`` trains.

    ``epoch`` is the epoch running or just finished (0 before the first); setting ``stop_training`` ends training
    after the current epoch's callbacks have run.
    """

    net: nn.Module
    model: nn.Module
    cfg: TrainConfig
    optimizer: torch.optim.Optimizer
    schedule: object | None
    generator: torch.Generator
    device: torch.device
    shuffle: Callable[[int, torch.Generator], torch.Tensor] = draw_order
    # how the caller turns images and labels as it takes them into tensors on the device (checking them, naming
    # the data by the string given); None: they are images and class indices already
    as_tensors: Callable[[object, object, str], tuple[torch.Tensor, torch.Tensor]] | None = None
    # (rank, processes): this process's share of each batch of a training on several processes (torchrun)
    share: tuple[int, int] = (0, 1)
    epoch: int = 0
    stop_training: bool = False
    result: TrainResult = field(default_factory=TrainResult)

    def tensors(self, images, labels, what: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``images`` and ``labels`` as tensors on ``device``, checked by the caller's ``as_tensors`` (``what``
        names them in its errors)."""
        if self.as_tensors is not None:
            return self.as_tensors(images, labels, what)
        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
        return x, torch.from_numpy(np.ascontiguousarray(labels)).to(self.device)

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
        """Mean loss and accuracy of ``net`` on images ``x`` with class indices ``y`` (on ``device``)."""
        _, loss, accuracy = evaluate(self.net, x, y, self.cfg)
        return loss, accuracy


def prepare(x: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """A batch of (N, H, W) images as the network takes it: (N, 1, H, W) floats, channels-last where trained so."""
    x = x.float().unsqueeze(1)
    return x.contiguous(memory_format=torch.channels_last) if cfg.channels_last else x


def evaluate(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor | None, cfg: TrainConfig, batch_size: int = 2048
) -> tuple[torch.Tensor, float | None, float | None]:
    """Logits (float32, on the CPU) of every image; mean loss and accuracy when labels are given."""
    net.eval()
    outputs = []
    with torch.inference_mode(), torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
        for start in range(0, len(x), batch_size):
            outputs.append(net(prepare(x[start : start + batch_size], cfg)).float())
    logits = torch.cat(outputs) if outputs else torch.zeros(0, 0)
    if y is None:
        return logits.cpu(), None, None
    loss = F.cross_entropy(logits, y).item()
    accuracy = (logits.argmax(1) == y).float().mean().item()
    return logits.cpu(), loss, accuracy
