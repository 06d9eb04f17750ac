"""Inference engines behind one protocol (onnxruntime, OpenVINO, TFLite).

>>> from yolopose.runtimes import load_runtime
>>> rt = load_runtime("model.onnx", backend="auto", device="cpu")   # doctest: +SKIP
>>> rt.inputs, rt.outputs, rt.metadata                              # doctest: +SKIP
>>> outputs = rt.run(x)                                             # doctest: +SKIP

Importing this package imports no engine; each adapter imports its engine when a model is loaded.
"""
from __future__ import annotations

from .base import Runtime, TensorInfo, split_device
from .registry import (
    BackendSpec,
    backends_for,
    get_backend,
    list_backends,
    load_runtime,
    register_backend,
    resolve_model_path,
    select_backend,
)

__all__ = [
    "BackendSpec",
    "Runtime",
    "TensorInfo",
    "backends_for",
    "get_backend",
    "list_backends",
    "load_runtime",
    "register_backend",
    "resolve_model_path",
    "select_backend",
    "split_device",
]
