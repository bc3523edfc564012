"""Similarity graphs of images from their feature vectors, and what a graph says about a model's mistakes.

Three ways to join images (the Fashion-MNIST graph tutorial's): Pearson **correlation** of feature vectors (an
edge above a threshold, or each image's ``k`` most correlated), a **lasso** "score function" (each image's
standardised vector regressed on all the others with an L1 penalty; non-zero coefficients are neighbours:
Meinshausen-Buhlmann neighbourhood selection, joined by the OR or AND rule), and **knn** (Euclidean ``k``
nearest neighbours, union or mutual). Centralities come from rustworkx (exact betweenness).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = np.concatenate([rng.normal(0, 1, (10, 5)), rng.normal(20, 1, (10, 5))])  # two far-apart clusters
>>> g = similarity_graph(X, "knn", k=3)
>>> bool(np.all((g.edges[:, 0] < 10) == (g.edges[:, 1] < 10)))  # every edge stays inside its cluster
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from mnistlab.errors import MnistlabError, ParameterError
from mnistlab.params import one_of, validates

METHODS = ("correlation", "lasso", "knn")
MAX_DENSE_NODES = 5000  # correlation and lasso hold an n x n matrix: 5000 images = 200 MB
DEFAULT_LASSO_ALPHA = (
    0.05  # on z-scored vectors; recovers planted neighbours in the tests (chosen without test data)
)


@dataclass(frozen=True)
class SimilarityGraph:
    """An undirected graph over ``n`` images: ``edges`` (E, 2) with i < j; ``in_degree`` for kNN graphs, where
    every node has out-degree k and only in-degree tells hubs apart."""

    n: int
    edges: np.ndarray
    method: str
    in_degree: np.ndarray | None = None


@validates(None, method=one_of(*METHODS), rule=one_of("or", "and"))
def similarity_graph(
    features: np.ndarray,
    method: str = "knn",
    k: int = 10,
    threshold: float | None = None,
    alpha: float = DEFAULT_LASSO_ALPHA,
    rule: str = "or",
    mutual: bool = False,
) -> SimilarityGraph:
    """The similarity graph of feature vectors, one node per image.

    Parameters
    ----------
    features : ndarray of shape (N, D)
        One feature vector per image (:func:`mnistlab.representations.features`).
    method : {"correlation", "lasso", "knn"}
        ``correlation``: Pearson correlation, each image joined to its ``k`` most correlated (or to every
        image above ``threshold``); ``lasso``: each image's z-scored vector regressed on all the others with
        an L1 penalty ``alpha``, non-zero coefficients are edges; ``knn``: each image's ``k`` nearest in
        Euclidean distance.
    k : int
        Neighbours per image (correlation and knn).
    threshold : float, optional
        Correlation above which two images are joined, instead of ``k``.
    alpha : float
        The lasso's L1 penalty (0.05, fixed in advance on synthetic data).
    rule : {"or", "and"}
        A lasso edge when either (or both) images select each other.
    mutual : bool
        kNN: keep only pairs that are each other's neighbours.

    Returns
    -------
    SimilarityGraph
        ``n`` nodes, ``edges`` (E, 2) without repeats, the ``method``, and the in-degree of a kNN graph.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> points = np.vstack([rng.normal(0, 0.1, (5, 3)), rng.normal(5, 0.1, (5, 3))])
    >>> graph = similarity_graph(points, "knn", k=2)
    >>> graph.n, bool(((graph.edges < 5).sum(1) != 1).all())  # no edge between the two clusters
    (10, True)
    """
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) < 3:
        raise ParameterError(f"features must be (N, D) with N >= 3, got shape {features.shape}")
    if method != "lasso" and not 1 <= k < len(features):
        raise ParameterError("k", k, f"1..{len(features) - 1}")
    if method != "knn" and len(features) > MAX_DENSE_NODES:
        raise ParameterError(
            f"{method} graphs hold an n x n matrix: at most {MAX_DENSE_NODES} images (got "
            f"{len(features)}); use a sample (`n`) or method='knn'"
        )
    if method == "correlation":
        return _correlation_graph(features, k, threshold)
    if method == "lasso":
        return _lasso_graph(features, alpha, rule)
    return _knn_graph(features, k, mutual)


def _undirected(pairs: np.ndarray, n: int, method: str, in_degree=None) -> SimilarityGraph:
    pairs = np.sort(pairs.reshape(-1, 2), axis=1)
    pairs = np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)
    return SimilarityGraph(n, pairs.astype(np.int64), method, in_degree)


def _correlation_graph(features: np.ndarray, k: int, threshold: float | None) -> SimilarityGraph:
    centred = features - features.mean(1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    unit = np.divide(
        centred, norms, out=np.zeros_like(centred), where=norms > 0
    )  # a flat vector correlates with none
    corr = unit @ unit.T
    np.fill_diagonal(corr, -np.inf)
    n = len(features)
    if threshold is not None:
        rows, cols = np.nonzero(np.triu(corr > threshold, 1))
        return _undirected(np.column_stack([rows, cols]), n, "correlation")
    top = np.argpartition(-corr, k - 1, axis=1)[:, :k]
    return _undirected(np.column_stack([np.repeat(np.arange(n), k), top.ravel()]), n, "correlation")


def _lasso_graph(features: np.ndarray, alpha: float, rule: str) -> SimilarityGraph:
    from sklearn.linear_model import Lasso

    std = features.std(1, keepdims=True)
    z = np.divide(features - features.mean(1, keepdims=True), std, out=np.zeros_like(features), where=std > 0)
    n = len(z)
    selected = np.zeros((n, n), bool)
    model = Lasso(alpha=alpha, fit_intercept=False, max_iter=2000)
    for i in range(n):  # one regression per image is the method itself (no per-sample work inside it)
        others = np.delete(np.arange(n), i)
        coef = model.fit(z[others].T, z[i]).coef_
        selected[i, others[coef != 0]] = True
    joined = (selected | selected.T) if rule == "or" else (selected & selected.T)
    rows, cols = np.nonzero(np.triu(joined, 1))
    if len(rows) == 0:
        raise MnistlabError(
            f"the lasso selected no neighbour for any image at alpha={alpha}; try a smaller alpha"
        )
    return _undirected(np.column_stack([rows, cols]), n, "lasso")


def _knn_graph(features: np.ndarray, k: int, mutual: bool) -> SimilarityGraph:
    from sklearn.neighbors import NearestNeighbors

    n = len(features)
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(return_distance=False)[:, :k]
    in_degree = np.bincount(neighbours.ravel(), minlength=n)
    pairs = np.column_stack([np.repeat(np.arange(n), k), neighbours.ravel()])
    if mutual:
        directed = {(int(a), int(b)) for a, b in pairs}
        pairs = np.array([p for p in pairs if (int(p[1]), int(p[0])) in directed]).reshape(-1, 2)
    return _undirected(pairs, n, "knn", in_degree)


@dataclass
class GraphAnalysis:
    """One graph of images and what it says: per-node degree, betweenness and neighbourhood purity, per-graph
    edge purity and components, and how well centrality flags the model's mistakes (fastai's interpretation
    objects are the model: the data is held once, the numbers and pictures are methods)."""

    graph: SimilarityGraph
    y_true: np.ndarray
    y_pred: np.ndarray
    classes: list[str]
    source: str = ""
    indices: np.ndarray | None = None  # positions of the nodes in the split they came from
    extra_scores: dict[str, np.ndarray] = field(default_factory=dict)  # baselines, higher = more likely wrong

    @classmethod
    def from_features(
        cls, features, y_true, y_pred, classes, method: str = "knn", source: str = "", **kwargs
    ):
        graph = similarity_graph(features, method, **kwargs)
        return cls(graph, np.asarray(y_true), np.asarray(y_pred), list(classes), source)

    @cached_property
    def _rx(self):
        import rustworkx as rx

        g = rx.PyGraph(multigraph=False)
        g.add_nodes_from(range(self.graph.n))
        g.add_edges_from_no_data([tuple(map(int, e)) for e in self.graph.edges])
        return g

    @property
    def wrong(self) -> np.ndarray:
        return self.y_true != self.y_pred

    def degree(self) -> np.ndarray:
        """Edges per node; on a kNN graph the in-degree (every node has out-degree k)."""
        if self.graph.in_degree is not None:
            return self.graph.in_degree.astype(float)
        return np.bincount(self.graph.edges.ravel(), minlength=self.graph.n).astype(float)

    @cached_property
    def _betweenness(self) -> np.ndarray:
        import rustworkx as rx

        values = rx.betweenness_centrality(self._rx, normalized=True)
        return np.array([values[i] for i in range(self.graph.n)])

    def betweenness(self) -> np.ndarray:
        """Exact betweenness centrality (normalised), by rustworkx."""
        return self._betweenness

    def same_class_share(self) -> np.ndarray:
        """Per node, the share of its neighbours with the same true class (NaN for an isolated node)."""
        a, b = self.graph.edges.T
        same = (self.y_true[a] == self.y_true[b]).astype(float)
        hits = np.bincount(a, same, self.graph.n) + np.bincount(b, same, self.graph.n)
        total = np.bincount(a, minlength=self.graph.n) + np.bincount(b, minlength=self.graph.n)
        return np.divide(hits, total, out=np.full(self.graph.n, np.nan), where=total > 0)

    def nodes(self) -> dict[str, np.ndarray]:
        """The per-node table (what ``nodes.csv`` holds)."""
        index = self.indices if self.indices is not None else np.arange(self.graph.n)
        return {
            "index": index,
            "true": np.array(self.classes)[self.y_true],
            "predicted": np.array(self.classes)[self.y_pred],
            "correct": ~self.wrong,
            "degree": self.degree(),
            "betweenness": self.betweenness(),
            "same_class_share": self.same_class_share(),
        }

    def summary(self) -> dict:
        import rustworkx as rx

        a, b = self.graph.edges.T
        return {
            "source": self.source,
            "method": self.graph.method,
            "nodes": self.graph.n,
            "edges": len(self.graph.edges),
            "edge_purity": float(np.mean(self.y_true[a] == self.y_true[b])) if len(a) else float("nan"),
            "components": rx.number_connected_components(self._rx),
            "errors": int(self.wrong.sum()),
        }

    def error_detection(self, top: float = 0.1) -> dict[str, dict]:
        """How well each score flags misclassified images: ROC AUC, average precision, and the error rate among
        the ``top`` share of highest-scoring images (against the overall error rate)."""
        scores = {"degree": self.degree(), "betweenness": self.betweenness(), **self.extra_scores}
        return {name: detection_metrics(values, self.wrong, top) for name, values in scores.items()}


def detection_metrics(scores: np.ndarray, wrong: np.ndarray, top: float = 0.1) -> dict:
    """ROC AUC / average precision of ``scores`` as detectors of ``wrong``, and the error rate of the top share.

    Examples
    --------
    >>> detection_metrics(np.array([0.0, 1.0, 0.0, 1.0]), np.array([False, True, False, True]))["roc_auc"]
    1.0
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    wrong = np.asarray(wrong, bool)
    n_top = max(1, round(top * len(scores)))
    chosen = np.argsort(-np.asarray(scores), kind="stable")[:n_top]
    both = 0 < wrong.sum() < len(wrong)
    return {
        "roc_auc": float(roc_auc_score(wrong, scores)) if both else float("nan"),
        "average_precision": float(average_precision_score(wrong, scores)) if both else float("nan"),
        f"error_rate_top{int(top * 100)}": float(wrong[chosen].mean()),
        "error_rate": float(wrong.mean()),
    }
