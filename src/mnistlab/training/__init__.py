"""Training: the fast tensor training loop, batch augmentation."""

from mnistlab.training.augment import Augmentation
from mnistlab.training.loop import (
    MAX_RESOLVED_EPOCHS,
    MAX_RESOLVED_EPOCHS_DENSE,
    OPTIMIZERS,
    SCHEDULES,
    TRUSTED_STEPS,
    TrainConfig,
    TrainResult,
    evaluate,
    resolve_device,
    resolve_epochs,
    steps_per_epoch,
    torch_threads,
    train,
)

__all__ = [
    "MAX_RESOLVED_EPOCHS",
    "MAX_RESOLVED_EPOCHS_DENSE",
    "OPTIMIZERS",
    "SCHEDULES",
    "TRUSTED_STEPS",
    "Augmentation",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "resolve_device",
    "resolve_epochs",
    "steps_per_epoch",
    "torch_threads",
    "train",
]
