"""Training: the fast tensor training loop, batch augmentation."""

from mnistlab.training.augment import Augmentation
from mnistlab.training.loop import TrainConfig, TrainResult, torch_threads, train

__all__ = ["Augmentation", "TrainConfig", "TrainResult", "torch_threads", "train"]
