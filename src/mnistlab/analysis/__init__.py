"""Deprecated: this package moved to :mod:`mnistlab.representations` (what a network learned: features of a layer,
similarity graphs, mistake detectors, 2-D maps). ``from mnistlab.analysis import similarity_graph`` keeps working,
with a warning once per process; it will be removed."""

from mnistlab.errors import warn_deprecated
from mnistlab.representations import (  # noqa: F401
    MAP_METHODS,
    METHODS,
    GraphAnalysis,
    SimilarityGraph,
    deep_knn,
    default_sources,
    detection_metrics,
    embed,
    features,
    layers,
    max_softmax,
    similarity_graph,
    trust_score,
)

warn_deprecated("mnistlab.analysis", "import the same names from mnistlab.representations")
