"""Two-dimensional maps of feature vectors: PCA (linear, instant) or t-SNE (scikit-learn's, Barnes-Hut)."""

from __future__ import annotations

import numpy as np

from mnistlab.errors import ParameterError
from mnistlab.params import integer, one_of, validates

MAP_METHODS = ("pca", "tsne")


@validates(None, method=one_of(*MAP_METHODS), seed=integer(low=0))
def embed(features: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(N, 2) coordinates of the rows of ``features``.

    Examples
    --------
    >>> embed(np.random.default_rng(0).normal(size=(50, 8))).shape
    (50, 2)
    """
    features = np.asarray(features, np.float32)
    if len(features) < 5:
        raise ParameterError(f"a map needs at least 5 images, got {len(features)}")
    from sklearn.decomposition import PCA

    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(features)
    from sklearn.manifold import TSNE

    start = PCA(n_components=min(50, features.shape[1], len(features)), random_state=seed).fit_transform(
        features
    )
    perplexity = min(30.0, (len(features) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(start)
