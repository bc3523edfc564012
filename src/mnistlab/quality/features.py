"""The feature space the model-free checks share: a 50-component PCA of all images' pixels, computed once per
data set and cached in :class:`~mnistlab.quality.base.CheckedData`."""

from __future__ import annotations

import numpy as np

from mnistlab.quality.base import CheckedData

COMPONENTS = 50


def pixel_features(data: CheckedData, seed: int = 0) -> np.ndarray:
    """(N, up to 50) float32 PCA coordinates of every image of ``data`` (all splits, in their order).

    Examples
    --------
    >>> from mnistlab.datasets import Dataset
    >>> rng = np.random.default_rng(0)
    >>> data = CheckedData({"train": Dataset(rng.integers(0, 255, (80, 28, 28), dtype=np.uint8), np.arange(80) % 2,
    ...                                      ["a", "b"])})
    >>> pixel_features(data).shape
    (80, 50)
    """
    from sklearn.decomposition import PCA

    key = ("pixel_features", seed)
    if key not in data.cache:
        flat = data.images.reshape(len(data), -1).astype(np.float32)
        pca = PCA(n_components=min(COMPONENTS, len(flat) - 1), random_state=seed)
        data.cache[key] = pca.fit_transform(flat).astype(np.float32)
    return data.cache[key]
