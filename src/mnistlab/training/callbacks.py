"""Callbacks: what happens around the training loop, each a small object with the hooks it needs.

The loop (:func:`mnistlab.training.loop.train`) calls, in order: ``on_train_begin`` once; per epoch
``on_epoch_begin``, ``on_step_end`` after every optimizer step, ``on_epoch_end`` with the epoch's history row
(callbacks add their measurements to it); ``on_interrupt`` when Ctrl-C or SIGTERM stops training; ``on_train_end``
once training ended without an exception. As in skorch's and Keras' callbacks, every hook of the base class does
nothing, so a callback overrides only what it uses; the loop calls ``on_step_end`` only on callbacks that
override it, which keeps the optimizer step as fast as without callbacks.

The standard callbacks, built by the loop from its configuration (:func:`mnistlab.training.loop.train`), in the
order they run: :class:`ProgressBar`, :class:`EpochScore` of the validation data, the caller's callbacks,
:class:`ProgressLog`, :class:`BestWeights`, :class:`EarlyStopping`, :class:`StopOnInterrupt`.
"""

from __future__ import annotations

import copy
import logging
import math

import torch
from tqdm import tqdm

from mnistlab.errors import ParameterError
from mnistlab.parallel import in_loop_of_fits
from mnistlab.training.state import TrainState

log = logging.getLogger("mnistlab.training")
# an improvement of the validation loss smaller than this is none (float noise must not reset the patience)
MIN_IMPROVEMENT = 1e-6


class Callback:
    """Base class of the training callbacks: every hook does nothing; override the ones you need.

    A callback gets the :class:`~mnistlab.training.state.TrainState` (the network, the configuration, the
    result so far; set ``state.stop_training`` to end training after this epoch) and, at an epoch's end, the
    epoch's history row, which it may add entries to. ``TorchClassifier(callbacks=[...])`` runs a list of them
    in every ``fit``; ``clone`` copies them with the estimator.

    Examples
    --------
    >>> class StopAtAccuracy(Callback):
    ...     def __init__(self, target):
    ...         self.target = target
    ...
    ...     def on_epoch_end(self, state, row):
    ...         state.stop_training = row["train_accuracy"] >= self.target
    >>> StopAtAccuracy(0.99).target
    0.99
    """

    def on_train_begin(self, state: TrainState) -> None:
        """Before the first epoch, after the optimizer is made (a wrapper may replace ``state.model`` here)."""

    def on_epoch_begin(self, state: TrainState) -> None:
        """Before each epoch's first step (``state.epoch`` is the epoch about to run)."""

    def on_step_end(self, state: TrainState, loss: torch.Tensor) -> None:
        """After each optimizer step, with the batch's loss (a tensor on the device: ``.item()`` waits for it)."""

    def on_epoch_end(self, state: TrainState, row: dict) -> None:
        """After each epoch, with its history row (``epoch``, ``train_loss``, ``train_accuracy``, ``lr``,
        ``seconds``, and what the callbacks before this one added)."""

    def on_interrupt(self, state: TrainState) -> None:
        """When Ctrl-C or SIGTERM stops training (``state.result.interrupted`` is set); raise to pass it on."""

    def on_train_end(self, state: TrainState) -> None:
        """After the last epoch, or after an interrupt that no callback passed on."""

    def state_dict(self) -> dict | None:
        """What a checkpoint keeps of this callback between epochs (tensors and plain values; None: nothing).
        ``on_train_begin`` has run before :meth:`load_state_dict` puts it back."""
        return None

    def load_state_dict(self, state: dict) -> None:
        """Put back what :meth:`state_dict` returned when the training was checkpointed."""


class EpochScore(Callback):
    """Loss and accuracy on the given images after every epoch, as ``<name>_loss`` and ``<name>_accuracy`` in
    the history; they steer nothing (no early stopping, no best weights: those follow the validation data).

    The benchmark suite's time-to-accuracy curves measure test data this way; test data must never be
    validation data. Images and labels come as ``fit`` takes them (the estimator checks them as it checks
    validation data, at the start of training); the loop's own validation score gets tensors.

    Parameters
    ----------
    name : str
        The history's prefix: ``"test"`` gives ``test_loss`` and ``test_accuracy``; not ``"train"`` or ``"val"``.
    images : array-like or torch.Tensor
        The images.
    labels : array-like or torch.Tensor
        Their labels, among the training classes.

    Examples
    --------
    >>> import numpy as np
    >>> from mnistlab.models import TorchClassifier
    >>> X = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
    >>> y = np.arange(64) % 2
    >>> score = EpochScore("test", X[:16], y[:16])
    >>> clf = TorchClassifier("softmax", epochs=2, threads=1, callbacks=[score]).fit(X[16:], y[16:])
    >>> sorted(key for key in clf.history_[-1] if key.startswith("test_"))
    ['test_accuracy', 'test_loss']
    """

    def __init__(self, name: str, images, labels, *, _validation: bool = False) -> None:
        if (
            not isinstance(name, str)
            or not name.isidentifier()
            or (name in ("train", "val") and not _validation)
        ):
            raise ParameterError("name", name, "a word other than 'train' and 'val', e.g. 'test'")
        self.name, self.images, self.labels = name, images, labels
        self._tensors: tuple[torch.Tensor, torch.Tensor] | None = None

    def on_train_begin(self, state: TrainState) -> None:
        if isinstance(self.images, torch.Tensor):
            self._tensors = self.images, self.labels
        else:
            self._tensors = state.tensors(self.images, self.labels, f"EpochScore({self.name!r})")

    def on_epoch_end(self, state: TrainState, row: dict) -> None:
        row[f"{self.name}_loss"], row[f"{self.name}_accuracy"] = state.evaluate(*self._tensors)

    def on_train_end(self, state: TrainState) -> None:
        self._tensors = None  # the copy on the device is not kept with the estimator


class BestWeights(Callback):
    """Keep the weights of the epoch of lowest validation loss (``state.result.best_epoch``); put them back
    at the end when ``restore`` (early stopping) or when training was interrupted."""

    def __init__(self, restore: bool) -> None:
        self.restore = restore

    def on_train_begin(self, state: TrainState) -> None:
        self._best_loss, self._weights = math.inf, None

    def on_epoch_end(self, state: TrainState, row: dict) -> None:
        if row["val_loss"] < self._best_loss - MIN_IMPROVEMENT:
            self._best_loss, self._weights = row["val_loss"], copy.deepcopy(state.net.state_dict())
            state.result.best_epoch = state.epoch

    def on_train_end(self, state: TrainState) -> None:
        if self._weights is not None and (self.restore or state.result.interrupted):
            state.net.load_state_dict(self._weights)
        self._weights = None

    def state_dict(self) -> dict:
        return {"best_loss": self._best_loss, "weights": self._weights}

    def load_state_dict(self, state: dict) -> None:
        self._best_loss, self._weights = state["best_loss"], state["weights"]


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved for ``patience`` epochs (:class:`BestWeights` then puts
    the best epoch's weights back)."""

    def __init__(self, patience: int) -> None:
        self.patience = patience

    def on_train_begin(self, state: TrainState) -> None:
        self._best_loss, self._best_epoch, self._stale = math.inf, None, 0

    def on_epoch_end(self, state: TrainState, row: dict) -> None:
        if row["val_loss"] < self._best_loss - MIN_IMPROVEMENT:
            self._best_loss, self._best_epoch, self._stale = row["val_loss"], state.epoch, 0
            return
        self._stale += 1
        if self._stale >= self.patience:
            state.stop_training = state.result.stopped_early = True
            log.info("early stopping after epoch %d; best was epoch %d", state.epoch, self._best_epoch)

    def state_dict(self) -> dict:
        return {"best_loss": self._best_loss, "best_epoch": self._best_epoch, "stale": self._stale}

    def load_state_dict(self, state: dict) -> None:
        self._best_loss, self._best_epoch, self._stale = (
            state["best_loss"],
            state["best_epoch"],
            state["stale"],
        )


class ProgressLog(Callback):
    """One log line per epoch: losses, accuracies, learning rate, seconds."""

    def on_epoch_end(self, state: TrainState, row: dict) -> None:
        text = (
            f"epoch {row['epoch']:3d}/{state.cfg.epochs}  loss {row['train_loss']:.4f}  "
            f"acc {row['train_accuracy']:.4f}"
        )
        if "val_loss" in row:
            text += f"  val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.4f}"
        log.info("%s  lr %.2e  %.1fs", text, row["lr"], row["seconds"])


class ProgressBar(Callback):
    """A progress bar over each epoch's steps (on a terminal), gone when the epoch ends."""

    def __init__(self, steps_per_epoch: int) -> None:
        self.steps_per_epoch = steps_per_epoch
        self._bar = None

    def on_epoch_begin(self, state: TrainState) -> None:
        desc = f"epoch {state.epoch}/{state.cfg.epochs}"
        self._bar = tqdm(total=self.steps_per_epoch, desc=desc, leave=False)

    def on_step_end(self, state: TrainState, loss: torch.Tensor) -> None:
        self._bar.update()

    def on_epoch_end(self, state: TrainState, row: dict) -> None:
        self._close()

    def on_interrupt(self, state: TrainState) -> None:
        self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class StopOnInterrupt(Callback):
    """Ctrl-C or SIGTERM: one fit stops after the current batch and keeps its history and best weights; inside
    a loop of fits (:func:`mnistlab.parallel.loop_of_fits`: cross-validation, a sweep) the whole loop stops."""

    def on_interrupt(self, state: TrainState) -> None:
        epochs = len(state.result.history)
        if in_loop_of_fits():
            log.warning("interrupted after %d complete epochs; stopping", epochs)
            raise KeyboardInterrupt
        log.warning("interrupted after %d complete epochs; keeping the best weights so far", epochs)


def check_callbacks(callbacks) -> None:
    """Refuse anything but a list or tuple of :class:`Callback` objects (or None), naming what was given.

    Examples
    --------
    >>> check_callbacks([EarlyStopping(3)]), check_callbacks(None)
    (None, None)
    """
    if callbacks is None:
        return
    if not isinstance(callbacks, list | tuple) or not all(isinstance(c, Callback) for c in callbacks):
        raise ParameterError("callbacks", callbacks, "a list of mnistlab.training.Callback objects, or None")
