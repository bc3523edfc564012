"""Serving: fast inference for trained runs (ONNX export and ONNX Runtime)."""

from mnistlab.serve.onnx import OnnxClassifier, export_onnx, load_onnx

__all__ = ["OnnxClassifier", "export_onnx", "load_onnx"]
