"""The one look of mnistlab figures, applied as a context (never to the whole process), the base of every
Display, and the atomic way figures are saved.

Nothing here touches pyplot or the matplotlib backend: figures are plain ``matplotlib.figure.Figure`` objects,
so drawing works headless and leaves no open figures behind in a long-running process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mnistlab.errors import ParameterError
from mnistlab.fileio import atomic_write

RIGHT, WRONG, NEUTRAL = "tab:blue", "tab:red", "0.55"
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "image.cmap": "binary",
    "text.parse_math": False,  # class names are plain text: "$5 bill" is not TeX (and "$" must not crash)
}


@contextlib.contextmanager
def house_style() -> Iterator[None]:
    """mnistlab's style for the figures drawn (and saved) inside the block; the caller's settings are restored."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def new_figure(width: float, height: float):
    """A figure not registered with pyplot's global state, so library calls never leak open figures."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig, path: str | Path) -> Path:
    """Write a figure as PNG atomically (a half-written file never replaces a good one)."""
    path = Path(path)
    with house_style(), atomic_write(path) as tmp:
        fig.savefig(tmp, format="png")
    return path


def panel_area(ax, size: tuple[float, float]):
    """Where a display with several panels draws: a new figure of ``size`` inches when ``ax`` is None, else a
    sub-figure taking the place of ``ax`` (which is removed) in the caller's figure."""
    if ax is None:
        fig = new_figure(*size)
        return fig, fig
    spec = ax.get_subplotspec()
    if spec is None:
        raise ParameterError(
            "ax must be a subplot (from Figure.subplots or add_subplot) to hold several panels"
        )
    area = ax.figure.add_subfigure(spec)
    ax.remove()
    return area.figure, area


def single_axes(ax, size: tuple[float, float]):
    """The axes a one-panel display draws on: ``ax``, or the only axes of a new figure of ``size`` inches."""
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(*size)
    return fig, fig.subplots()


def show_image(ax, image: np.ndarray) -> None:
    """A 28x28 image on the 0..255 scale, ink dark on white, without ticks."""
    ax.imshow(image, cmap="binary", vmin=0, vmax=255)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[["left", "bottom"]].set_visible(False)


def image_gallery(area, images, captions: Sequence[str], colour: str, cols: int) -> np.ndarray:
    """Images in rows of ``cols`` on ``area`` (a figure or sub-figure), each captioned in ``colour``; the grid of
    axes (unused cells blank)."""
    rows = max(1, int(np.ceil(len(images) / cols)))
    axes = area.subplots(rows, cols, squeeze=False)
    for panel in axes.ravel():
        panel.axis("off")
    for panel, image, caption in zip(axes.ravel(), images, captions, strict=False):
        show_image(panel, image)
        panel.axis("on")
        panel.set_xlabel(caption, fontsize=7, color=colour)
    return axes


class Display:
    """Base of every figure: the values are held by the object (built by a ``from_...`` constructor), drawn by
    ``plot(ax=None)``, which returns the display with ``figure_`` (and ``ax_`` or ``axes_``) set."""

    figure_: Any = None

    def plot(self, ax=None) -> Display:
        with house_style():
            self._draw(ax)
        return self

    def _draw(self, ax) -> None:
        raise NotImplementedError

    def save(self, path: str | Path) -> Path:
        """Draw (if not drawn yet) and write a PNG atomically."""
        if self.figure_ is None:
            self.plot()
        return save_figure(self.figure_, path)
