"""What each hyper-parameter of :class:`~mnistlab.models.torch_classifier.TorchClassifier` accepts, as data
(scikit-learn's ``_parameter_constraints``): checked by ``models.create`` and ``fit`` before any data is read,
and, rule by rule, by tests/test_parameter_rules.py.
"""

from __future__ import annotations

import os

import torch

from mnistlab.errors import ParameterError
from mnistlab.models import networks
from mnistlab.models.layers import INPUT_SCALINGS
from mnistlab.params import integer, one_of, real, satisfies
from mnistlab.training import OPTIMIZERS, SCHEDULES, Augmentation, check_callbacks

PRECISIONS = ("auto", "fp32", "bf16")


def _check_augment(spec: str | None) -> None:
    Augmentation.parse(spec)  # raises ParameterError naming the part it cannot read


def _check_betas(betas) -> None:
    if betas is None:
        return
    pair = list(betas) if isinstance(betas, list | tuple) else []
    if len(pair) != 2 or not all(isinstance(b, int | float) and 0 <= b < 1 for b in pair):
        raise ParameterError("betas", betas, "two numbers in [0, 1), e.g. [0.7, 0.9], or None")


def _check_device(device: str) -> None:
    try:
        parsed = torch.device(device if device != "auto" else "cpu")
    except (RuntimeError, TypeError):
        raise ParameterError("device", device, "auto, cpu, cuda or cuda:N") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device", device, "auto or cpu: this machine has no CUDA GPU")


# What each hyper-parameter accepts (scikit-learn's ``_parameter_constraints``); the free-form rules name values
# they refuse, so tests/test_parameter_rules.py checks every rule.
def _check_checkpoint(value) -> None:
    if value is not None and (not isinstance(value, str | os.PathLike) or not str(value).strip()):
        raise ParameterError("checkpoint", value, "a file path (str or Path) or None")


PARAMETER_RULES = {
    "architecture": satisfies(
        lambda name: networks.get(name), "a registered network", breaking=("resnet",), example="mlp"
    ),
    "width": integer(low=1, high=4096, none=True),
    "epochs": integer(low=1, high=100_000),
    "min_steps": integer(low=1, high=10_000_000, none=True),
    "batch_size": integer(low=1, high=1 << 20),
    "optimizer": one_of(*OPTIMIZERS),
    "lr": real(low=0, low_open=True),
    "betas": satisfies(
        _check_betas,
        "two numbers in [0, 1) for Adam, e.g. [0.7, 0.9], or None",
        breaking=([0.9], [0.9, 1.0], "0.7,0.9", [0.9, float("nan")]),
        example=[0.7, 0.9],
    ),
    "weight_decay": real(low=0),
    "schedule": one_of(*SCHEDULES),
    "label_smoothing": real(low=0, high=1, high_open=True),
    "input_scaling": one_of(*INPUT_SCALINGS),
    "augment": satisfies(
        _check_augment,
        "e.g. 'shift=2,rotate=10,shear=0.1,zoom=0.1,flip' or None",
        breaking=("spin=3", "shift=x", "shift=nan", "erase=2", "brightness=-1", 3),
        example="shift=2,flip",
    ),
    "validation_split": real(low=0, high=1, high_open=True),
    "early_stopping": integer(low=1, none=True),
    "precision": one_of(*PRECISIONS),
    "tta": one_of("flip", none=True),
    "calibration": one_of("temperature", "none"),
    "seed": integer(low=0),
    "device": satisfies(
        _check_device, "auto, cpu, cuda or cuda:N", breaking=("tpu", "cuda:x", 0.5), example="cpu"
    ),
    "threads": integer(low=1, high=1024, none=True),
    "verbose": integer(low=0),
    "checkpoint": satisfies(
        _check_checkpoint,
        "a file path (str or Path) or None",
        breaking=(3, "", b"run.ckpt"),
        example="run.ckpt",
    ),
    "callbacks": satisfies(
        check_callbacks,
        "a list of mnistlab.training.Callback objects, or None",
        breaking=(["EarlyStopping"], [None], "EpochScore"),
        example=[],
    ),
}
