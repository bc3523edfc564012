"""The training loop: whole data set as tensors, batches by slicing a permutation, one line of history per epoch
and the training loss of every optimizer step; around it, callbacks (:mod:`mnistlab.training.callbacks`).

How many epochs a recipe trains is set by optimizer steps (:func:`resolve_epochs`): a recipe states the steps it
needs (``min_steps``), and on small data the epochs rise until they are reached, as fastai's ``fit_one_cycle``
counts a schedule in steps; on MNIST's 54,000 training images every recipe trains exactly its stated epochs.

The loop itself only trains; validation scores, best-weight restore, early stopping, progress and what Ctrl-C
does are callbacks it builds from its configuration, and a caller adds its own (a benchmark's test accuracy per
epoch). Ctrl-C (and SIGTERM, turned into it) stops after the current batch. A distributed training plugs in the
same way: a callback's ``on_train_begin`` wraps ``state.model`` and replaces ``state.shuffle`` by a sharding
sampler. On a CPU with bf16 support, convolutional nets run channels-last under bf16 autocast (faster than fp32
where the CPU has native bf16; the benchmark suite measures it); weights and the optimiser stay fp32.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mnistlab.errors import ParameterError
from mnistlab.training import distributed
from mnistlab.training.callbacks import (
    BestWeights,
    Callback,
    EarlyStopping,
    EpochScore,
    ProgressBar,
    ProgressLog,
    StopOnInterrupt,
)
from mnistlab.training.checkpoint import Checkpoint, fingerprint
from mnistlab.training.state import TrainConfig, TrainResult, TrainState, evaluate, prepare

__all__ = [
    "MAX_RESOLVED_EPOCHS",
    "MAX_RESOLVED_EPOCHS_DENSE",
    "OPTIMIZERS",
    "SCHEDULES",
    "TRUSTED_STEPS",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "planned_epochs",
    "prepare",
    "resolve_device",
    "resolve_epochs",
    "steps_per_epoch",
    "torch_threads",
    "train",
]
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


def planned_epochs(
    name: str,
    n_rows: int,
    batch_size: int,
    epochs: int,
    min_steps: int | None,
    recipe_steps: int | None,
    dense: bool,
) -> int:
    """The epochs network ``name`` trains on ``n_rows`` images (:func:`resolve_epochs`; dense networks, whose
    steps are cheap, up to :data:`MAX_RESOLVED_EPOCHS_DENSE`), with a warning when they give too few optimizer
    steps to be trusted (an explicit epochs=1 on 500 images: 2 steps of cnn-fast, about 20% accuracy), naming
    the epochs that would reach ``recipe_steps``, the steps of the network's recipe.

    Examples
    --------
    >>> planned_epochs("cnn-fast", 4_500, 256, epochs=1, min_steps=211, recipe_steps=211, dense=False)
    12
    """
    max_epochs = MAX_RESOLVED_EPOCHS_DENSE if dense else MAX_RESOLVED_EPOCHS
    epochs = resolve_epochs(n_rows, batch_size, epochs, min_steps, max_epochs)
    steps = epochs * steps_per_epoch(n_rows, batch_size)
    if steps >= TRUSTED_STEPS:
        return epochs
    enough = resolve_epochs(
        n_rows, batch_size, 1, max(recipe_steps or TRUSTED_STEPS, TRUSTED_STEPS), max_epochs
    )
    warnings.warn(
        f"{name} trains only {steps} optimizer step{'s' * (steps != 1)} ({epochs} "
        f"epoch{'s' * (epochs != 1)} of {n_rows} images at batch_size={batch_size}), too few to trust "
        f"(fewer than {TRUSTED_STEPS}): train epochs={enough}, or give no epochs: the "
        "recipe sizes them to the data",
        UserWarning,
        stacklevel=3,
    )
    return epochs


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


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM inside the block is raised as :class:`KeyboardInterrupt` when the block ends, so what
    the block does happens whole or not at all. Only the main thread receives signals; elsewhere it does nothing.

    Examples
    --------
    >>> import os, signal
    >>> try:
    ...     with interrupts_deferred():
    ...         os.kill(os.getpid(), signal.SIGINT)
    ...         done = "the block finished"
    ... except KeyboardInterrupt:
    ...     print(done, "before the interrupt")
    the block finished before the interrupt
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda s, f: caught.append(s))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # None: a handler installed outside Python, which cannot be put back; the default is the nearest
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
    if caught:
        raise KeyboardInterrupt


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


def train(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: TrainConfig,
    validation: tuple[torch.Tensor, torch.Tensor] | None = None,
    callbacks: Sequence[Callback] = (),
    as_tensors: Callable | None = None,
) -> TrainResult:
    """Train ``net`` in place on uint8 images ``x`` (N, 28, 28) and class indices ``y`` (both on one device); ``x``
    may instead be rows streamed from shards (:class:`~mnistlab.training.streaming.StreamedRows`).

    ``validation`` data steer early stopping and the best-weight restore. ``callbacks`` run after the standard
    ones that measure (:func:`standard_callbacks`) and before those that act on the measurements; ``as_tensors``
    turns the data a callback brings into tensors (:attr:`TrainState.as_tensors`)."""
    if cfg.early_stopping and validation is None:
        raise ParameterError("early_stopping needs validation data (validation_split > 0 or validation_data)")
    group = distributed.launched()
    global_cfg = cfg
    device = y.device  # x is a tensor on it, or rows streamed from shards (training.streaming)
    if group is not None:  # launched by torchrun: each process trains on its share of every batch
        distributed.join(group, device)
        bf16, channels_last = distributed.same_everywhere((cfg.bf16, cfg.channels_last))
        cfg = dataclasses.replace(
            cfg, batch_size=group.local_batch(cfg.batch_size), bf16=bf16, channels_last=channels_last
        )
    per_epoch = steps_per_epoch(len(x) if group is None else group.rows(len(x)), cfg.batch_size)
    generator = torch.Generator().manual_seed(cfg.seed)
    opt = _make_optimizer(net, cfg)
    schedule = _make_schedule(opt, cfg, per_epoch)
    if cfg.channels_last:
        net.to(memory_format=torch.channels_last)
    state = TrainState(net, net, cfg, opt, schedule, generator, device, as_tensors=as_tensors)
    measuring, acting = standard_callbacks(cfg, validation, per_epoch)
    callbacks = [*measuring, *callbacks, *acting]
    if group is not None:
        callbacks = [distributed.DataParallel(group), *callbacks, distributed.AgreeToStop()]
    for callback in callbacks:
        callback.on_train_begin(state)
    saver = None
    if cfg.checkpoint is not None:  # the same training on any number of processes resumes the same checkpoint
        saver = Checkpoint(cfg.checkpoint, fingerprint(net, x, y, global_cfg), callbacks)
        saver.resume(state)
    with sigterm_as_interrupt():
        try:
            _run_epochs(state, x, y, callbacks, saver if distributed.is_writer() else None)
        except KeyboardInterrupt:
            state.result.interrupted = True
            for callback in callbacks:
                callback.on_interrupt(state)  # one may pass it on (StopOnInterrupt in a loop of fits)
    for callback in callbacks:
        callback.on_train_end(state)
    net.eval()
    return state.result


def standard_callbacks(
    cfg: TrainConfig, validation: tuple[torch.Tensor, torch.Tensor] | None, per_epoch: int
) -> tuple[list[Callback], list[Callback]]:
    """The callbacks the configuration asks for: those that measure an epoch (they run before the caller's) and
    those that act on the measurements (after the caller's, so that its measurements are in the row first)."""
    measuring: list[Callback] = []
    if cfg.verbose > 0 and sys.stderr.isatty():
        measuring.append(ProgressBar(per_epoch))
    if validation is not None:
        measuring.append(EpochScore("val", *validation, _validation=True))
    acting: list[Callback] = [ProgressLog()] if cfg.verbose > 0 else []
    if validation is not None:
        acting.append(BestWeights(restore=bool(cfg.early_stopping)))
    if cfg.early_stopping:
        acting.append(EarlyStopping(cfg.early_stopping))
    return measuring, [*acting, StopOnInterrupt()]


def _run_epochs(
    state: TrainState,
    x: torch.Tensor,
    y: torch.Tensor,
    callbacks: list[Callback],
    saver: Checkpoint | None = None,
) -> None:
    """The epochs after ``state.epoch`` (0, or where a checkpoint left off), each row into the history once every
    callback has seen it (and into the checkpoint), until one stops training."""
    # on_step_end only where overridden: a call per optimizer step of a hook that does nothing is pure cost
    on_step = [c for c in callbacks if type(c).on_step_end is not Callback.on_step_end]
    if state.stop_training:  # resumed from a checkpoint of a training that had ended
        return
    for epoch in range(state.epoch + 1, state.cfg.epochs + 1):
        state.epoch = epoch
        for callback in callbacks:
            callback.on_epoch_begin(state)
        row = _train_epoch(state, x, y, on_step)
        # An interrupt while the callbacks see the row (after the progress line is printed) would lose a finished
        # epoch; it waits until the row is in the history.
        with interrupts_deferred():
            for callback in callbacks:
                callback.on_epoch_end(state, row)
            state.result.history.append(row)
            if saver is not None:
                saver.save(state)
        if state.stop_training:
            break


def _batches(state: TrainState, x, y: torch.Tensor) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch's batches of uint8 images and class indices: slices of a permutation of the tensors in memory
    (this process's share of it under torchrun), or, for rows streamed from shards, the stream's own batches
    (each process its share of each)."""
    cfg, generator = state.cfg, state.generator
    if isinstance(x, torch.Tensor):
        order = state.shuffle(len(x), generator).to(x.device)
        for begin in range(0, len(order), cfg.batch_size):
            idx = order[begin : begin + cfg.batch_size]
            yield x[idx], y[idx]
        return
    rank, world = state.share
    for images, labels in x.batches(generator, cfg.batch_size * world, state.device):
        if len(labels) >= world:  # a last batch smaller than the processes: no process runs a step alone
            yield images[rank::world], labels[rank::world]


def _train_epoch(state: TrainState, x: torch.Tensor, y: torch.Tensor, on_step: list[Callback]) -> dict:
    """One pass over the data; the loss and learning rate of each step are appended to the result's steps."""
    cfg, model, opt, generator = state.cfg, state.model, state.optimizer, state.generator
    schedule = state.schedule
    model.train()
    start = time.perf_counter()
    device = state.device
    total_loss = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    step_losses, step_lrs = [], []  # kept as tensors until the epoch ends: no device sync per step
    rows = 0
    for images, yb in _batches(state, x, y):
        xb = images.float().unsqueeze(1)
        rows += len(yb)
        if cfg.augment is not None:
            xb = cfg.augment(xb, generator)
        if cfg.channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
            logits = model(xb)
        loss = F.cross_entropy(logits.float(), yb, label_smoothing=cfg.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        step_lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if schedule is not None:
            schedule.step()
        step_losses.append(loss.detach())
        total_loss += loss.detach() * len(yb)
        correct += (logits.argmax(1) == yb).sum()
        for callback in on_step:
            callback.on_step_end(state, step_losses[-1])
    steps, first = state.result.steps, len(state.result.steps) + 1
    for i, (loss_value, lr) in enumerate(zip(torch.stack(step_losses).tolist(), step_lrs, strict=True)):
        steps.append({"step": first + i, "epoch": state.epoch, "train_loss": loss_value, "lr": lr})
    rows = max(rows, 1)
    return {
        "epoch": state.epoch,
        "train_loss": total_loss.item() / rows,
        "train_accuracy": correct.item() / rows,
        "lr": opt.param_groups[0]["lr"],
        "seconds": time.perf_counter() - start,
    }
