"""PyTorch network architectures by name. Each takes (N, 1, 28, 28) float pixels on the 0..255 scale.

The first module of every network is :class:`InputScaling`, whose buffers are fitted on the training data and
saved with the weights, so a saved network needs no separate preprocessing step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class InputScaling(nn.Module):
    """``(x - offset) * scale`` per pixel; ``unit`` divides by 255, ``minmax``/``standard`` are fitted."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("offset", torch.zeros(1, 1, 28, 28))
        self.register_buffer("scale", torch.full((1, 1, 28, 28), 1 / 255))

    def fit(self, x: torch.Tensor, method: str) -> None:
        """Fit on training pixels (N, 1, 28, 28): ``unit`` (/255), ``minmax`` (per pixel) or ``standard``."""
        if method == "unit":
            offset, scale = torch.zeros_like(self.offset), torch.full_like(self.scale, 1 / 255)
        elif method == "minmax":  # scikit-learn's MinMaxScaler: constant pixels map to 0
            low, high = x.amin(0, keepdim=True).float(), x.amax(0, keepdim=True).float()
            offset, scale = low, 1 / torch.where(high > low, high - low, torch.ones_like(high))
        elif method == "standard":  # one mean and std for all pixels keeps the image's spatial structure
            xf = x.float()
            offset = torch.full_like(self.offset, xf.mean().item())
            scale = torch.full_like(self.scale, 1 / max(xf.std().item(), 1e-6))
        else:
            raise ValueError(f"unknown input_scaling {method!r}; expected unit, minmax or standard")
        self.offset.copy_(offset)
        self.scale.copy_(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.offset) * self.scale


class FastDropout(nn.Module):
    """Inverted dropout with the same expectation as ``nn.Dropout`` (``p`` rounded to 1/65536), but drawing 16
    random bits per element from 64-bit integers: ``bernoulli_`` took a fifth of ``cnn-seed``'s training step
    and ``rand_like`` a tenth (torch.profiler); the integer draw is ~2x cheaper than ``rand_like``."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        bits = torch.empty((x.numel() + 3) // 4, dtype=torch.int64, device=x.device)
        bits.random_(-(2**63), 2**63 - 1)
        keep = bits.view(torch.int16)[: x.numel()].view(x.shape) >= round(self.p * 65536) - 32768
        return x * keep * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _MaxOfPlanes(torch.autograd.Function):
    """Elementwise max over the first dimension. ``amax`` is vectorised over contiguous planes (~20x faster than
    ``max(dim)``, which also returns indices), but its backward spreads ties with five full-size passes; this
    backward gives each element's gradient to the first plane holding the max, like ``max_pool2d``."""

    @staticmethod
    def forward(ctx, planes: torch.Tensor) -> torch.Tensor:
        values = planes.amax(0)
        ctx.save_for_backward(planes, values)
        return values

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        planes, values = ctx.saved_tensors
        grads = torch.empty_like(planes)
        taken = torch.zeros_like(values, dtype=torch.bool)
        for k in range(len(planes)):
            first = (planes[k] == values) & ~taken
            torch.mul(grad, first, out=grads[k])  # (measured 3x faster than torch.where here)
            taken |= first
        return grads


class ConvReluPool(nn.Conv2d):
    """``Conv2d(1, C, 3) -> ReLU -> MaxPool2d(2)``, seed 004's first block, with the parameters of the Conv2d.

    In training, each 2x2 pooling window comes from its 4x4 input patch: one matrix product gives the window's
    four convolution outputs as four contiguous planes, an elementwise max keeps one, and bias + ReLU run on the
    4x smaller pooled tensor (both commute with the max). The same function and gradients as the three torch
    layers (to float rounding; tested), measured ~1.4x faster per ``cnn-seed`` epoch on 2 AVX2 cores,
    where oneDNN's weight gradient for one input channel and ``max_pool2d_with_indices`` took half the step.
    Evaluation (and so ONNX export) uses the torch layers.
    """

    def __init__(self, out_channels: int) -> None:
        super().__init__(1, out_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.max_pool2d(F.relu(super().forward(x)), 2)
        n, c = len(x), self.out_channels
        h, w = (x.shape[2] - 2) // 2, (x.shape[3] - 2) // 2
        patches = F.unfold(x, 4, stride=2).transpose(0, 1).reshape(16, -1)  # (4x4 patch, N*h*w)
        offsets = [(dy, dx) for dy in (0, 1) for dx in (0, 1)]  # the window's four 3x3 kernels in a 4x4 patch
        kernels = torch.cat(
            [F.pad(self.weight, (dx, 1 - dx, dy, 1 - dy)).reshape(c, 16) for dy, dx in offsets]
        )
        pooled = _MaxOfPlanes.apply((kernels @ patches).view(4, c, -1))  # (C, N*h*w)
        out = F.relu(pooled + self.bias[:, None])
        return out.view(c, n, h, w).transpose(0, 1)


def _conv_bn(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


def softmax_regression(n_classes: int) -> nn.Module:
    """Seed 003: one dense layer, the softmax is in the loss."""
    return nn.Sequential(InputScaling(), nn.Flatten(), nn.Linear(784, n_classes))


def mlp(n_classes: int, width: int = 128) -> nn.Module:
    """Seed 000: Flatten -> Dense(128, relu) -> Dense(n_classes)."""
    return nn.Sequential(
        InputScaling(), nn.Flatten(), nn.Linear(784, width), nn.ReLU(), nn.Linear(width, n_classes)
    )


def cnn_seed(n_classes: int) -> nn.Module:
    """Seed 004: Conv(64, 3x3, relu) -> MaxPool(2) -> Dropout(0.25) -> Dense(32, relu) -> Dense(n_classes)."""
    return nn.Sequential(
        InputScaling(),
        ConvReluPool(64),
        nn.Identity(),  # the two Identity layers keep the indices, and so the weight names, of runs saved
        nn.Identity(),  # when ReLU and MaxPool2d were layers of their own
        FastDropout(0.25),
        nn.Flatten(),
        nn.Linear(64 * 13 * 13, 32),
        nn.ReLU(),
        nn.Linear(32, n_classes),
    )


def cnn(n_classes: int, width: int = 32) -> nn.Module:
    """mnistlab's default: three conv-BN-ReLU blocks (w, 2w, 4w channels) each halving the resolution.

    ~7.5 M multiply-adds per image at width 32; chosen by measurement on a 2-core CPU, where channels-last
    bf16 convolutions train at ~3000 images/s (see the benchmark suite).
    """
    return nn.Sequential(
        InputScaling(),
        *_conv_bn(1, width),
        nn.MaxPool2d(2),
        *_conv_bn(width, 2 * width),
        nn.MaxPool2d(2),
        *_conv_bn(2 * width, 4 * width),
        nn.MaxPool2d(2),
        nn.Flatten(),
        FastDropout(0.1),
        nn.Linear(4 * width * 9, n_classes),
    )


ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "softmax": softmax_regression,
    "mlp": mlp,
    "cnn-seed": cnn_seed,
    "cnn": cnn,
}


def build(architecture: str, n_classes: int, width: int | None = None) -> nn.Module:
    """The network ``architecture`` for ``n_classes``; ``width`` sets the mlp's hidden units or the cnn's channels."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {', '.join(ARCHITECTURES)}")
    if width is None:
        return ARCHITECTURES[architecture](n_classes)
    if architecture not in {"mlp", "cnn"}:
        raise ValueError(f"width applies to mlp and cnn only, not {architecture!r}")
    return ARCHITECTURES[architecture](n_classes, width)


def is_convolutional(net: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in net.modules())


# Measured per architecture on a 2-core CPU (one epoch of 20000 images, bf16): channels-last makes ``cnn`` 1.5x
# faster, but ``cnn-seed`` 1.3x slower (its max-pool gradient arrives from Flatten in NCHW and is copied back).
CHANNELS_LAST = {"cnn"}


def prefers_channels_last(architecture: str) -> bool:
    return architecture in CHANNELS_LAST
