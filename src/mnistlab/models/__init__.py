"""Models by name, all behind scikit-learn's estimator contract.

>>> from mnistlab import models
>>> clf = models.create("cnn", epochs=5)  # a TorchClassifier
>>> sgd = models.create("sgd")  # a scikit-learn Pipeline: flatten -> SGDClassifier(random_state=42)
"""

from mnistlab.models.classic import FlattenPixels, pipeline
from mnistlab.models.registry import REGISTRY, ModelSpec, available, check_flip, create, data_kind, get_spec
from mnistlab.models.strategies import STRATEGIES, class_scores, with_strategy
from mnistlab.models.torch_classifier import TorchClassifier

__all__ = [
    "REGISTRY",
    "STRATEGIES",
    "FlattenPixels",
    "ModelSpec",
    "TorchClassifier",
    "available",
    "check_flip",
    "class_scores",
    "create",
    "data_kind",
    "get_spec",
    "pipeline",
    "with_strategy",
]
