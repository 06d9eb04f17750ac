"""One already-decoded tensor ``(B, 4 + nc + K*d, N)`` (or ``(B, N, 4 + nc + K*d)``): per candidate
``cx, cy, w, h`` in input pixels (normalised to [0, 1] in other tools' TFLite exports), one
probability per class, then ``K`` keypoints of ``d`` values ``x, y[, conf]``; NMS still to do.

Ultralytics' YOLOv8 / YOLO11 pose exports and YOLO26's with ``end2end=False`` write this, with
``kpt_shape``, ``names`` and ``imgsz`` in their metadata; yolopose metadata may also say
``output_format: "decoded"``.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from ..core.errors import ModelError
from ..core.ops.decode import Candidates
from ..core.ops.decode_flat import decode_flat
from ._foreign import declared_end2end, declared_kpt_shape, declared_num_classes, foreign_metadata
from .base import LayoutExample, ModelFacts, OutputLayout

__all__ = ["DecodedLayout"]


class DecodedLayout(OutputLayout):
    """``infer`` returns ``[pred]``, ``pred`` as the engine gave it (channels first or last)."""

    name = "decoded"

    def __init__(self, metadata, used: Sequence[int], channels_first: Optional[bool], normalized: bool, source: str = "") -> None:
        super().__init__(metadata, used, source)
        self.channels_first = channels_first
        self.normalized = normalized

    @classmethod
    def match(cls, model: ModelFacts) -> Optional["DecodedLayout"]:
        meta = model.metadata
        if meta is not None:
            if meta.output_format != "decoded":
                return None
            found = _find(model, 4 + meta.num_classes + meta.num_keypoints * int(meta.extra.get("kpt_dims", 3)))
            if found is None:
                want = 4 + meta.num_classes + meta.num_keypoints * int(meta.extra.get("kpt_dims", 3))
                raise ModelError(f"{model.source}: no output of shape (batch, {want}, N) or (batch, N, {want}); the model has {model.describe_outputs()}")
            return cls(meta, [found[0]], found[1], bool(meta.extra.get("normalized_coordinates", False)), model.source)
        props = model.properties
        if declared_end2end(props) or props.get("task", "pose") != "pose":
            return None
        nc = declared_num_classes(props) or 1
        kpt = declared_kpt_shape(props, model.source) or _guess_kpt_shape(model, nc)
        if kpt is None:
            return None
        found = _find(model, 4 + nc + kpt[0] * kpt[1])
        if found is None:
            return None
        normalized = Path(model.source).suffix.lower() == ".tflite"  # other tools normalise coordinates in TFLite
        meta = foreign_metadata(model, "decoded", kpt[0], nc, kpt_dims=kpt[1], normalized_coordinates=normalized)
        return cls(meta, [found[0]], found[1], normalized, model.source)

    def decode(self, arrays: Sequence[np.ndarray], conf: float) -> List[Candidates]:
        meta = self.metadata
        d = int(meta.extra.get("kpt_dims", 3))
        pred = arrays[0]
        channels_first = self.channels_first
        if channels_first is None:  # dynamic output shape: the channel axis is the one of the right size
            want = 4 + meta.num_classes + meta.num_keypoints * d
            if pred.ndim != 3 or want not in pred.shape[1:]:
                raise ModelError(f"{self.source}: output of shape {pred.shape}; expected (batch, {want}, N) or (batch, N, {want})")
            channels_first = pred.shape[1] == want
        return decode_flat(pred, conf, meta.num_classes, d, channels_first, meta.imgsz, self.normalized)

    @classmethod
    def example(cls) -> LayoutExample:
        k, n = 17, 8
        rows = np.zeros((n, 4 + 1 + 3 * k), np.float32)
        rows[:, :4] = [10, 10, 4, 4]
        rows[:, 4] = 0.01  # background
        rows[0, :5] = [20, 30, 16, 40, 0.9]
        rows[1, :5] = [21, 30, 16, 40, 0.6]  # overlaps row 0: NMS (not decode) removes it
        rows[2, :5] = [48, 40, 20, 20, 0.7]
        for r, (x0, y0) in ((0, (14, 12)), (1, (15, 12)), (2, (40, 32))):
            rows[r, 5:] = np.stack([x0 + np.arange(k), y0 + 2 * np.arange(k), np.linspace(0.1, 0.9, k)], 1).reshape(-1)
        keep = rows[:3]
        boxes = np.concatenate([keep[:, :2] - keep[:, 2:4] / 2, keep[:, :2] + keep[:, 2:4] / 2], axis=1)
        props = {"task": "pose", "kpt_shape": "[17, 3]", "names": "{0: 'person'}", "imgsz": "[64, 64]",
                 "description": "decoded-layout-example"}
        return LayoutExample(
            outputs=(("output0", np.ascontiguousarray(rows.T[None])),),
            properties=props,
            imgsz=(64, 64),
            conf=0.25,
            boxes=boxes,
            scores=keep[:, 4].copy(),
            keypoints=keep[:, 5:].reshape(3, k, 3),
        )


def _find(model: ModelFacts, want: int):
    """``(output index, channels_first)`` of the first 3-D output with ``want`` channels, or ``None``;
    for a single 3-D output with dynamic dimensions ``channels_first`` is ``None`` (seen on the first run)."""
    three_d = [i for i, out in enumerate(model.outputs) if len(out.shape) == 3]
    for i in three_d:
        shape = model.outputs[i].shape
        if shape[1] == want and shape[2] != want:
            return i, True
        if shape[2] == want:
            return i, False
    if len(three_d) == 1 and None in model.outputs[three_d[0]].shape[1:]:
        return three_d[0], None
    return None


def _guess_kpt_shape(model: ModelFacts, nc: int):
    """``(K, 3)`` from the channel count of a 3-D output when no ``kpt_shape`` is stated."""
    for out in model.outputs:
        if len(out.shape) != 3:
            continue
        dims = [d for d in out.shape[1:] if d is not None]
        c = min(dims) if dims else None  # the channels are the smaller dimension (N candidates >> channels)
        if c is not None and c > 4 + nc and (c - 4 - nc) % 3 == 0:
            return (c - 4 - nc) // 3, 3
    return None

