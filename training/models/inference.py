"""From raw model outputs to what the SDK understands: NHWC numpy arrays, decoded candidates
(with the SDK's one :func:`yolopose.core.ops.decode`), and the artifact metadata."""
from __future__ import annotations

import math
from typing import Any, List, Sequence, Tuple, Union

import numpy as np
import torch

from yolopose.core.keypoints import COCO_FLIP_INDEX, COCO_KEYPOINT_NAMES, COCO_SKELETON, NUM_COCO_KEYPOINTS
from yolopose.core.metadata import OUTPUT_KINDS, ModelMetadata, OutputSpec
from yolopose.core.ops import Candidates, decode

from .network import LevelOutput, YoloPoseModel, check_imgsz

__all__ = ["to_nhwc_numpy", "predict_candidates", "model_metadata", "output_names"]

NumpyLevel = Tuple[np.ndarray, np.ndarray, np.ndarray]


def to_nhwc_numpy(raw: Sequence[LevelOutput]) -> List[NumpyLevel]:
    """Per level ``(det, kpt_xy, kpt_conf)`` NCHW tensors -> float32 NHWC numpy arrays (the layout
    of exported artifacts and of :func:`yolopose.core.ops.decode`)."""
    return [
        tuple(t.detach().permute(0, 2, 3, 1).float().cpu().numpy() for t in level)  # type: ignore[misc]
        for level in raw
    ]


@torch.no_grad()
def predict_candidates(model: YoloPoseModel, x: torch.Tensor, conf_threshold: float = 0.001) -> List[Candidates]:
    """Run ``model`` on ``x`` ``(B, 3, H, W)`` and decode with the SDK's decode: one
    :class:`~yolopose.core.ops.Candidates` per image (network-input pixels, before NMS).

    The model's train/eval mode is left as it is (validation passes an eval-mode model).
    """
    raw = model(x)
    return decode(to_nhwc_numpy(raw), model.strides, model.anchors, conf_threshold)


def output_names(strides: Sequence[int]) -> List[Tuple[int, str, str]]:
    """``(level, kind, name)`` of every raw output in export order, e.g. ``(0, "det", "p3_det")``."""
    return [
        (level, kind, f"p{int(round(math.log2(s)))}_{kind}")
        for level, s in enumerate(strides)
        for kind in OUTPUT_KINDS
    ]


def model_metadata(model: YoloPoseModel, imgsz: Union[int, Sequence[int]], **fields: Any) -> ModelMetadata:
    """The :class:`~yolopose.core.metadata.ModelMetadata` of ``model`` at input size ``imgsz``
    (int or ``(h, w)``); ``fields`` override or add metadata fields (precision, version, ...)."""
    hw = check_imgsz(imgsz, model.max_stride)
    k = model.num_keypoints
    base: dict = dict(
        model=model.config.name,
        imgsz=hw,
        strides=tuple(model.strides),
        anchors=tuple(tuple((float(w), float(h)) for w, h in level) for level in model.anchors),
        num_keypoints=k,
        num_classes=model.num_classes,
        outputs=tuple(OutputSpec(level, kind, name) for level, kind, name in output_names(model.strides)),
    )
    if k == NUM_COCO_KEYPOINTS:
        base.update(keypoint_names=COCO_KEYPOINT_NAMES, skeleton=COCO_SKELETON, flip_index=COCO_FLIP_INDEX)
    else:
        base.update(keypoint_names=tuple(f"kpt_{i}" for i in range(k)), skeleton=(), flip_index=tuple(range(k)))
    base.update(fields)
    return ModelMetadata(**base)
