"""Run ONNX files exported by the authors' own ``models/export.py`` (TexasInstruments
edgeai-yolov5, branch ``yolo-pose``), which carry no yolopose metadata.

Their exporter writes one of three output sets, recognised here by shape:

- default: per level one raw tensor ``(B, na, H/s, W/s, 5 + nc + 3K)``: ``tx, ty, tw, th, obj,
  cls..., (kx, ky, kconf) * K`` before any sigmoid (their ``Detect`` in export mode);
- ``--grid``: additionally ``(B, N, 5 + nc + 3K)`` decoded in input pixels (``cx, cy, w, h, obj,
  cls..., (x, y, conf) * K`` with sigmoids applied);
- ``--export-nms``: one tensor ``detections`` ``(n, 6 + 3K)``: ``x1, y1, x2, y2, score, class,
  (x, y, conf) * K`` after their NMS (batch 1; confidence threshold 0.01 baked in).

Each is converted into the layout the SDK already decodes: raw levels into our ``det`` /
``kpt_xy`` / ``kpt_conf`` NHWC tensors, decoded rows into ``cx, cy, w, h, score, keypoints``.
Raw outputs need anchors, which their ONNX does not hold: the anchors of the authors' YAMLs
(P6 for 4 levels, P5 for 3) are used.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .errors import ModelError
from .keypoints import COCO_FLIP_INDEX, COCO_KEYPOINT_NAMES, COCO_SKELETON
from .metadata import ModelMetadata

__all__ = ["OFFICIAL_CONVERTERS", "official_export_plan", "OFFICIAL_ANCHORS"]

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


def level_to_ours(y: np.ndarray, meta: ModelMetadata) -> List[np.ndarray]:
    """``(B, na, H, W, 5 + nc + 3K)`` -> our ``det``, ``kpt_xy``, ``kpt_conf`` (NHWC, anchor-major)."""
    b, na, h, w, no = y.shape
    nc, k = meta.num_classes, meta.num_keypoints
    y = y.transpose(0, 2, 3, 1, 4)  # B, H, W, na, no
    det = y[..., : 5 + nc].reshape(b, h, w, na * (5 + nc))
    kpts = y[..., 5 + nc :].reshape(b, h, w, na, k, 3)
    kpt_xy = kpts[..., :2].reshape(b, h, w, na * 2 * k)
    kpt_conf = kpts[..., 2].reshape(b, h, w, na * k)
    return [np.ascontiguousarray(a, dtype=np.float32) for a in (det, kpt_xy, kpt_conf)]


def decoded_to_ours(y: np.ndarray, meta: ModelMetadata) -> List[np.ndarray]:
    """``(B, N, 5 + nc + 3K)`` with separate obj and class scores -> ``(B, N, 5 + 3K)`` with
    ``score = obj * best class``."""
    nc = meta.num_classes
    score = y[..., 4:5] * y[..., 5 : 5 + nc].max(axis=-1, keepdims=True)
    return [np.ascontiguousarray(np.concatenate([y[..., :4], score, y[..., 5 + nc :]], axis=-1), dtype=np.float32)]


def detections_to_ours(y: np.ndarray, meta: ModelMetadata) -> List[np.ndarray]:
    """``(n, 6 + 3K)`` (xyxy, score, class, keypoints) -> ``(1, n, 5 + 3K)`` (cxcywh, score, keypoints)."""
    if y.ndim == 3:  # a batch dimension added by some runtimes
        y = y[0]
    xyxy = y[:, :4]
    cxcywh = np.concatenate([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], axis=1)
    return [np.concatenate([cxcywh, y[:, 4:5], y[:, 6:]], axis=1)[None].astype(np.float32)]


#: slot conversion name -> function(engine array, metadata) -> arrays appended to the outputs
OFFICIAL_CONVERTERS: Dict[str, Callable[[np.ndarray, ModelMetadata], List[np.ndarray]]] = {
    "official_level": level_to_ours,
    "official_decoded": decoded_to_ours,
    "official_detections": detections_to_ours,
}


def _metadata(source: str, imgsz: Tuple[int, int], k: int, fmt: str, **fields: Any) -> ModelMetadata:
    coco = k == len(COCO_KEYPOINT_NAMES)
    return ModelMetadata(
        model=f"official YOLO-Pose export ({Path(source).name})",
        imgsz=imgsz,
        num_keypoints=k,
        num_classes=_NUM_CLASSES,
        keypoint_names=COCO_KEYPOINT_NAMES if coco else tuple(f"kpt_{i}" for i in range(k)),
        skeleton=COCO_SKELETON if coco else (),
        flip_index=COCO_FLIP_INDEX if coco else tuple(range(k)),
        output_format=fmt,
        description="exported by the authors' models/export.py (edgeai-yolov5, yolo-pose)",
        **fields,
    )


def official_export_plan(runtime: Any, imgsz: Tuple[int, int]) -> Optional[Tuple[ModelMetadata, List[Tuple[int, str, Any]]]]:
    """``(metadata, [(output index, converter name, role)])`` when ``runtime``'s outputs are those of
    the authors' exporter (see module docstring), else ``None``. ``imgsz`` is the input ``(h, w)``."""
    source = str(runtime.path)
    outs = list(runtime.outputs)
    for i, out in enumerate(outs):  # --export-nms
        shape = tuple(out.shape)
        if (out.name == "detections" or len(shape) == 2) and len(shape) in (2, 3) and shape[-1] is not None:
            k = _keypoints_of(int(shape[-1]), 6)
            if k and (out.name == "detections" or len(outs) == 1):
                meta = _metadata(source, imgsz, k, "decoded", batch=1, extra={"kpt_dims": 3, "official_export": "nms"})
                return meta, [(i, "official_detections", "decoded")]
    levels = []
    for i, out in enumerate(outs):
        shape = tuple(out.shape)
        if len(shape) == 5 and None not in shape[1:] and _keypoints_of(int(shape[4]), 5 + _NUM_CLASSES):
            levels.append((i, shape))
    for i, out in enumerate(outs):  # --grid: the decoded tensor is enough
        shape = tuple(out.shape)
        if len(shape) == 3 and levels and shape[-1] == levels[0][1][4]:
            k = _keypoints_of(int(shape[-1]), 5 + _NUM_CLASSES)
            meta = _metadata(source, imgsz, k, "decoded", extra={"kpt_dims": 3, "official_export": "grid"})
            return meta, [(i, "official_decoded", "decoded")]
    if not levels or len(levels) != len(outs):
        return None
    strides = []
    for _, shape in levels:
        s = imgsz[0] // int(shape[2])
        if s * int(shape[2]) != imgsz[0] or s * int(shape[3]) != imgsz[1]:
            raise ModelError(f"{source}: output {shape} does not tile the {imgsz[0]}x{imgsz[1]} input")
        strides.append(s)
    order = sorted(range(len(levels)), key=lambda j: strides[j])
    if len(levels) not in OFFICIAL_ANCHORS or [strides[j] for j in order] != [8 * 2**n for n in range(len(levels))]:
        raise ModelError(f"{source}: raw outputs at strides {sorted(strides)} are not a 3- or 4-level YOLO-Pose head")
    na = int(levels[0][1][1])
    anchors = OFFICIAL_ANCHORS[len(levels)]
    if na != len(anchors[0]):
        raise ModelError(f"{source}: {na} anchors per cell; the authors' models have {len(anchors[0])}")
    k = _keypoints_of(int(levels[0][1][4]), 5 + _NUM_CLASSES)
    meta = _metadata(
        source, imgsz, k, "raw",
        strides=tuple(8 * 2**n for n in range(len(levels))),
        anchors=tuple(tuple((float(w), float(h)) for w, h in lvl) for lvl in anchors),
        extra={"official_export": "raw", "anchors_from": "the authors' YAML defaults (their ONNX holds none)"},
    )
    return meta, [(levels[j][0], "official_level", (n, "official")) for n, j in enumerate(order)]
