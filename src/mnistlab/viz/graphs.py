"""Similarity graphs of images, drawn: nodes coloured by true class (legend with class names), sized by
betweenness, mistakes marked with a black ring; a spring layout seeded for repeatable pictures."""

from __future__ import annotations

import numpy as np

from mnistlab.viz.style import Display, single_axes


class GraphDisplay(Display):
    """The picture of a graph analysis (any object with ``graph``, ``y_true``, ``y_pred``, ``classes``,
    ``source`` and ``betweenness()``, such as :class:`mnistlab.analysis.GraphAnalysis`)."""

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
        title = (f"{summary['source']} / {summary['method']}: {summary['nodes']} images, {summary['edges']} edges, "
                 f"edge purity {summary['edge_purity']:.2f}, {summary['errors']} mistakes (ringed)")  # fmt: skip
        return cls(positions, analysis.graph.edges, analysis.y_true, analysis.y_pred, analysis.betweenness(),
                   analysis.classes, title)  # fmt: skip

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
        self.ax_.scatter(*self.positions[wrong].T, s=sizes[wrong] + 60, facecolors="none", edgecolors="black",
                         linewidths=1.4, zorder=3)  # fmt: skip
        for k in np.unique(self.y_true):
            self.ax_.scatter([], [], c=f"C{k % 10}", s=30, label=self.classes[k])
        self.ax_.scatter([], [], facecolors="none", edgecolors="black", s=60, label="misclassified")
        self.ax_.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        self.ax_.set_title(self.title, fontsize=9)
        self.ax_.set_xticks([])
        self.ax_.set_yticks([])
        self.ax_.spines[["left", "bottom"]].set_visible(False)
        self.ax_.autoscale_view()
