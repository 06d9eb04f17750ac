"""yolopose: YOLO-Pose multi-person pose estimation for edge devices.

>>> import yolopose
>>> est = yolopose.PoseEstimator("model.tflite")          # doctest: +SKIP
>>> poses = est.predict("people.jpg")                      # doctest: +SKIP
>>> poses.boxes, poses.scores, poses.keypoints             # doctest: +SKIP

``import yolopose`` loads numpy only: Pillow is imported with the first image or result, and
inference engines, torch and OpenCV are never imported until a model is loaded.
"""
from __future__ import annotations

import importlib
from typing import Any

from .core import __version__

_LAZY = {
    "PoseEstimator": "yolopose.estimator",
    "Poses": "yolopose.core.results",
    "ModelMetadata": "yolopose.core.metadata",
    "load_image": "yolopose.core.images",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'yolopose' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))
