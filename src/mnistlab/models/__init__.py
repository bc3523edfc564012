"""Models by name, all behind scikit-learn's estimator contract.

Examples
--------
>>> from mnistlab import models
>>> clf = models.create("cnn", epochs=5)  # a TorchClassifier
>>> sgd = models.create("sgd")  # a scikit-learn Pipeline: flatten -> SGDClassifier(random_state=42)

The registry (``available``, ``get_spec``, ``REGISTRY``) imports neither PyTorch nor scikit-learn; the estimator
classes are imported when first used.
"""

from mnistlab.lazy import lazy_exports
from mnistlab.models.registry import (
    REGISTRY,
    ModelSpec,
    available,
    check_flip,
    create,
    data_kind,
    get_spec,
    specs,
)

_LAZY = {
    "FlattenPixels": "mnistlab.models.classic",
    "pipeline": "mnistlab.models.classic",
    "STRATEGIES": "mnistlab.models.strategies",
    "class_scores": "mnistlab.models.strategies",
    "with_strategy": "mnistlab.models.strategies",
    "TorchClassifier": "mnistlab.models.torch_classifier",
}

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
    "specs",
    "with_strategy",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
