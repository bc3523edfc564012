"""Data augmentation applied to whole batches as one affine warp (the options of the Kaggle Fashion-MNIST CNN tutorial), no per-image Python.

A spec is a short string so that it is a plain scikit-learn parameter: ``"shift=2,rotate=10,shear=0.1,zoom=0.1"``
(pixels, degrees, shear factor, zoom fraction) plus the flag ``flip`` for random horizontal flips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mnistlab.errors import ParameterError

_FIELDS = {"shift", "rotate", "shear", "zoom"}


@dataclass(frozen=True)
class Augmentation:
    shift: float = 0.0
    rotate: float = 0.0
    shear: float = 0.0
    zoom: float = 0.0
    flip: bool = False

    @classmethod
    def parse(cls, spec: str | None) -> Augmentation | None:
        """``"shift=2,rotate=10,flip"`` -> Augmentation; ``None``/``""``/``"none"`` -> None.

        >>> Augmentation.parse("shift=2,flip")
        Augmentation(shift=2.0, rotate=0.0, shear=0.0, zoom=0.0, flip=True)
        """
        if spec is None or (isinstance(spec, str) and spec.strip().lower() in {"", "none"}):
            return None
        if not isinstance(spec, str):
            raise ParameterError(f"augment: expected a string such as 'shift=2,flip', got {spec!r}")
        values: dict[str, float | bool] = {}
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            key, _, value = part.partition("=")
            key = key.strip().lower()
            if key == "flip" and not value:
                values["flip"] = True
            elif key in _FIELDS and value:
                try:
                    values[key] = float(value)
                except ValueError:
                    raise ParameterError(f"augment: {key}={value!r} is not a number") from None
            else:
                raise ParameterError(
                    f"augment: cannot read {part!r}; expected e.g. 'shift=2,rotate=10,shear=0.1,zoom=0.1,flip'"
                )
        return cls(**values)  # type: ignore[arg-type]

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Warp a batch (N, 1, H, W) with one random affine transform per image."""
        n, _, h, w = x.shape

        def uniform(limit: float) -> torch.Tensor:
            return (torch.rand(n, generator=generator) * 2 - 1) * limit

        angle = uniform(math.radians(self.rotate))
        shear = uniform(self.shear)
        zoom = 1 + uniform(self.zoom)
        flip = (
            torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if self.flip else torch.ones(n)
        )
        cos, sin = torch.cos(angle), torch.sin(angle)
        # The matrix maps output coordinates to input coordinates in [-1, 1] units.
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = cos / zoom * flip
        theta[:, 0, 1] = (-sin + shear * cos) / zoom
        theta[:, 1, 0] = sin / zoom * flip
        theta[:, 1, 1] = (cos + shear * sin) / zoom
        theta[:, 0, 2] = uniform(2 * self.shift / w)
        theta[:, 1, 2] = uniform(2 * self.shift / h)
        grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="zeros", align_corners=False)
