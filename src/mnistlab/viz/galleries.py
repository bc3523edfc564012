"""Images in rows with captions: any chosen images (flagged ones in red), and a denoiser's noisy input, output
and clean original."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mnistlab.viz.style import WRONG, Display, image_gallery, panel_area, show_image


class DenoiseDisplay(Display):
    """Rows of noisy input, model output and the clean original (multi-output denoising)."""

    def __init__(self, noisy, denoised, clean, n: int = 8) -> None:
        self.noisy, self.denoised, self.clean, self.n = noisy, denoised, clean, min(n, len(clean))

    def _draw(self, ax) -> None:
        self.figure_, area = panel_area(ax, (1.3 * self.n + 1.2, 4.3))
        self.axes_ = area.subplots(3, self.n, squeeze=False)
        for row, (name, images) in enumerate(
            (("noisy", self.noisy), ("denoised", self.denoised), ("clean", self.clean))
        ):
            for c in range(self.n):
                show_image(self.axes_[row, c], images[c])
            self.axes_[row, 0].set_ylabel(name, rotation=0, ha="right", va="center")
        area.suptitle("denoising: noisy in, clean out")


class ImageGalleryDisplay(Display):
    """Images in rows of ``cols`` with a caption under each (red captions where ``flagged``)."""

    def __init__(
        self,
        images,
        captions: Sequence[str],
        flagged: Sequence[bool] | None = None,
        cols: int = 8,
        title: str = "",
    ) -> None:
        self.images, self.captions, self.cols, self.title = images, list(captions), cols, title
        self.flagged = list(flagged) if flagged is not None else [False] * len(self.captions)

    def _draw(self, ax) -> None:
        rows = max(1, int(np.ceil(len(self.captions) / self.cols)))
        self.figure_, area = panel_area(ax, (1.5 * self.cols, 1.75 * rows + 0.3))
        self.axes_ = image_gallery(area, self.images, self.captions, "black", self.cols)
        for panel, flag in zip(self.axes_.ravel(), self.flagged, strict=False):
            panel.xaxis.label.set_color(WRONG if flag else "black")
        if self.title:
            area.suptitle(self.title)
