"""The training loop: whole data set as tensors, batches by slicing a permutation, one line of history per epoch
and the training loss of every optimizer step.

How many epochs a recipe trains is set by optimizer steps (:func:`resolve_epochs`): a recipe states the steps it
needs (``min_steps``), and on small data the epochs rise until they are reached, as fastai's ``fit_one_cycle``
counts a schedule in steps; on MNIST's 54,000 training images every recipe trains exactly its stated epochs.

Early stopping restores the best weights; Ctrl-C stops after the current batch and keeps the best weights and
the history so far. On a CPU with bf16 support, convolutional nets run channels-last under bf16 autocast
(faster than fp32 where the CPU has native bf16; the benchmark suite measures it); weights and the optimiser stay fp32.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from mnistlab.errors import ParameterError
from mnistlab.parallel import in_loop_of_fits
from mnistlab.training.augment import Augmentation

log = logging.getLogger("mnistlab.training")
OPTIMIZERS = ("adam", "adamw", "sgd", "adadelta")
SCHEDULES = ("none", "onecycle", "cosine", "step")
# The most epochs a recipe's min_steps may ask for: on a few hundred images the steps then stay short of min_steps
# (cnn on 500 images: 400 steps, not 3,376), which keeps small-data training a fraction of the time of MNIST's,
# as fastai's and Keras' small-data examples train tens of epochs, not thousands.
MAX_RESOLVED_EPOCHS = 100
# Dense networks' steps cost microseconds, and they need the passes: on a validation split of 500 MNIST training
# images softmax reached 0.85 with 1000 epochs against 0.755 with 100, mlp 0.88 against 0.87 (benchmarks/recipe_sizes.py).
MAX_RESOLVED_EPOCHS_DENSE = 1000
# Fewer optimizer steps than this rarely train a network (cnn-fast, the shortest recipe, takes 211 on MNIST);
# an explicit epochs that gives fewer is warned about (TorchClassifier.fit).
TRUSTED_STEPS = 100


def steps_per_epoch(n_rows: int, batch_size: int) -> int:
    """Optimizer steps in one pass over ``n_rows`` images (the last batch may be short).

    Examples
    --------
    >>> steps_per_epoch(54_000, 256), steps_per_epoch(450, 256)
    (211, 2)
    """
    return max(1, math.ceil(n_rows / batch_size))


def resolve_epochs(
    n_rows: int, batch_size: int, epochs: int, min_steps: int | None, max_epochs: int = MAX_RESOLVED_EPOCHS
) -> int:
    """The epochs a recipe trains on ``n_rows`` images: ``epochs``, or more where that gives fewer than
    ``min_steps`` optimizer steps (at most ``max_epochs``); ``min_steps=None`` keeps ``epochs``.

    Parameters
    ----------
    n_rows : int
        Training images (after the validation split is held out).
    batch_size : int
        Images per optimizer step.
    epochs : int
        The recipe's epochs, what it trains on large data.
    min_steps : int or None
        The optimizer steps the recipe needs; None: ``epochs`` as given (an explicit choice).
    max_epochs : int
        The most epochs ``min_steps`` may ask for (:data:`MAX_RESOLVED_EPOCHS`, dense networks
        :data:`MAX_RESOLVED_EPOCHS_DENSE`); a recipe's own ``epochs`` are never cut.

    Returns
    -------
    int
        The epochs to train.

    Examples
    --------
    >>> resolve_epochs(54_000, 256, epochs=1, min_steps=211)  # cnn-fast on MNIST: its recipe as published
    1
    >>> resolve_epochs(4_500, 256, epochs=1, min_steps=211)  # on 5,000 images: enough passes for 211 steps
    12
    >>> resolve_epochs(450, 256, epochs=1, min_steps=211)  # on 500: 106 passes needed, 100 at most
    100
    >>> resolve_epochs(450, 256, epochs=1, min_steps=None)
    1
    """
    if min_steps is None:
        return epochs
    needed = math.ceil(min_steps / steps_per_epoch(n_rows, batch_size))
    return max(epochs, min(needed, max_epochs))


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


@dataclass
class TrainResult:
    history: list[dict] = field(default_factory=list)
    # the training loss of every optimizer step: {"step", "epoch", "train_loss", "lr"} (learning curves of runs
    # of few epochs are drawn from it)
    steps: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    interrupted: bool = False
    stopped_early: bool = False


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` intra-op threads (None keeps the current setting), restoring it afterwards."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM (``kill``, a scheduler's time limit) stops training as Ctrl-C does: the best
    weights and the history so far are kept (inside a :func:`~mnistlab.parallel.loop_of_fits` the whole loop
    stops instead). Only the main thread can install signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _make_optimizer(net: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = net.parameters()
    # One fused kernel per step instead of a Python loop over parameters: the mlp's small-batch step is much faster
    # on CPU (the update was half of it, torch.profiler); same algorithm, rounding differs in the last bits.
    betas = {} if cfg.betas is None else {"betas": tuple(cfg.betas)}
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True, **betas)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True, **betas)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay, fused=True
        )
    if cfg.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ParameterError(f"unknown optimizer {cfg.optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")


ONECYCLE_WARMUP = 0.25  # the share of the steps OneCycle spends raising the learning rate


def _make_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int):
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "none":
        return None
    if cfg.schedule == "onecycle":
        if total * ONECYCLE_WARMUP <= 1:
            # Too few steps for a warm-up phase (a few hundred images): torch's OneCycleLR divides by zero there.
            # The peak learning rate throughout is what the cycle would have reached.
            return None
        # Given betas stay as given; otherwise OneCycle cycles the momentum (beta1) against the learning rate.
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, total_steps=total, pct_start=ONECYCLE_WARMUP, cycle_momentum=cfg.betas is None
        )
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    if cfg.schedule == "step":  # the PyTorch MNIST example: x0.7 per epoch
        return torch.optim.lr_scheduler.StepLR(opt, step_size=steps_per_epoch, gamma=0.7)
    raise ParameterError(f"unknown schedule {cfg.schedule!r}; expected one of {', '.join(SCHEDULES)}")


def _prepare(net: nn.Module, x: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
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
            outputs.append(net(_prepare(net, x[start : start + batch_size], cfg)).float())
    logits = torch.cat(outputs) if outputs else torch.zeros(0, 0)
    if y is None:
        return logits.cpu(), None, None
    loss = F.cross_entropy(logits, y).item()
    accuracy = (logits.argmax(1) == y).float().mean().item()
    return logits.cpu(), loss, accuracy


def train(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: TrainConfig,
    validation: tuple[torch.Tensor, torch.Tensor] | None = None,
    monitor: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> TrainResult:
    """Train ``net`` in place on uint8 images ``x`` (N, 28, 28) and class indices ``y`` (both on one device).

    ``validation`` data steer early stopping and the best-weight restore; ``monitor`` data are only measured
    after each epoch (``monitor_loss``, ``monitor_accuracy`` in the history) and steer nothing: the benchmark
    suite's time-to-accuracy curves use it with test data, which must never be validation data."""
    if cfg.early_stopping and validation is None:
        raise ParameterError("early_stopping needs validation data (validation_split > 0 or validation_data)")
    generator = torch.Generator().manual_seed(cfg.seed)
    opt = _make_optimizer(net, cfg)
    schedule = _make_schedule(opt, cfg, steps_per_epoch(len(x), cfg.batch_size))
    if cfg.channels_last:
        net.to(memory_format=torch.channels_last)
    result, best_loss, best_state, stale = TrainResult(), math.inf, None, 0
    with sigterm_as_interrupt():
        try:
            for epoch in range(1, cfg.epochs + 1):
                row = _train_epoch(net, x, y, cfg, opt, schedule, generator, epoch, result.steps)
                if validation is not None:
                    _, row["val_loss"], row["val_accuracy"] = evaluate(net, *validation, cfg)
                if monitor is not None:
                    _, row["monitor_loss"], row["monitor_accuracy"] = evaluate(net, *monitor, cfg)
                result.history.append(row)
                _report(row, cfg)
                if validation is not None and row["val_loss"] < best_loss - 1e-6:
                    best_loss, best_state, stale, result.best_epoch = (
                        row["val_loss"],
                        copy.deepcopy(net.state_dict()),
                        0,
                        epoch,
                    )
                elif validation is not None:
                    stale += 1
                    if cfg.early_stopping and stale >= cfg.early_stopping:
                        result.stopped_early = True
                        log.info("early stopping after epoch %d; best was epoch %d", epoch, result.best_epoch)
                        break
        except KeyboardInterrupt:
            if in_loop_of_fits():  # one fit of many: the whole loop stops (mnistlab.parallel.loop_of_fits)
                log.warning("interrupted after %d complete epochs; stopping", len(result.history))
                raise
            result.interrupted = True
            log.warning(
                "interrupted after %d complete epochs; keeping the best weights so far", len(result.history)
            )
    if best_state is not None and (cfg.early_stopping or result.interrupted):
        net.load_state_dict(best_state)
    net.eval()
    return result


def _train_epoch(net, x, y, cfg, opt, schedule, generator, epoch, steps: list[dict]) -> dict:
    """One pass over the data; the loss and learning rate of each step are appended to ``steps``."""
    net.train()
    start = time.perf_counter()
    order = torch.randperm(len(x), generator=generator).to(x.device)
    total_loss = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    batches = range(0, len(x), cfg.batch_size)
    show_bar = cfg.verbose > 0 and sys.stderr.isatty()
    step_losses, step_lrs = [], []  # kept as tensors until the epoch ends: no device sync per step
    for begin in tqdm(batches, desc=f"epoch {epoch}/{cfg.epochs}", leave=False, disable=not show_bar):
        idx = order[begin : begin + cfg.batch_size]
        xb, yb = x[idx].float().unsqueeze(1), y[idx]
        if cfg.augment is not None:
            xb = cfg.augment(xb, generator)
        if cfg.channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            logits = net(xb)
        loss = F.cross_entropy(logits.float(), yb, label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        step_lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if schedule is not None:
            schedule.step()
        step_losses.append(loss.detach())
        total_loss += loss.detach() * len(idx)
        correct += (logits.argmax(1) == yb).sum()
    first = len(steps) + 1
    for i, (loss_value, lr) in enumerate(zip(torch.stack(step_losses).tolist(), step_lrs, strict=True)):
        steps.append({"step": first + i, "epoch": epoch, "train_loss": loss_value, "lr": lr})
    return {
        "epoch": epoch,
        "train_loss": total_loss.item() / len(x),
        "train_accuracy": correct.item() / len(x),
        "lr": opt.param_groups[0]["lr"],
        "seconds": time.perf_counter() - start,
    }


def _report(row: dict, cfg: TrainConfig) -> None:
    if cfg.verbose <= 0:
        return
    text = (
        f"epoch {row['epoch']:3d}/{cfg.epochs}  loss {row['train_loss']:.4f}  acc {row['train_accuracy']:.4f}"
    )
    if "val_loss" in row:
        text += f"  val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.4f}"
    log.info("%s  lr %.2e  %.1fs", text, row["lr"], row["seconds"])
