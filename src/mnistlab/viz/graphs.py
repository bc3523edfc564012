"""Similarity graphs of images, drawn: nodes coloured by true class (legend with class names), sized by
betweenness, mistakes marked with a black ring; a spring layout seeded for repeatable pictures."""

from __future__ import annotations

import numpy as np

from mnistlab.viz.style import RIGHT, WRONG, Display, image_gallery, panel_area, single_axes


class GraphDisplay(Display):
    """The picture of a graph analysis (any object with ``graph``, ``y_true``, ``y_pred``, ``classes``,
    ``source`` and ``betweenness()``, such as :class:`mnistlab.representations.GraphAnalysis`)."""

    def __init__(
        self, positions: np.ndarray, edges: np.ndarray, y_true, y_pred, betweenness, classes, title: str
    ) -> None:
        self.positions, self.edges = positions, edges
        self.y_true, self.y_pred = np.asarray(y_true), np.asarray(y_pred)
        self.betweenness, self.classes, self.title = np.asarray(betweenness), list(classes), title

    @classmethod
    def from_analysis(cls, analysis, seed: int = 0) -> GraphDisplay:
        import rustworkx as rx

        layout = rx.spring_layout(analysis._rx, seed=seed, num_iter=100)
        positions = np.array([layout[i] for i in range(analysis.graph.n)])
        summary = analysis.summary()
        title = (
            f"{summary['source']} / {summary['method']}\n{summary['nodes']} images, {summary['edges']} edges, "
            f"edge purity {summary['edge_purity']:.2f}, {summary['errors']} mistakes (ringed)"
        )
        return cls(
            positions,
            analysis.graph.edges,
            analysis.y_true,
            analysis.y_pred,
            analysis.betweenness(),
            analysis.classes,
            title,
        )

    def _draw(self, ax) -> None:
        from matplotlib.collections import LineCollection

        self.figure_, self.ax_ = single_axes(ax, (8.5, 7))
        if len(self.edges):
            segments = self.positions[self.edges]
            self.ax_.add_collection(LineCollection(segments, colors="0.75", linewidths=0.5, zorder=1))
        sizes = 18 + 400 * self.betweenness / max(float(self.betweenness.max()), 1e-12)
        colours = [f"C{k % 10}" for k in self.y_true]
        self.ax_.scatter(*self.positions.T, s=sizes, c=colours, zorder=2, edgecolors="white", linewidths=0.5)
        wrong = self.y_true != self.y_pred
        self.ax_.scatter(
            *self.positions[wrong].T,
            s=sizes[wrong] + 60,
            facecolors="none",
            edgecolors="black",
            linewidths=1.4,
            zorder=3,
        )
        for k in np.unique(self.y_true):
            self.ax_.scatter([], [], c=f"C{k % 10}", s=30, label=self.classes[k])
        self.ax_.scatter([], [], facecolors="none", edgecolors="black", s=60, label="misclassified")
        self.ax_.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        self.ax_.set_title(self.title, fontsize=9)
        self.ax_.set_xticks([])
        self.ax_.set_yticks([])
        self.ax_.spines[["left", "bottom"]].set_visible(False)
        self.ax_.autoscale_view()


class FeatureMapDisplay(Display):
    """A 2-D map of a layer's features: one dot per image coloured by true class, mistakes as black crosses."""

    def __init__(self, coordinates: np.ndarray, y_true, y_pred, classes, title: str = "") -> None:
        self.coordinates, self.y_true, self.y_pred = (
            np.asarray(coordinates),
            np.asarray(y_true),
            np.asarray(y_pred),
        )
        self.classes, self.title = list(classes), title

    def _draw(self, ax) -> None:
        self.figure_, self.ax_ = single_axes(ax, (8.5, 7))
        size = 4 if len(self.coordinates) > 3000 else 12
        for k in np.unique(self.y_true):
            here = self.y_true == k
            self.ax_.scatter(
                *self.coordinates[here].T,
                s=size,
                c=f"C{k % 10}",
                label=self.classes[k],
                alpha=0.7,
                linewidths=0,
            )
        wrong = self.y_true != self.y_pred
        self.ax_.scatter(
            *self.coordinates[wrong].T,
            s=size * 3,
            marker="x",
            c="black",
            linewidths=0.8,
            label=f"misclassified ({int(wrong.sum())})",
        )
        self.ax_.legend(
            frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=2
        )
        self.ax_.set_title(self.title, fontsize=9)
        self.ax_.set_xticks([])
        self.ax_.set_yticks([])


class CentralImagesDisplay(Display):
    """The most central images of a graph (highest betweenness) with "true / predicted" captions, mistakes red."""

    def __init__(self, images, y_true, y_pred, classes, scores, count: int = 16, title: str = "") -> None:
        order = np.argsort(-np.asarray(scores), kind="stable")[:count]
        self.images, self.order, self.title = images, order, title
        self.y_true, self.y_pred, self.classes = np.asarray(y_true), np.asarray(y_pred), list(classes)

    def _draw(self, ax) -> None:
        from mnistlab.viz.style import panel_area

        cols = 8
        rows = max(1, int(np.ceil(len(self.order) / cols)))
        self.figure_, area = panel_area(ax, (1.5 * cols, 1.75 * rows + 0.3))
        captions = [
            f"{self.classes[self.y_true[i]][:9]} / {self.classes[self.y_pred[i]][:9]}" for i in self.order
        ]
        self.axes_ = image_gallery(area, self.images[self.order], captions, "black", cols)
        for panel, i in zip(self.axes_.ravel(), self.order, strict=False):
            panel.xaxis.label.set_color(WRONG if self.y_true[i] != self.y_pred[i] else RIGHT)
        area.suptitle(self.title or "most central images: true / predicted")


class GraphPanelDisplay(Display):
    """Several similarity graphs side by side: one row per feature source, one column per graph method (the
    similarity-graph tutorial's comparison), each drawn as a :class:`GraphDisplay`; one legend, on the first.

    Examples
    --------
    >>> GraphPanelDisplay.from_analyses({("logits", "knn"): analysis}).plot()  # doctest: +SKIP
    """

    def __init__(self, graphs: dict[tuple[str, str], GraphDisplay]) -> None:
        self.graphs = graphs
        self.sources = list(dict.fromkeys(source for source, _ in graphs))
        self.methods = list(dict.fromkeys(method for _, method in graphs))

    @classmethod
    def from_analyses(cls, analyses: dict[tuple[str, str], object], seed: int = 0) -> GraphPanelDisplay:
        """From ``{(source, method): graph analysis}``."""
        return cls({key: GraphDisplay.from_analysis(a, seed) for key, a in analyses.items()})

    def _draw(self, ax) -> None:
        size = (5.2 * len(self.methods), 4.6 * len(self.sources))
        self.figure_, area = panel_area(ax, size)
        self.axes_ = area.subplots(len(self.sources), len(self.methods), squeeze=False)
        for r, source in enumerate(self.sources):
            for c, method in enumerate(self.methods):
                panel = self.axes_[r, c]
                if (source, method) not in self.graphs:
                    panel.axis("off")
                    continue
                self.graphs[(source, method)].plot(ax=panel)
                if r or c:
                    panel.get_legend().remove()
