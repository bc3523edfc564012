"""The input contract of the PyTorch models: rows of numbers on the 0..255 pixel scale, finite, dense (images on
the 0..1 scale are refused: :func:`~mnistlab.datasets.dataset.check_pixel_scale`). Images come as (N, 28, 28) or
(N, 784); the dense networks (``softmax``, ``mlp``) also take any (N, D) feature rows, the convolutional ones
need images.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import validate_data

from mnistlab.datasets import check_pixel_scale
from mnistlab.errors import DataFormatError, ParameterError
from mnistlab.models import networks


def as_model_input(X: np.ndarray) -> np.ndarray:
    """(N, D) rows as the networks take them: (N, 28, 28) images when D is 784, else unchanged; uint8 is kept
    (a quarter of the memory), every other numeric type becomes float32.

    Examples
    --------
    >>> as_model_input(np.zeros((2, 784), np.uint8)).shape, as_model_input(np.zeros((2, 5), int)).dtype
    ((2, 28, 28), dtype('float32'))
    """
    X = X.reshape(len(X), 28, 28) if X.shape[1] == networks.IMAGE_FEATURES else X
    return X if X.dtype == np.uint8 else X.astype(np.float32)


def checked_rows(estimator: BaseEstimator, X, y=None, reset: bool = False, with_y: bool = False):
    """Validated (N, D) rows (and labels) for ``estimator``: finite, dense, numeric, at least one sample, D as in
    its ``fit`` (``reset`` records D). Images (N, H, W) become rows of H * W pixels; ``with_y`` checks labels
    too (a missing y included).

    Examples
    --------
    >>> from mnistlab.models import TorchClassifier
    >>> checked_rows(TorchClassifier(), np.zeros((3, 28, 28)), reset=True).shape
    (3, 784)
    """
    kwargs = dict(accept_sparse=False, dtype="numeric", ensure_all_finite=True)
    if getattr(X, "ndim", None) == 3 or (isinstance(X, list) and np.ndim(X) == 3):
        # Validated once, as rows, below: a second full check cost a third of a prediction of one image.
        X = np.asarray(X)
        X = X.reshape(len(X), int(np.prod(X.shape[1:])))  # also for no images: the check below names that
    if with_y:
        X, y = validate_data(estimator, X, y, reset=reset, **kwargs)
    else:
        X = validate_data(estimator, X, reset=reset, **kwargs)
    # images: the pixel-scale contract (other rows are features)
    if X.shape[1] == networks.IMAGE_FEATURES:
        check_pixel_scale(X)
    return (X, y) if with_y else X


def check_network_input(architecture: str, n_features: int, augment: str | None, tta: str | None) -> None:
    """Refuse rows a network cannot train on: a convolutional network needs 28x28 images, and so do
    augmentation and test-time augmentation.

    Examples
    --------
    >>> check_network_input("mlp", 20, None, None)
    >>> check_network_input("cnn", 20, None, None)
    Traceback (most recent call last):
    ...
    mnistlab.errors.DataFormatError: 'cnn' needs 28x28 images (784 pixels per row), got 20 features; ...
    """
    if not networks.get(architecture).dense and n_features != networks.IMAGE_FEATURES:
        raise DataFormatError(
            f"{architecture!r} needs 28x28 images (784 pixels per row), got "
            f"{n_features} features; the dense models (softmax, mlp) take any"
        )
    if (augment or tta) and n_features != networks.IMAGE_FEATURES:
        raise ParameterError(f"augment and tta need 28x28 images, got rows of {n_features} features")
