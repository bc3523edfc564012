"""The two studies that extend Hands-On ML chapter 3: multilabel classification (KNN on [class >= 7, class odd])
and multi-output denoising (KNN from noisy pixels to clean ones)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

# Built-in label functions of class indices (for digits the index is the digit): the book's example.
LABEL_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "large": lambda y: y >= 7,
    "odd": lambda y: y % 2 == 1,
}


def multilabel_targets(
    labels: np.ndarray, functions: dict[str, Callable[[np.ndarray], np.ndarray]]
) -> np.ndarray:
    """(N, L) boolean matrix: one column per label function.

    Examples
    --------
    >>> multilabel_targets(np.array([7, 2, 9]), LABEL_FUNCTIONS).tolist()
    [[True, True], [False, False], [True, True]]
    """
    return np.column_stack([np.asarray(f(labels), bool) for f in functions.values()])


def multilabel_study(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    functions: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None,
    estimator: BaseEstimator | None = None,
) -> dict:
    """Fit a multilabel model (KNN by default) and report F1 per label, macro and weighted on held-out images."""
    functions = functions or LABEL_FUNCTIONS
    estimator = estimator or KNeighborsClassifier()
    y_train = multilabel_targets(train_labels, functions)
    y_test = multilabel_targets(test_labels, functions)
    single = y_train.shape[1] == 1  # scikit-learn treats one column as a plain binary task
    estimator.fit(train_images.reshape(len(train_images), -1), y_train[:, 0] if single else y_train)
    predicted = np.asarray(estimator.predict(test_images.reshape(len(test_images), -1)), bool).reshape(
        y_test.shape
    )
    per_label = [f1_score(y_test[:, j], predicted[:, j]) for j in range(y_test.shape[1])]
    return {
        "labels": list(functions),
        "f1_per_label": dict(zip(functions, np.asarray(per_label).tolist(), strict=True)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
        "f1_weighted": float(f1_score(y_test, predicted, average="weighted")),
        "predicted": predicted,
    }


def add_noise(images: np.ndarray, amplitude: int = 100, seed: int = 42) -> np.ndarray:
    """The book's noise: uniform integers 0..amplitude added to every pixel (clipped to 0..255)."""
    noise = np.random.default_rng(seed).integers(0, amplitude, images.shape)
    return np.clip(images.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(float) - b.astype(float)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def denoise_study(
    train_images: np.ndarray,
    test_images: np.ndarray,
    amplitude: int = 100,
    seed: int = 42,
    estimator: BaseEstimator | None = None,
) -> dict:
    """Learn noisy -> clean (multi-output KNN regression by default) and measure MSE/PSNR on held-out images."""
    estimator = estimator or KNeighborsRegressor(n_neighbors=5)
    noisy_train, noisy_test = (
        add_noise(train_images, amplitude, seed),
        add_noise(test_images, amplitude, seed + 1),
    )
    estimator.fit(noisy_train.reshape(len(noisy_train), -1), train_images.reshape(len(train_images), -1))
    cleaned = estimator.predict(noisy_test.reshape(len(noisy_test), -1))
    cleaned = np.clip(np.rint(cleaned), 0, 255).astype(np.uint8).reshape(test_images.shape)

    def mse(a: np.ndarray) -> float:
        return float(np.mean((a.astype(float) - test_images.astype(float)) ** 2))

    return {
        "mse_noisy": mse(noisy_test),
        "mse_denoised": mse(cleaned),
        "psnr_noisy": psnr(noisy_test, test_images),
        "psnr_denoised": psnr(cleaned, test_images),
        "noisy": noisy_test,
        "denoised": cleaned,
    }
