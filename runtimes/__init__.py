"""Inference engines behind one protocol (onnxruntime, OpenVINO, TFLite)."""
