"""Exploratory figures of a data set: sample grids, class balance, class means.

Examples
--------
>>> import numpy as np
>>> from mnistlab.datasets import Dataset
>>> toy = Dataset(np.zeros((6, 28, 28), np.uint8), np.array([0, 1, 0, 1, 0, 1]), ["even", "odd"], "toy")
>>> SampleGridDisplay.from_dataset(toy, per_class=2).plot().axes_.shape
(2, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mnistlab.datasets import Dataset
from mnistlab.params import integer, validates
from mnistlab.viz.style import Display, panel_area, single_axes


class SampleGridDisplay(Display):
    """A grid of images with captions: the first ``n`` images of a split, or ``per_class`` random ones of each
    class (one row per class)."""

    def __init__(self, images: np.ndarray, captions: Sequence[str], cols: int, title: str = "") -> None:
        self.images, self.captions, self.cols, self.title = images, list(captions), cols, title

    @classmethod
    @validates("sample grid", n=integer(low=1, high=400), per_class=integer(low=1, high=50, none=True))
    def from_dataset(
        cls, dataset: Dataset, n: int = 25, per_class: int | None = None, seed: int = 0
    ) -> SampleGridDisplay:
        if per_class is not None and dataset.labels is not None:
            rng = np.random.default_rng(seed)
            members = [np.flatnonzero(dataset.labels == k) for k in range(dataset.n_classes)]
            cols = min(per_class, max(len(m) for m in members))  # one row per class, however few it has
            indices = np.concatenate(
                [rng.choice(m, min(cols, len(m)), replace=False) for m in members if len(m)]
            )
        else:
            indices = np.arange(min(n, len(dataset)))
            cols = max(1, int(np.ceil(np.sqrt(len(indices)))))
        captions = [dataset.classes[dataset.labels[i]] if dataset.labels is not None else "" for i in indices]
        return cls(dataset.images[indices], captions, cols, f"{dataset.name} ({dataset.split})")

    def _draw(self, ax) -> None:
        rows = max(1, int(np.ceil(len(self.images) / self.cols)))
        self.figure_, area = panel_area(ax, (1.4 * self.cols, 1.55 * rows))
        self.axes_ = area.subplots(rows, self.cols, squeeze=False)
        for panel in self.axes_.ravel():
            panel.axis("off")
        for panel, image, caption in zip(self.axes_.ravel(), self.images, self.captions, strict=False):
            panel.imshow(image, cmap="binary", vmin=0, vmax=255)
            panel.set_title(caption, fontsize=8)
        area.suptitle(self.title)


class ClassBalanceDisplay(Display):
    """Images per class, one group of bars per split (a count plot)."""

    def __init__(self, classes: Sequence[str], counts: dict[str, np.ndarray], title: str = "") -> None:
        self.classes, self.counts, self.title = list(classes), counts, title

    @classmethod
    def from_datasets(cls, *splits: Dataset) -> ClassBalanceDisplay:
        counts = {f"{ds.split} ({len(ds)})": ds.class_counts() for ds in splits}
        return cls(splits[0].classes, counts, f"{splits[0].name}: images per class")

    def _draw(self, ax) -> None:
        self.figure_, self.ax_ = single_axes(ax, (max(6.0, 0.7 * len(self.classes)), 3.6))
        width = 0.8 / len(self.counts)
        x = np.arange(len(self.classes))
        for j, (label, counts) in enumerate(self.counts.items()):
            bars = self.ax_.bar(x + (j - (len(self.counts) - 1) / 2) * width, counts, width, label=label)
            self.ax_.bar_label(bars, fontsize=7, padding=1)
        long_names = max(map(len, self.classes)) > 3
        self.ax_.set_xticks(
            x, self.classes, rotation=30 if long_names else 0, ha="right" if long_names else "center"
        )
        self.ax_.set_ylabel("images")
        self.ax_.set_ylim(0, 1.22 * max(c.max() for c in self.counts.values()))
        self.ax_.set_title(self.title)
        self.ax_.legend(frameon=False, loc="upper center", ncols=len(self.counts))


class ClassMeansDisplay(Display):
    """The mean image of each class: what an 'average' member looks like."""

    def __init__(self, means: np.ndarray, classes: Sequence[str], title: str = "") -> None:
        self.means, self.classes, self.title = means, list(classes), title

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> ClassMeansDisplay:
        means = np.zeros((dataset.n_classes, 28, 28))
        for k in range(dataset.n_classes):  # one vectorised mean per class
            members = dataset.images[dataset.labels == k]
            if len(members):
                means[k] = members.mean(axis=0)
        return cls(means, dataset.classes, f"{dataset.name} ({dataset.split}): mean image per class")

    def _draw(self, ax) -> None:
        self.figure_, area = panel_area(ax, (1.4 * len(self.classes), 1.7))
        self.axes_ = area.subplots(1, len(self.classes), squeeze=False)
        for k, panel in enumerate(self.axes_[0]):
            panel.imshow(self.means[k], cmap="binary")
            panel.set_title(self.classes[k], fontsize=8)
            panel.axis("off")
        area.suptitle(self.title)


def write_eda(splits: Sequence[Dataset], out_dir: str | Path) -> list[Path]:
    """Write the exploratory figures of a data set's splits (the first drawn in detail) into ``out_dir``."""
    out_dir = Path(out_dir)
    first = splits[0]
    displays: dict[str, Display] = {"samples_first25.png": SampleGridDisplay.from_dataset(first, n=25)}
    if first.labels is not None:
        displays["class_distribution.png"] = ClassBalanceDisplay.from_datasets(
            *[s for s in splits if s.labels is not None]
        )
        displays["samples_per_class.png"] = SampleGridDisplay.from_dataset(first, per_class=4)
        displays["class_means.png"] = ClassMeansDisplay.from_dataset(first)
    return [display.save(out_dir / name) for name, display in displays.items()]


__all__ = ["ClassBalanceDisplay", "ClassMeansDisplay", "SampleGridDisplay", "write_eda"]
