"""Several runs on one chart: their learning curves or per-class recall side by side, and a sweep's
configurations with the range over seeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from mnistlab.viz.style import NEUTRAL, WRONG, Display, single_axes


class RunComparisonDisplay(Display):
    """Several runs on one chart: validation accuracy per epoch overlaid, or per-class recall side by side."""

    def __init__(self, series: dict[str, tuple], kind: str) -> None:
        self.series, self.kind = series, kind

    @classmethod
    def curves(cls, histories: dict[str, list[dict]]) -> RunComparisonDisplay:
        series = {}
        for name, history in histories.items():
            key = "val_accuracy" if history and "val_accuracy" in history[0] else "train_accuracy"
            series[name] = ([row["epoch"] for row in history], [row[key] for row in history])
        return cls(series, "curves")

    @classmethod
    def per_class(cls, recalls: dict[str, dict[str, float]]) -> RunComparisonDisplay:
        return cls({name: (list(r), list(r.values())) for name, r in recalls.items()}, "per_class")

    def _draw(self, ax) -> None:
        self.figure_, self.ax_ = single_axes(ax, (9, 3.6))
        if self.kind == "curves":
            for name, (x, y) in self.series.items():
                self.ax_.plot(x, y, "o-", label=name)
            from matplotlib.ticker import MaxNLocator

            self.ax_.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
            self.ax_.set_xlabel("epoch")
            self.ax_.set_ylabel("validation accuracy")
        else:
            names = list(self.series)
            width = 0.8 / max(len(names), 1)
            for j, name in enumerate(names):
                classes, values = self.series[name]
                x = np.arange(len(classes))
                self.ax_.bar(x + (j - (len(names) - 1) / 2) * width, values, width, label=name)
            self.ax_.set_xticks(np.arange(len(classes)), [c[:10] for c in classes], rotation=30, ha="right")
            self.ax_.set_ylabel("recall")
            self.ax_.set_ylim(0, 1.05)
        self.ax_.legend(frameon=False, fontsize=7)


class SweepDisplay(Display):
    """A sweep's configurations on one data set: mean test accuracy over seeds as bars, the range over seeds as a
    line, and a reference accuracy (a published figure) as a tick where the sweep file gives one.

    Examples
    --------
    >>> rows = [{"model": "knn", "params": "{}", "mean_accuracy": 0.96, "min_accuracy": 0.95,
    ...          "max_accuracy": 0.97, "reference_accuracy": 0.959}]
    >>> SweepDisplay.from_summary(rows).plot().labels
    ['knn']
    """

    def __init__(
        self,
        labels: Sequence[str],
        means: Sequence[float],
        lows: Sequence[float],
        highs: Sequence[float],
        references: Sequence[float | None],
    ) -> None:
        self.labels, self.references = list(labels), list(references)
        self.means, self.lows, self.highs = (np.asarray(v, float) for v in (means, lows, highs))

    @classmethod
    def from_summary(cls, rows: Sequence[Mapping]) -> SweepDisplay:
        """From the rows of a sweep's summary (one data set; rows without a finished trial are left out)."""
        done = [r for r in rows if r.get("mean_accuracy") is not None]
        labels = [r["model"] + ("" if r["params"] in ("{}", "") else " " + r["params"]) for r in done]
        return cls(
            labels,
            [r["mean_accuracy"] for r in done],
            [r["min_accuracy"] for r in done],
            [r["max_accuracy"] for r in done],
            [r.get("reference_accuracy") for r in done],
        )

    def _draw(self, ax) -> None:
        self.figure_, self.ax_ = single_axes(ax, (9, 0.8 + 0.32 * max(len(self.labels), 1)))
        y = np.arange(len(self.labels))[::-1]
        self.ax_.barh(y, self.means, color=NEUTRAL, height=0.6, label="mean over seeds")
        self.ax_.hlines(y, self.lows, self.highs, color="black", linewidth=1.5, label="range over seeds")
        refs = [(yy, r) for yy, r in zip(y, self.references, strict=True) if r is not None]
        if refs:
            self.ax_.plot(
                [r for _, r in refs],
                [yy for yy, _ in refs],
                "|",
                color=WRONG,
                markersize=14,
                markeredgewidth=2,
                label="reference",
            )
        self.ax_.set_yticks(
            y, [label if len(label) < 60 else label[:57] + "..." for label in self.labels], fontsize=7
        )
        values = [*self.lows, *(r for _, r in refs)]
        low = min(values, default=0.0)
        self.ax_.set_xlim(max(0.0, low - 0.05), 1.0)
        self.ax_.set_xlabel("test accuracy")
        self.ax_.legend(frameon=False, fontsize=7, loc="lower right")
