"""ONNX files written by the YOLO-Pose authors' own ``models/export.py`` (TexasInstruments
edgeai-yolov5, branch ``yolo-pose``), which carry no metadata; recognised by their output shapes.

Their exporter writes one of three output sets (``form``):

- ``raw`` (default): per level one tensor ``(B, na, H/s, W/s, 5 + nc + 3K)``: ``tx, ty, tw, th, obj,
  cls..., (kx, ky, kconf) * K`` before any sigmoid (their ``Detect`` in export mode); converted to
  our ``det`` / ``kpt_xy`` / ``kpt_conf`` NHWC tensors and decoded like ours. Their ONNX holds no
  anchors: those of the authors' YAMLs are used (P6 for 4 levels, P5 for 3);
- ``grid`` (``--grid``): additionally ``(B, N, 5 + nc + 3K)`` decoded in input pixels (``cx, cy, w,
  h, obj, cls..., (x, y, conf) * K`` with sigmoids applied): that tensor alone is used;
- ``nms`` (``--export-nms``): one tensor ``detections`` ``(n, 6 + 3K)``: ``x1, y1, x2, y2, score,
  class, (x, y, conf) * K`` after their NMS (batch 1; confidence threshold 0.01 baked in).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..core.errors import ModelError
from ..core.metadata import ModelMetadata
from ..core.ops.decode import Candidates, decode
from ..core.ops.decode_flat import decode_flat
from ._foreign import keypoint_fields
from .base import LayoutExample, ModelFacts, OutputLayout

__all__ = ["OfficialLayout", "OFFICIAL_ANCHORS"]

#: anchors (w, h in pixels) of the authors' pose YAMLs, by number of output levels
OFFICIAL_ANCHORS: Dict[int, Tuple[Tuple[Tuple[float, float], ...], ...]] = {
    4: (
        ((19, 27), (44, 40), (38, 94)),
        ((96, 68), (86, 152), (180, 137)),
        ((140, 301), (303, 264), (238, 542)),
        ((436, 615), (739, 380), (925, 792)),
    ),
    3: (((10, 13), (16, 30), (33, 23)), ((30, 61), (62, 45), (59, 119)), ((116, 90), (156, 198), (373, 326))),
}
_NUM_CLASSES = 1  # the published pose models detect one class, person


def _keypoints_of(width: int, fixed: int) -> int:
    k, rem = divmod(width - fixed, 3)
    return k if k > 0 and rem == 0 else 0


class OfficialLayout(OutputLayout):
    """``infer`` returns our raw NHWC tensors (``raw`` form) or ``[(B, N, 5 + 3K)]`` rows of
    ``cx, cy, w, h, score, keypoints`` (``grid`` and ``nms`` forms)."""

    name = "official"

    def __init__(self, metadata: ModelMetadata, used: Sequence[int], form: str, source: str = "") -> None:
        super().__init__(metadata, used, source, batch=1 if form == "nms" else None)  # their NMS graph is batch 1
        self.form = form

    @classmethod
    def match(cls, model: ModelFacts) -> Optional["OfficialLayout"]:
        if model.metadata is not None or model.input_layout != "NCHW" or None in model.input_hw:
            return None
        imgsz = (int(model.input_hw[0]), int(model.input_hw[1]))  # type: ignore[arg-type]
        outs = list(model.outputs)
        for i, out in enumerate(outs):  # --export-nms
            shape = tuple(out.shape)
            if (out.name == "detections" or len(shape) == 2) and len(shape) in (2, 3) and shape[-1] is not None:
                k = _keypoints_of(int(shape[-1]), 6)
                if k and (out.name == "detections" or len(outs) == 1):
                    meta = _metadata(model.source, imgsz, k, "decoded", batch=1, extra={"kpt_dims": 3, "official_export": "nms"})
                    return cls(meta, [i], "nms", model.source)
        levels = []
        for i, out in enumerate(outs):
            shape = tuple(out.shape)
            if len(shape) == 5 and None not in shape[1:] and _keypoints_of(int(shape[4]), 5 + _NUM_CLASSES):
                levels.append((i, shape))
        for i, out in enumerate(outs):  # --grid: the decoded tensor is enough
            shape = tuple(out.shape)
            if len(shape) == 3 and levels and shape[-1] == levels[0][1][4]:
                k = _keypoints_of(int(shape[-1]), 5 + _NUM_CLASSES)
                meta = _metadata(model.source, imgsz, k, "decoded", extra={"kpt_dims": 3, "official_export": "grid"})
                return cls(meta, [i], "grid", model.source)
        if not levels or len(levels) != len(outs):
            return None
        strides = []
        for _, shape in levels:
            s = imgsz[0] // int(shape[2])
            if s * int(shape[2]) != imgsz[0] or s * int(shape[3]) != imgsz[1]:
                raise ModelError(f"{model.source}: output {shape} does not tile the {imgsz[0]}x{imgsz[1]} input")
            strides.append(s)
        order = sorted(range(len(levels)), key=lambda j: strides[j])
        if len(levels) not in OFFICIAL_ANCHORS or [strides[j] for j in order] != [8 * 2**n for n in range(len(levels))]:
            raise ModelError(f"{model.source}: raw outputs at strides {sorted(strides)} are not a 3- or 4-level YOLO-Pose head")
        na = int(levels[0][1][1])
        anchors = OFFICIAL_ANCHORS[len(levels)]
        if na != len(anchors[0]):
            raise ModelError(f"{model.source}: {na} anchors per cell; the authors' models have {len(anchors[0])}")
        k = _keypoints_of(int(levels[0][1][4]), 5 + _NUM_CLASSES)
        meta = _metadata(
            model.source, imgsz, k, "raw",
            strides=tuple(8 * 2**n for n in range(len(levels))),
            anchors=tuple(tuple((float(w), float(h)) for w, h in lvl) for lvl in anchors),
            extra={"official_export": "raw", "anchors_from": "the authors' YAML defaults (their ONNX holds none)"},
        )
        return cls(meta, [levels[j][0] for j in order], "raw", model.source)

    def arrange(self, outputs: Sequence[np.ndarray]) -> List[np.ndarray]:
        if self.form == "raw":
            return [a for y in outputs for a in _level_to_ours(y, self.metadata)]
        if self.form == "grid":
            return [_grid_to_rows(outputs[0], self.metadata)]
        return [_detections_to_rows(outputs[0])]

    def decode(self, arrays: Sequence[np.ndarray], conf: float) -> List[Candidates]:
        meta = self.metadata
        if self.form == "raw":
            levels = [tuple(arrays[i : i + 3]) for i in range(0, len(arrays), 3)]
            return decode(levels, meta.strides, meta.anchors, conf)  # type: ignore[arg-type]
        return decode_flat(arrays[0], conf, 1, 3, channels_first=False)

    @classmethod
    def example(cls) -> LayoutExample:
        k = 17
        det = np.zeros((5, 6 + 3 * k), np.float32)
        det[:, :6] = [[4, 6, 20, 50, 0.8, 0], [30, 10, 60, 40, 0.4, 0], [0, 0, 8, 8, 0.02, 0], [1, 1, 9, 9, 0.015, 0],
                      [2, 2, 3, 3, 0.011, 0]]
        for r in range(5):
            det[r, 6:] = np.stack([det[r, 0] + np.arange(k), det[r, 1] + np.arange(k), np.full(k, 0.5 + 0.02 * r)], 1).reshape(-1)
        keep = det[:2]
        return LayoutExample(
            outputs=(("detections", det),),
            properties={},
            imgsz=(64, 64),
            conf=0.25,
            boxes=keep[:, :4].copy(),
            scores=keep[:, 4].copy(),
            keypoints=keep[:, 6:].reshape(2, k, 3),
        )


def _metadata(source: str, imgsz: Tuple[int, int], k: int, fmt: str, **fields: Any) -> ModelMetadata:
    return ModelMetadata(
        model=f"official YOLO-Pose export ({Path(source).name})",
        imgsz=imgsz,
        num_classes=_NUM_CLASSES,
        output_format=fmt,
        description="exported by the authors' models/export.py (edgeai-yolov5, yolo-pose)",
        **keypoint_fields(k),
        **fields,
    )


def _level_to_ours(y: np.ndarray, meta: ModelMetadata) -> List[np.ndarray]:
    """``(B, na, H, W, 5 + nc + 3K)`` -> our ``det``, ``kpt_xy``, ``kpt_conf`` (NHWC, anchor-major)."""
    b, na, h, w, no = y.shape
    nc, k = meta.num_classes, meta.num_keypoints
    y = y.transpose(0, 2, 3, 1, 4)  # B, H, W, na, no
    det = y[..., : 5 + nc].reshape(b, h, w, na * (5 + nc))
    kpts = y[..., 5 + nc :].reshape(b, h, w, na, k, 3)
    kpt_xy = kpts[..., :2].reshape(b, h, w, na * 2 * k)
    kpt_conf = kpts[..., 2].reshape(b, h, w, na * k)
    return [np.ascontiguousarray(a, dtype=np.float32) for a in (det, kpt_xy, kpt_conf)]


def _grid_to_rows(y: np.ndarray, meta: ModelMetadata) -> np.ndarray:
    """``(B, N, 5 + nc + 3K)`` with separate obj and class scores -> ``(B, N, 5 + 3K)`` with
    ``score = obj * best class``."""
    nc = meta.num_classes
    score = y[..., 4:5] * y[..., 5 : 5 + nc].max(axis=-1, keepdims=True)
    return np.ascontiguousarray(np.concatenate([y[..., :4], score, y[..., 5 + nc :]], axis=-1), dtype=np.float32)


def _detections_to_rows(y: np.ndarray) -> np.ndarray:
    """``(n, 6 + 3K)`` (xyxy, score, class, keypoints) -> ``(1, n, 5 + 3K)`` (cxcywh, score, keypoints)."""
    if y.ndim == 3:  # a batch dimension added by some runtimes
        y = y[0]
    xyxy = y[:, :4]
    cxcywh = np.concatenate([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    return np.concatenate([cxcywh, y[:, 4:5], y[:, 6:]], axis=1)[None].astype(np.float32)
