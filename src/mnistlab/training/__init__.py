"""Training: the fast tensor training loop, the callbacks around it, batch augmentation."""

from mnistlab.training import distributed
from mnistlab.training.augment import Augmentation
from mnistlab.training.callbacks import (
    BestWeights,
    Callback,
    EarlyStopping,
    EpochScore,
    ProgressBar,
    ProgressLog,
    StopOnInterrupt,
    check_callbacks,
)
from mnistlab.training.loop import (
    MAX_RESOLVED_EPOCHS,
    MAX_RESOLVED_EPOCHS_DENSE,
    OPTIMIZERS,
    SCHEDULES,
    TRUSTED_STEPS,
    planned_epochs,
    resolve_device,
    resolve_epochs,
    steps_per_epoch,
    torch_threads,
    train,
)
from mnistlab.training.state import TrainConfig, TrainResult, TrainState, evaluate
from mnistlab.training.streaming import StreamedRows

__all__ = [
    "MAX_RESOLVED_EPOCHS",
    "MAX_RESOLVED_EPOCHS_DENSE",
    "OPTIMIZERS",
    "SCHEDULES",
    "TRUSTED_STEPS",
    "Augmentation",
    "BestWeights",
    "Callback",
    "EarlyStopping",
    "EpochScore",
    "ProgressBar",
    "ProgressLog",
    "StopOnInterrupt",
    "StreamedRows",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "check_callbacks",
    "distributed",
    "evaluate",
    "planned_epochs",
    "resolve_device",
    "resolve_epochs",
    "steps_per_epoch",
    "torch_threads",
    "train",
]
