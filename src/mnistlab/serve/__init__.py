"""Serving a trained run: predictions for image files and CSVs, fast inference through ONNX Runtime, and the web
app (``create_app``, imported on first use: it needs the ``serve`` extra).

Examples
--------
>>> from mnistlab.serve import create_app, predict_images  # doctest: +SKIP
"""

from mnistlab.lazy import lazy_exports
from mnistlab.serve.onnx import OnnxClassifier, export_onnx, load_onnx
from mnistlab.serve.predict import (
    ImagePrediction,
    class_values,
    load_predictor,
    predict_images,
    predict_submission,
    top_classes,
    write_submission,
)

_LAZY = {"create_app": "mnistlab.serve.app"}  # FastAPI: only where the web app is wanted

__all__ = [
    "ImagePrediction",
    "OnnxClassifier",
    "class_values",
    "create_app",
    "export_onnx",
    "load_onnx",
    "load_predictor",
    "predict_images",
    "predict_submission",
    "top_classes",
    "write_submission",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
