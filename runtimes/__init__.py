"""Inference engines behind one protocol (onnxruntime, OpenVINO, TFLite).

>>> from yolopose.runtimes import load_runtime
>>> rt = load_runtime("model.onnx", backend="auto", device="cpu")   # doctest: +SKIP
>>> rt.inputs, rt.outputs, rt.metadata                              # doctest: +SKIP
>>> outputs = rt.run(x)                                             # doctest: +SKIP

Importing this package imports no engine; each adapter imports its engine when a model is loaded.
Every model passes the checks of its file type (:mod:`yolopose.runtimes.model_checks`) before
an adapter is built; each adapter module declares its engine once (``SPEC``, a :class:`BackendSpec`).
"""
from __future__ import annotations

from .base import Runtime, TensorInfo, split_device
from .model_checks import CheckedModel, check_model, register_model_check
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
    "CheckedModel",
    "Runtime",
    "TensorInfo",
    "backends_for",
    "check_model",
    "get_backend",
    "list_backends",
    "load_runtime",
    "register_backend",
    "register_model_check",
    "resolve_model_path",
    "select_backend",
    "split_device",
]
