"""scikit-learn models as pipelines: flatten the images, optionally scale, then the estimator."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

SCALERS = {"none": None, "minmax": MinMaxScaler, "standard": StandardScaler}


class FlattenPixels(TransformerMixin, BaseEstimator):
    """(N, 28, 28) or (N, 784) pixels -> (N, 784) float64, the layout scikit-learn estimators take."""

    def fit(self, X, y=None) -> FlattenPixels:
        self.n_features_in_ = int(np.prod(np.shape(X)[1:]))
        return self

    def transform(self, X) -> np.ndarray:
        X = np.asarray(X)
        return X.reshape(len(X), -1).astype(np.float64, copy=False)


def pipeline(estimator: BaseEstimator, scaler: str = "none") -> Pipeline:
    """``FlattenPixels -> [scaler] -> estimator``; ``scaler`` is none, minmax or standard."""
    if scaler not in SCALERS:
        raise ValueError(f"unknown scaler {scaler!r}; expected none, minmax or standard")
    steps: list[tuple[str, BaseEstimator]] = [("flatten", FlattenPixels())]
    if SCALERS[scaler] is not None:
        steps.append(("scaler", SCALERS[scaler]()))
    steps.append(("model", estimator))
    return Pipeline(steps)
