"""The misclassification detectors a skeptical reader asks for, to compare graph centrality against. Each returns
one score per test image, higher meaning "more likely wrong".

- ``max_softmax``: one minus the maximum softmax probability (Hendrycks and Gimpel, 2017).
- ``deep_knn``: the share of the ``k`` nearest training images, in a layer's feature space, whose label differs
  from the prediction (deep k-NN, Papernot and McDaniel, 2018).
- ``trust_score``: minus the trust score of Jiang et al. (2018): distance to the nearest training image of any
  other class over distance to the nearest of the predicted class (without their density filtering).

Examples
--------
>>> import numpy as np
>>> train = np.array([[0.0], [0.1], [5.0], [5.1]]); labels = np.array([0, 0, 1, 1])
>>> deep_knn(train, labels, np.array([[0.05], [5.05]]), np.array([1, 1]), k=2).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import numpy as np


def max_softmax(proba: np.ndarray) -> np.ndarray:
    return 1.0 - np.asarray(proba).max(axis=1)


def deep_knn(
    train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, predicted: np.ndarray, k: int = 10
) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    neighbours = NearestNeighbors(n_neighbors=k).fit(train).kneighbors(test, return_distance=False)
    return (np.asarray(train_labels)[neighbours] != np.asarray(predicted)[:, None]).mean(axis=1)


def trust_score(
    train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, predicted: np.ndarray
) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    train_labels, predicted = np.asarray(train_labels), np.asarray(predicted)
    classes = np.unique(train_labels)
    distance = np.full((len(test), int(classes.max()) + 1), np.inf)
    for c in classes:  # one nearest-neighbour search per class, vectorised over the test images
        members = train[train_labels == c]
        distance[:, c] = NearestNeighbors(n_neighbors=1).fit(members).kneighbors(test)[0][:, 0]
    to_predicted = distance[np.arange(len(test)), predicted]
    others = distance.copy()
    others[np.arange(len(test)), predicted] = np.inf
    trust = others.min(axis=1) / np.maximum(to_predicted, 1e-12)
    return -trust
