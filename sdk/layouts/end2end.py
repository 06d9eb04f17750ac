"""End-to-end outputs: one tensor ``(B, N, 6 + K*d)`` of final detections, one row each:
``x1, y1, x2, y2, score, class, (x, y[, visibility]) * K`` in input pixels (normalised to [0, 1] in
TFLite files that other tools wrote with NHWC input), rows past the last detection padded with score 0. The model's own
one-to-one head already removed duplicates, so no NMS runs: the SDK keeps the rows with
``score >= conf``, the ``max_det`` best.

Ultralytics YOLO26-pose exports this by default (``end2end=True``: ``(batch, 300, 57)``, with
``end2end``, ``kpt_shape``, ``names``, ``imgsz`` and ``task`` in the ONNX ``metadata_props``);
a model with yolopose metadata says ``output_format: "end2end"``. Without either, a model with a
single 3-D output whose last dimension is ``6 + 3K`` (and not ``5 + 3K``, the decoded layout's)
is read as end-to-end.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from ..core.errors import ModelError
from ..core.ops.decode import Candidates
from ._foreign import declared_end2end, declared_kpt_shape, declared_num_classes, foreign_metadata
from .base import LayoutExample, ModelFacts, OutputLayout

__all__ = ["EndToEndLayout"]

_FIXED = 6  # x1, y1, x2, y2, score, class


class EndToEndLayout(OutputLayout):
    """``infer`` returns ``[pred]``, ``pred`` ``(B, N, 6 + K*d)``."""

    name = "end2end"
    nms = False

    def __init__(self, metadata, used: Sequence[int], normalized: bool, source: str = "") -> None:
        super().__init__(metadata, used, source)
        self.normalized = normalized

    @classmethod
    def match(cls, model: ModelFacts) -> Optional["EndToEndLayout"]:
        meta = model.metadata
        if meta is not None:
            if meta.output_format != "end2end":
                return None
            d = int(meta.extra.get("kpt_dims", 3))
            index = _find(model, _FIXED + meta.num_keypoints * d, single=False)
            if index is None:
                want = _FIXED + meta.num_keypoints * d
                raise ModelError(f"{model.source}: no output of shape (batch, N, {want}) (end-to-end poses); the model has {model.describe_outputs()}")
            return cls(meta, [index], bool(meta.extra.get("normalized_coordinates", False)), model.source)
        props = model.properties
        stated = declared_end2end(props)
        if stated is False or props.get("task", "pose") != "pose":
            return None
        kpt = declared_kpt_shape(props, model.source)
        if kpt is None:  # no stated shape: only a single output whose width fits 6 + 3K and not 5 + 3K
            kpt = _guess_kpt_shape(model)
            if kpt is None:
                return None
        index = _find(model, _FIXED + kpt[0] * kpt[1], single=not stated)
        if index is None:
            if stated:
                want = _FIXED + kpt[0] * kpt[1]
                raise ModelError(f"{model.source}: its metadata says end2end, but no output has shape (batch, N, {want}); "
                                 f"the model has {model.describe_outputs()}")
            return None
        # Ultralytics' TFLite files from onnx2tf (NHWC input) hold [0, 1] coordinates, those from litert-torch
        # (NCHW input) pixels
        normalized = Path(model.source).suffix.lower() == ".tflite" and model.input_layout == "NHWC"
        nc = declared_num_classes(props) or 1
        meta = foreign_metadata(model, "end2end", kpt[0], nc, kpt_dims=kpt[1], normalized_coordinates=normalized)
        return cls(meta, [index], normalized, model.source)

    def decode(self, arrays: Sequence[np.ndarray], conf: float) -> List[Candidates]:
        pred = np.asarray(arrays[0])
        k, d = self.metadata.num_keypoints, int(self.metadata.extra.get("kpt_dims", 3))
        if pred.ndim != 3 or pred.shape[2] != _FIXED + k * d:
            raise ModelError(f"{self.source}: the end-to-end output has shape {pred.shape}, expected (batch, N, {_FIXED + k * d})")
        h, w = self.metadata.imgsz
        out = []
        for rows in pred:
            sel = rows[np.flatnonzero(rows[:, 4] >= conf)].astype(np.float32, copy=False)
            boxes = sel[:, :4]
            kpts = sel[:, _FIXED:].reshape(len(sel), k, d)
            if d == 2:
                kpts = np.concatenate([kpts, np.ones((len(sel), k, 1), np.float32)], axis=2)
            if self.normalized:
                boxes = boxes * np.array([w, h, w, h], np.float32)
                kpts = kpts * np.array([w, h, 1], np.float32)
            out.append(Candidates(
                np.ascontiguousarray(boxes, np.float32),
                np.ascontiguousarray(sel[:, 4], np.float32),
                np.ascontiguousarray(kpts, np.float32),
                np.rint(sel[:, 5]).astype(np.int64),
            ))
        return out

    @classmethod
    def example(cls) -> LayoutExample:
        k, n = 17, 10
        rows = np.zeros((n, _FIXED + 3 * k), np.float32)  # padding rows: all zero, score 0
        rows[0, :6] = [12, 10, 28, 50, 0.91, 0]
        rows[1, :6] = [13, 10, 29, 50, 0.62, 0]  # overlaps row 0 by IoU .89: kept, no NMS runs here
        rows[2, :6] = [38, 30, 58, 50, 0.40, 0]
        rows[3, :6] = [2, 2, 9, 9, 0.08, 0]  # below conf
        for r in range(4):
            x0, y0 = rows[r, 0], rows[r, 1]
            rows[r, 6:] = np.stack([x0 + np.arange(k), y0 + 2 * np.arange(k), np.linspace(0.05, 0.95, k)], 1).reshape(-1)
        keep = rows[:3]
        props = {"task": "pose", "end2end": "True", "kpt_shape": "[17, 3]", "names": "{0: 'person'}", "imgsz": "[64, 64]",
                 "description": "end2end-layout-example"}
        return LayoutExample(
            outputs=(("output0", rows[None]),),
            properties=props,
            imgsz=(64, 64),
            conf=0.25,
            boxes=keep[:, :4].copy(),
            scores=keep[:, 4].copy(),
            keypoints=keep[:, 6:].reshape(3, k, 3),
        )


def _find(model: ModelFacts, want: int, single: bool) -> Optional[int]:
    """Index of the 3-D output ``(B, N, want)`` (the only output when ``single``); an output whose
    last dimension is dynamic counts when it is the only 3-D one (checked on the first run)."""
    if single and len(model.outputs) != 1:
        return None
    three_d = [i for i, out in enumerate(model.outputs) if len(out.shape) == 3]
    for i in three_d:
        if model.outputs[i].shape[2] == want:
            return i
    if len(three_d) == 1 and model.outputs[three_d[0]].shape[2] is None:
        return three_d[0]
    return None


def _guess_kpt_shape(model: ModelFacts):
    if len(model.outputs) != 1 or len(model.outputs[0].shape) != 3:
        return None
    n, c = model.outputs[0].shape[1:]
    if c is None or c <= _FIXED or (c - _FIXED) % 3 or (n is not None and n <= c):  # rows outnumber columns
        return None
    return (c - _FIXED) // 3, 3
