"""The YOLO-Pose model family: a registry of configurations kept as data and one factory.

>>> from yolopose.training.models import create_model, list_models
>>> model = create_model("yolov5s6-pose")          # doctest: +SKIP
>>> raw = model(images)   # per level (det, kpt_xy, kpt_conf), NCHW   # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Union

from yolopose.core.errors import ConfigError

from .config import ModelConfig, get_config, list_models, register_model
from .inference import model_metadata, predict_candidates, to_nhwc_numpy
from .network import YoloPoseModel, check_imgsz
from .profile import count_macs, count_params

__all__ = [
    "ModelConfig",
    "YoloPoseModel",
    "check_imgsz",
    "count_macs",
    "count_params",
    "create_model",
    "get_config",
    "list_models",
    "model_metadata",
    "predict_candidates",
    "register_model",
    "to_nhwc_numpy",
]


def create_model(
    name: Union[str, ModelConfig], num_keypoints: Optional[int] = None, num_classes: Optional[int] = None
) -> YoloPoseModel:
    """Build the registered model ``name`` (or a :class:`ModelConfig`) with fresh weights.

    ``num_keypoints`` / ``num_classes`` override the configuration's (the registered ones have 17
    COCO keypoints and 1 class, "person"). Unknown names raise :class:`ConfigError` listing the known ones.
    """
    config = name if isinstance(name, ModelConfig) else get_config(name)
    num_keypoints = config.num_keypoints if num_keypoints is None else num_keypoints
    num_classes = config.num_classes if num_classes is None else num_classes
    if isinstance(num_keypoints, bool) or not isinstance(num_keypoints, int) or num_keypoints <= 0:
        raise ConfigError(f"num_keypoints must be a positive integer, got {num_keypoints!r}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes <= 0:
        raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}")
    config = dataclasses.replace(config, num_keypoints=num_keypoints, num_classes=num_classes)
    return YoloPoseModel(config)
