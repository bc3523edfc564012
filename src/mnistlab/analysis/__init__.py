"""What a network learned: feature vectors from any layer, similarity graphs of images, and how well graph
centrality (against standard baselines) flags the model's mistakes.

Examples
--------
>>> from mnistlab.analysis import layers, features, similarity_graph, GraphAnalysis  # doctest: +SKIP
"""

from mnistlab.analysis.baselines import deep_knn, max_softmax, trust_score
from mnistlab.analysis.features import default_sources, features, layers
from mnistlab.analysis.graphs import (
    METHODS,
    GraphAnalysis,
    SimilarityGraph,
    detection_metrics,
    similarity_graph,
)
from mnistlab.analysis.maps import MAP_METHODS, embed

__all__ = [
    "MAP_METHODS",
    "METHODS",
    "GraphAnalysis",
    "SimilarityGraph",
    "deep_knn",
    "default_sources",
    "detection_metrics",
    "embed",
    "features",
    "layers",
    "max_softmax",
    "similarity_graph",
    "trust_score",
]
