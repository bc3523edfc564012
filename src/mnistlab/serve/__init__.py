"""Serving a trained run: predictions for image files and CSVs, fast inference through ONNX Runtime, and the web
apps (``create_app``, ``create_review_app``; ``predictor_app`` with the dependencies ``get_predictor`` and
``get_model_info`` to hand its routes a stub in tests; ``serve_app`` and ``serve_review`` run them under
uvicorn), imported on first use: they need the ``serve`` extra; and the playground page where exported models answer
in the reader's browser (``build_playground``).

Examples
--------
>>> from mnistlab.serve import create_app, predict_images  # doctest: +SKIP
"""

from mnistlab.lazy import lazy_exports
from mnistlab.serve.onnx import OnnxClassifier, export_onnx, load_onnx
from mnistlab.serve.playground import build_playground, check_playground_requirements
from mnistlab.serve.predict import (
    ImagePrediction,
    class_values,
    load_predictor,
    predict_images,
    predict_submission,
    top_classes,
    write_submission,
)

_LAZY = {  # FastAPI and uvicorn: only where a web app is wanted
    "create_app": "mnistlab.serve.app",
    "create_review_app": "mnistlab.serve.app",
    "predictor_app": "mnistlab.serve.app",
    "get_model_info": "mnistlab.serve.dependencies",
    "get_predictor": "mnistlab.serve.dependencies",
    "serve_app": "mnistlab.serve.server:serve",
    "serve_review": "mnistlab.serve.server:review",
}

__all__ = [
    "ImagePrediction",
    "OnnxClassifier",
    "build_playground",
    "check_playground_requirements",
    "class_values",
    "create_app",
    "create_review_app",
    "export_onnx",
    "get_model_info",
    "get_predictor",
    "load_onnx",
    "load_predictor",
    "predict_images",
    "predict_submission",
    "predictor_app",
    "serve_app",
    "serve_review",
    "top_classes",
    "write_submission",
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
