"""Data augmentation applied to whole batches as one affine warp (the options of the Kaggle Fashion-MNIST CNN tutorial), no per-image Python.

A spec is a short string so that it is a plain scikit-learn parameter: ``"shift=2,rotate=10,shear=0.1,zoom=0.1"``
(pixels, degrees, shear factor, zoom fraction), the flag ``flip`` for random horizontal flips, ``erase=P``:
with probability P an image gets one random rectangle (2-33% of its area, aspect 0.3-3.3) of random pixels
(random erasing, see docs/references.md), and ``brightness=B``: every pixel of an image raised by the same random
amount, 0 to B of the full scale, clipped at white (the paper grey of a scan, MNIST-C's brightness corruption).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mnistlab.errors import ParameterError

_FIELDS = {"shift", "rotate", "shear", "zoom", "erase", "brightness"}
_EXAMPLE = "shift=2,rotate=10,shear=0.1,zoom=0.1,flip"


def _number(spec: str, key: str, value: str) -> float:
    """The number after ``key=`` in ``spec``; NaN and infinity are refused (they would warp every image into
    NaN pixels, silently)."""
    try:
        number = float(value)
    except ValueError:
        raise ParameterError(
            "augment", spec, f"a number for {key}", hint=f"{value!r} is not a number"
        ) from None
    if not math.isfinite(number):
        raise ParameterError("augment", spec, f"a finite number for {key}", hint=f"{value!r} is not finite")
    return number


@dataclass(frozen=True)
class Augmentation:
    shift: float = 0.0
    rotate: float = 0.0
    shear: float = 0.0
    zoom: float = 0.0
    flip: bool = False
    erase: float = 0.0
    brightness: float = 0.0

    @classmethod
    def parse(cls, spec: str | None) -> Augmentation | None:
        """``"shift=2,rotate=10,flip"`` -> Augmentation; ``None``/``""``/``"none"`` -> None.

        Examples
        --------
        >>> Augmentation.parse("shift=2,flip")
        Augmentation(shift=2.0, rotate=0.0, shear=0.0, zoom=0.0, flip=True, erase=0.0, brightness=0.0)
        """
        if spec is None or (isinstance(spec, str) and spec.strip().lower() in {"", "none"}):
            return None
        if not isinstance(spec, str):
            raise ParameterError("augment", spec, f"a string such as {_EXAMPLE!r}, or None")
        values: dict[str, float | bool] = {}
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            key, _, value = part.partition("=")
            key = key.strip().lower()
            if key == "flip" and not value:
                values["flip"] = True
            elif key in _FIELDS and value:
                values[key] = _number(spec, key, value)
            else:
                raise ParameterError(
                    "augment", spec, f"parts such as {_EXAMPLE!r}", hint=f"cannot read {part!r}"
                )
        for key, what in (("erase", "a probability"), ("brightness", "a share of the scale")):
            if not 0 <= values.get(key, 0.0) <= 1:
                raise ParameterError(
                    "augment", spec, f"{key} from 0 to 1", hint=f"{key}={values[key]} is {what}"
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
        x = F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="zeros", align_corners=False)
        x = self._erase(x, generator) if self.erase else x
        if self.brightness:
            lift = torch.rand(n, generator=generator) * self.brightness * 255
            x = (x + lift.view(n, 1, 1, 1).to(x.device, x.dtype)).clamp(max=255)
        return x

    def _erase(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One random rectangle of random pixels (0..255) per chosen image, as masks: no per-image loop."""
        n, _, h, w = x.shape

        def rand() -> torch.Tensor:
            return torch.rand(n, generator=generator)

        area = (0.02 + rand() * 0.31) * h * w
        aspect = torch.exp(math.log(0.3) + rand() * (math.log(3.3) - math.log(0.3)))
        eh = (area * aspect).sqrt().clamp(1, h).floor()
        ew = (area / aspect).sqrt().clamp(1, w).floor()
        top, left = (rand() * (h - eh + 1)).floor(), (rand() * (w - ew + 1)).floor()
        chosen = rand() < self.erase
        rows, cols = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
        inside = (
            (rows >= top.view(n, 1, 1))
            & (rows < (top + eh).view(n, 1, 1))
            & (cols >= left.view(n, 1, 1))
            & (cols < (left + ew).view(n, 1, 1))
            & chosen.view(n, 1, 1)
        )
        noise = torch.rand(x.shape, generator=generator) * 255
        return torch.where(inside.unsqueeze(1).to(x.device), noise.to(x.device, x.dtype), x)
