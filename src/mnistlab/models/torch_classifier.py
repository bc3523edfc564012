"""A PyTorch network behind scikit-learn's classifier contract (fit, predict, predict_proba, get_params, ...)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from mnistlab.models import networks
from mnistlab.training.augment import Augmentation
from mnistlab.training.loop import TrainConfig, evaluate, resolve_device, torch_threads, train


def as_images(X) -> np.ndarray:
    """Accept (N, 28, 28) or (N, 784) pixel arrays on the 0..255 scale; returns (N, 28, 28), uint8 when exact."""
    X = np.asarray(X)
    if X.ndim == 2 and X.shape[1] == 784:
        X = X.reshape(-1, 28, 28)
    if X.ndim != 3 or X.shape[1:] != (28, 28):
        raise ValueError(f"expected images of shape (N, 28, 28) or (N, 784), got {X.shape}")
    if X.dtype == np.uint8:
        return X
    if np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating):
        return X.astype(np.float32)
    raise ValueError(f"expected numeric pixel values, got dtype {X.dtype}")


class TorchClassifier(ClassifierMixin, BaseEstimator):
    """A PyTorch image classifier with the scikit-learn estimator API.

    Every hyper-parameter is a constructor argument, so ``clone``, ``GridSearchCV``, ``cross_val_score``,
    ``OneVsRestClassifier`` and ``Pipeline`` work as with any scikit-learn model. After ``fit``:
    ``classes_``, ``history_`` (one dict per epoch), ``network_`` (the ``torch.nn.Module``).

    >>> from mnistlab import models
    >>> clf = models.create("mlp", epochs=1)  # doctest: +SKIP
    >>> clf.fit(train.images, train.labels).score(test.images, test.labels)  # doctest: +SKIP
    0.95...
    """

    def __init__(
        self,
        architecture: str = "cnn",
        width: int | None = None,
        epochs: int = 10,
        batch_size: int = 128,
        optimizer: str = "adam",
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        schedule: str = "none",
        label_smoothing: float = 0.0,
        input_scaling: str = "unit",
        augment: str | None = None,
        validation_split: float = 0.0,
        early_stopping: int | None = None,
        precision: str = "auto",
        seed: int = 0,
        device: str = "auto",
        threads: int | None = None,
        verbose: int = 0,
    ) -> None:
        self.architecture = architecture
        self.width = width
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.label_smoothing = label_smoothing
        self.input_scaling = input_scaling
        self.augment = augment
        self.validation_split = validation_split
        self.early_stopping = early_stopping
        self.precision = precision
        self.seed = seed
        self.device = device
        self.threads = threads
        self.verbose = verbose

    def _config(self, device: torch.device, convolutional: bool) -> TrainConfig:
        if self.precision not in {"auto", "fp32", "bf16"}:
            raise ValueError(f"unknown precision {self.precision!r}; expected auto, fp32 or bf16")
        bf16_ok = device.type == "cuda" or torch.ops.mkldnn._is_mkldnn_bf16_supported()
        bf16 = self.precision == "bf16" or (self.precision == "auto" and convolutional and bf16_ok)
        return TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, optimizer=self.optimizer, lr=self.lr,
            weight_decay=self.weight_decay, schedule=self.schedule, label_smoothing=self.label_smoothing,
            augment=Augmentation.parse(self.augment), early_stopping=self.early_stopping, seed=self.seed,
            bf16=bf16, channels_last=networks.prefers_channels_last(self.architecture), verbose=self.verbose,
        )  # fmt: skip

    def fit(self, X, y, validation_data: tuple | None = None) -> TorchClassifier:
        """Train from scratch. ``validation_data=(X_val, y_val)`` overrides ``validation_split``."""
        images = as_images(X)
        y = np.asarray(y)
        if len(y) != len(images):
            raise ValueError(f"{len(images)} images but {len(y)} labels")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("need at least two classes to train a classifier")
        targets = np.searchsorted(self.classes_, y)
        if validation_data is None and self.validation_split:
            images, val_images, targets, val_targets = train_test_split(
                images, targets, test_size=self.validation_split, random_state=self.seed, stratify=targets
            )
            validation_data = (val_images, self.classes_[val_targets])
        device = resolve_device(self.device)
        torch.manual_seed(self.seed)
        net = networks.build(self.architecture, len(self.classes_), self.width).to(device)
        x = torch.from_numpy(np.ascontiguousarray(images)).to(device)
        net[0].fit(x.unsqueeze(1), self.input_scaling)
        cfg = self._config(device, networks.is_convolutional(net))
        validation = None
        if validation_data is not None:
            val_x = torch.from_numpy(np.ascontiguousarray(as_images(validation_data[0]))).to(device)
            val_y = torch.from_numpy(np.searchsorted(self.classes_, np.asarray(validation_data[1]))).to(
                device
            )
            validation = (val_x, val_y)
        with torch_threads(self.threads):
            result = train(net, x, torch.from_numpy(targets).to(device), cfg, validation)
        self.network_, self.history_ = net, result.history
        self.best_epoch_, self.interrupted_ = result.best_epoch, result.interrupted
        self.n_features_in_ = 784
        return self

    def _logits(self, X) -> torch.Tensor:
        check_is_fitted(self, "network_")
        device = next(self.network_.parameters()).device
        x = torch.from_numpy(np.ascontiguousarray(as_images(X))).to(device)
        cfg = self._config(device, networks.is_convolutional(self.network_))
        with torch_threads(self.threads):
            logits, _, _ = evaluate(self.network_, x, None, cfg)
        return logits

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (N, n_classes), columns in the order of ``classes_``."""
        proba = torch.softmax(self._logits(X).double(), dim=1).numpy()
        return proba / proba.sum(axis=1, keepdims=True)  # exact sums, as scikit-learn's metrics check

    def decision_function(self, X) -> np.ndarray:
        """Logits (N, n_classes); for two classes the positive-minus-negative logit (N,), as scikit-learn does."""
        logits = self._logits(X).numpy().astype(np.float64)
        return logits[:, 1] - logits[:, 0] if len(self.classes_) == 2 else logits

    def predict(self, X) -> np.ndarray:
        logits = self._logits(X)  # checks that the model is fitted first
        return self.classes_[logits.argmax(1).numpy()]
