"""Serving a trained run: predictions for image files and CSVs, and fast inference through ONNX Runtime."""

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

__all__ = [
    "ImagePrediction",
    "OnnxClassifier",
    "class_values",
    "export_onnx",
    "load_onnx",
    "load_predictor",
    "predict_images",
    "predict_submission",
    "top_classes",
    "write_submission",
]
