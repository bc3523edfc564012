"""Exploratory figures of a data set: sample grids (seeds 000, 004), class balance (seed 004), class means."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mnistlab.datasets import Dataset
from mnistlab.viz.style import new_figure, save_figure


def sample_grid(dataset: Dataset, n: int = 25, per_class: int | None = None, seed: int = 0) -> Figure:
    """The first ``n`` images with their class names (seed 000), or ``per_class`` random images of each class.

    >>> fig = sample_grid(datasets.load("mnist"), per_class=4)  # doctest: +SKIP
    """
    if per_class is not None:
        rng = np.random.default_rng(seed)
        indices = np.concatenate(
            [
                rng.choice(np.flatnonzero(dataset.labels == k), per_class, replace=False)
                for k in range(dataset.n_classes)
                if np.any(dataset.labels == k)
            ]
        )
        cols = per_class
    else:
        indices = np.arange(min(n, len(dataset)))
        cols = int(np.ceil(np.sqrt(len(indices))))
    rows = int(np.ceil(len(indices) / cols))
    fig = new_figure(1.4 * cols, 1.55 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), indices, strict=False):
        ax.imshow(dataset.images[i], cmap="binary", vmin=0, vmax=255)
        if dataset.labels is not None:
            ax.set_title(dataset.classes[dataset.labels[i]], fontsize=8)
    fig.suptitle(f"{dataset.name} ({dataset.split})")
    return fig


def class_distribution(*splits: Dataset) -> Figure:
    """Images per class, one group of bars per split (seed 004's count plot)."""
    classes = splits[0].classes
    fig = new_figure(max(6.0, 0.7 * len(classes)), 3.6)
    ax = fig.subplots()
    width = 0.8 / len(splits)
    x = np.arange(len(classes))
    for j, ds in enumerate(splits):
        counts = ds.class_counts()
        bars = ax.bar(x + (j - (len(splits) - 1) / 2) * width, counts, width, label=f"{ds.split} ({len(ds)})")
        ax.bar_label(bars, fontsize=7, padding=1)
    ax.set_xticks(x, classes, rotation=30 if max(map(len, classes)) > 3 else 0, ha="right")
    ax.set_ylabel("images")
    ax.set_ylim(0, 1.22 * max(ds.class_counts().max() for ds in splits))
    ax.set_title(f"{splits[0].name}: images per class")
    ax.legend(frameon=False, loc="upper center", ncols=len(splits))
    return fig


def class_means(dataset: Dataset) -> Figure:
    """The mean image of each class: what an 'average' member looks like."""
    fig = new_figure(1.4 * dataset.n_classes, 1.7)
    axes = fig.subplots(1, dataset.n_classes, squeeze=False)[0]
    for k, ax in enumerate(axes):
        members = dataset.images[dataset.labels == k]
        ax.imshow(members.mean(axis=0) if len(members) else np.zeros((28, 28)), cmap="binary")
        ax.set_title(dataset.classes[k], fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{dataset.name} ({dataset.split}): mean image per class")
    return fig


def write_eda(train: Dataset, test: Dataset, out_dir: str | Path) -> list[Path]:
    """Write the EDA figures of one data set into ``out_dir``; returns the files written."""
    out_dir = Path(out_dir)
    figures = {
        "class_distribution.png": class_distribution(train, test),
        "samples_first25.png": sample_grid(train, n=25),
        "samples_per_class.png": sample_grid(train, per_class=4),
        "class_means.png": class_means(train),
    }
    return [save_figure(fig, out_dir / name) for name, fig in figures.items()]
