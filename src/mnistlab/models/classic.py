"""scikit-learn models as pipelines: flatten the images, optionally scale, then the estimator."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from mnistlab.datasets import PIXEL_FEATURES, check_pixel_scale
from mnistlab.params import one_of, validates

SCALERS = {"none": None, "minmax": MinMaxScaler, "standard": StandardScaler}


class FlattenPixels(TransformerMixin, BaseEstimator):
    """(N, 28, 28) images or (N, D) rows -> (N, D) float64, the layout scikit-learn estimators take.

    Pixels are finite numbers on the 0..255 scale: NaN and infinity are refused here, with scikit-learn's
    message, whatever the estimator after it would accept, and so are images on the 0..1 scale
    (:func:`~mnistlab.datasets.dataset.check_pixel_scale`).

    Examples
    --------
    >>> import numpy as np
    >>> FlattenPixels().fit_transform(np.zeros((2, 28, 28), np.uint8)).shape
    (2, 784)
    """

    def _rows(self, X, reset: bool) -> np.ndarray:
        if getattr(X, "ndim", None) == 3 or (isinstance(X, list) and np.ndim(X) == 3):
            X = check_array(X, allow_nd=True, dtype="numeric")
            X = X.reshape(len(X), -1)
        X = validate_data(self, X, reset=reset, dtype="numeric")
        if X.shape[1] == PIXEL_FEATURES:  # images: the pixel-scale contract (other rows are features)
            check_pixel_scale(X)
        return X

    def fit(self, X, y=None) -> FlattenPixels:
        self._rows(X, reset=True)
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        return self._rows(X, reset=False).astype(np.float64, copy=False)


@validates(None, scaler=one_of(*SCALERS))
def pipeline(estimator: BaseEstimator, scaler: str = "none") -> Pipeline:
    """``FlattenPixels -> [scaler] -> estimator``; ``scaler`` is none, minmax or standard.

    Examples
    --------
    >>> from sklearn.naive_bayes import GaussianNB
    >>> [name for name, _ in pipeline(GaussianNB(), "standard").steps]
    ['flatten', 'scaler', 'model']
    """
    steps: list[tuple[str, BaseEstimator]] = [("flatten", FlattenPixels())]
    if SCALERS[scaler] is not None:
        steps.append(("scaler", SCALERS[scaler]()))
    steps.append(("model", estimator))
    return Pipeline(steps)
