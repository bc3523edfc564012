"""Models by name, all behind scikit-learn's estimator contract.

Examples
--------
>>> from mnistlab import models
>>> clf = models.create("cnn", epochs=5)  # a TorchClassifier
>>> sgd = models.create("sgd")  # a scikit-learn Pipeline: flatten -> SGDClassifier(random_state=42)

The registry (``available``, ``get_spec``, ``REGISTRY``) imports neither PyTorch nor scikit-learn; the estimator
classes, the networks, a model's calibration and the precision choice are imported when first used.
"""

from mnistlab.lazy import lazy_exports
from mnistlab.models.registry import (
    ALIASES,
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
    "SCALERS": "mnistlab.models.classic",
    "pipeline": "mnistlab.models.classic",
    "CAN_BE_EMPTY": "mnistlab.models.calibration",
    "DEFAULT_METHOD": "mnistlab.models.calibration",
    "ConformalCalibration": "mnistlab.models.calibration",
    "empty_set_meaning": "mnistlab.models.calibration",
    "fit_temperature": "mnistlab.models.calibration",
    "prediction_sets": "mnistlab.models.calibration",
    "integrated_gradients": "mnistlab.models.explain",
    "FastDropout": "mnistlab.models.layers",
    "IMAGE_FEATURES": "mnistlab.models.networks",
    "NETWORKS": "mnistlab.models.networks",
    "build_network": "mnistlab.models.networks:build",
    "check_fits_in_memory": "mnistlab.models.networks",
    "rename_format1_weights": "mnistlab.models.networks",
    "PRECISION_ROUNDS": "mnistlab.models.precision:ROUNDS",
    "bf16_supported": "mnistlab.models.precision",
    "choose_precision": "mnistlab.models.precision:choose",
    "cpu_facts": "mnistlab.models.precision",
    "explain_precision": "mnistlab.models.precision:explain",
    "machine_key": "mnistlab.models.precision",
    "remembered": "mnistlab.models.precision",
    "STRATEGIES": "mnistlab.models.strategies",
    "class_scores": "mnistlab.models.strategies",
    "with_strategy": "mnistlab.models.strategies",
    "TorchClassifier": "mnistlab.models.torch_classifier",
    "as_model_input": "mnistlab.models.inputs",
}

__all__ = [
    "ALIASES",
    "CAN_BE_EMPTY",
    "DEFAULT_METHOD",
    "IMAGE_FEATURES",
    "NETWORKS",
    "PRECISION_ROUNDS",
    "REGISTRY",
    "SCALERS",
    "STRATEGIES",
    "ConformalCalibration",
    "FastDropout",
    "FlattenPixels",
    "ModelSpec",
    "TorchClassifier",
    "as_model_input",
    "available",
    "bf16_supported",
    "build_network",
    "check_fits_in_memory",
    "check_flip",
    "choose_precision",
    "class_scores",
    "cpu_facts",
    "create",
    "data_kind",
    "empty_set_meaning",
    "explain_precision",
    "fit_temperature",
    "get_spec",
    "integrated_gradients",
    "machine_key",
    "pipeline",
    "prediction_sets",
    "remembered",
    "rename_format1_weights",
    "specs",
    "with_strategy",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
