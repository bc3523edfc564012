"""Models by name, all behind scikit-learn's estimator contract.

>>> from mnistlab import models
>>> clf = models.create("cnn", epochs=5)  # a TorchClassifier
>>> sgd = models.create("sgd")  # a scikit-learn Pipeline: flatten -> SGDClassifier(random_state=42)
"""

from mnistlab.models.classic import FlattenPixels, pipeline
from mnistlab.models.registry import REGISTRY, ModelSpec, available, create, get_spec
from mnistlab.models.torch_classifier import TorchClassifier

__all__ = [
    "REGISTRY",
    "FlattenPixels",
    "ModelSpec",
    "TorchClassifier",
    "available",
    "create",
    "get_spec",
    "pipeline",
]
