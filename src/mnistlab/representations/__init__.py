"""What a network learned: feature vectors from any layer, similarity graphs of images, and how well graph
centrality (against standard baselines) flags the model's mistakes.

Examples
--------
>>> from mnistlab.representations import layers, features, similarity_graph, GraphAnalysis  # doctest: +SKIP
"""

from mnistlab.representations.baselines import deep_knn, max_softmax, trust_score
from mnistlab.representations.features import default_sources, features, layers
from mnistlab.representations.graphs import (
    METHODS,
    GraphAnalysis,
    SimilarityGraph,
    detection_metrics,
    similarity_graph,
)
from mnistlab.representations.maps import MAP_METHODS, embed

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
