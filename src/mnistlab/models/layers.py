"""The layers the networks are built from, beyond torch's own.

:class:`InputScaling` travels with the weights (a saved network needs no separate preprocessing step).
:class:`FastDropout` and :class:`ConvReluPool` compute what standard torch layers compute, faster on a CPU; each
has an equivalence test, and the benchmark suite (``benchmarks/suite.py``) measures the gain per machine.
The architectures themselves are in ``networks.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mnistlab.errors import ParameterError

INPUT_SCALINGS = ("unit", "minmax", "standard")


class InputScaling(nn.Module):
    """``(x - offset) * scale`` per input value; ``unit`` divides by 255, ``minmax``/``standard`` are fitted."""

    def __init__(self, shape: tuple[int, ...] = (1, 28, 28)) -> None:
        super().__init__()
        self.register_buffer("offset", torch.zeros(1, *shape))
        self.register_buffer("scale", torch.full((1, *shape), 1 / 255))

    def fit(self, x: torch.Tensor, method: str) -> None:
        """Fit on training inputs (N, *shape): ``unit`` (/255), ``minmax`` (per value) or ``standard``."""
        if method == "unit":
            offset, scale = torch.zeros_like(self.offset), torch.full_like(self.scale, 1 / 255)
        elif method == "minmax":  # scikit-learn's MinMaxScaler: constant inputs map to 0
            low, high = x.amin(0, keepdim=True).float(), x.amax(0, keepdim=True).float()
            offset, scale = low, 1 / torch.where(high > low, high - low, torch.ones_like(high))
        elif method == "standard":  # one mean and std for all pixels keeps the image's spatial structure
            xf = x.float()
            offset = torch.full_like(self.offset, xf.mean().item())
            scale = torch.full_like(self.scale, 1 / max(xf.std().item(), 1e-6))
        else:
            raise ParameterError("input_scaling", method, f"one of {', '.join(INPUT_SCALINGS)}")
        self.offset.copy_(offset)
        self.scale.copy_(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.offset) * self.scale


class FastDropout(nn.Module):
    """Inverted dropout with the same expectation as ``nn.Dropout`` (``p`` rounded to 1/65536), but drawing 16
    random bits per element from 64-bit integers, which costs less than ``bernoulli_`` or ``rand_like``
    (torch.profiler showed either as a large share of ``cnn-kaggle``'s training step)."""

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
    """Elementwise max over the first dimension. ``amax`` is vectorised over contiguous planes (much faster than
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
            torch.mul(grad, first, out=grads[k])  # (measured faster than torch.where here)
            taken |= first
        return grads


class ConvReluPool(nn.Conv2d):
    """``Conv2d(1, C, 3) -> ReLU -> MaxPool2d(2)``, the first block of ``cnn-kaggle``, with the parameters of the
    Conv2d.

    In training, each 2x2 pooling window comes from its 4x4 input patch: one matrix product gives the window's
    four convolution outputs as four contiguous planes, an elementwise max keeps one, and bias + ReLU run on the
    4x smaller pooled tensor (both commute with the max). The same function and gradients as the three torch
    layers (to float rounding; tested). It exists because oneDNN's weight gradient for one input channel and
    ``max_pool2d_with_indices`` took half of the torch layers' training step (torch.profiler).
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
