"""Layers that compute what a standard torch layer computes, faster on a CPU; each has an equivalence test.

Kept apart from the architectures (``networks.py``), which say *what* a network is; these say *how* some of its
layers run quickly. Measured with torch.profiler on 2-core CPUs (see the benchmark suite and the README).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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
    """``Conv2d(1, C, 3) -> ReLU -> MaxPool2d(2)``, the first block of `cnn-seed`, with the parameters of the Conv2d.

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
