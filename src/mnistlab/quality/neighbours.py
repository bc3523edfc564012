"""The exact nearest neighbour of every point among the others, for the near-duplicate check (twice over all
images of a data set).

Why not scikit-learn's ``NearestNeighbors``: in the 50-dimensional PCA space of the checks its trees lose to brute
force, and its brute force writes each block of distances out in full (a 70,000 x 70,000 search moves tens of
gigabytes through memory). Here the distances are computed in tiles small enough to stay in the processor's
cache and each tile is reduced to its row minima at once: on MNIST's 70,000 images one search took 6.1 s against
scikit-learn's 10.4 s on an idle 2-core AMD EPYC, with the same neighbours (distance ties aside;
``benchmarks/quality_benchmarks.py``, ``bench_nearest_neighbour``). For several neighbours per point the tiled
top-k was slower than scikit-learn here, so the checks that need them keep ``NearestNeighbors``.
"""

from __future__ import annotations

import numpy as np

# A tile of QUERY_BLOCK x BASE_BLOCK float32 distances is 4 MiB: it stays in cache while it is reduced.
QUERY_BLOCK = 512
BASE_BLOCK = 2048


def nearest_neighbour(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each point's nearest other point (Euclidean, exact): ``(distance, index)``, both of length N.

    Examples
    --------
    >>> points = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [0.0, 3.0]])
    >>> distance, index = nearest_neighbour(points)
    >>> index.tolist(), [round(float(d), 3) for d in distance]
    ([1, 0, 3, 1], [1.0, 1.0, 5.385, 2.0])
    """
    import torch

    n = len(points)
    if n < 2:
        raise ValueError(f"the nearest other point needs at least 2 points, got {n}")
    x = torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))
    squared = (x * x).sum(1)
    base = x.T.contiguous()
    distance = torch.empty(n)
    index = torch.empty(n, dtype=torch.long)
    tile = torch.empty(QUERY_BLOCK, BASE_BLOCK)
    with torch.no_grad():
        for start in range(0, n, QUERY_BLOCK):
            query = x[start : start + QUERY_BLOCK]
            rows = torch.arange(len(query))
            best = torch.full((len(query),), float("inf"))
            best_index = torch.zeros(len(query), dtype=torch.long)
            for first in range(0, n, BASE_BLOCK):
                block = tile[: len(query), : min(BASE_BLOCK, n - first)]
                # |q - b|^2 less the query's own |q|^2 (the same along a row: the nearest stays the nearest)
                torch.addmm(squared[None, first : first + BASE_BLOCK], query, base[:, first : first + BASE_BLOCK],
                            alpha=-2, out=block)  # fmt: skip
                itself = rows + start - first  # a point is not its own neighbour
                inside = (itself >= 0) & (itself < block.shape[1])
                block[rows[inside], itself[inside]] = float("inf")
                nearest, position = block.min(1)
                closer = nearest < best
                best = torch.where(closer, nearest, best)
                best_index = torch.where(closer, position + first, best_index)
            distance[start : start + len(query)] = best + squared[start : start + QUERY_BLOCK]
            index[start : start + len(query)] = best_index
    return distance.clamp_(min=0).sqrt_().numpy(), index.numpy()
