"""yolopose's own exports: per level three raw head tensors ``det``, ``kpt_xy``, ``kpt_conf``
(NHWC or NCHW, matched by shape against the metadata; names are a hint), decoded by
:func:`yolopose.core.ops.decode` (the paper's formulas, see :mod:`yolopose.core.metadata` for the contract)."""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..core.errors import ModelError
from ..core.metadata import METADATA_KEY, OUTPUT_KINDS, ModelMetadata
from ..core.ops.decode import Candidates, decode
from .base import LayoutExample, ModelFacts, OutputLayout

__all__ = ["RawLayout"]

Role = Tuple[int, str]  # (level, kind)


class RawLayout(OutputLayout):
    """``metadata.output_format == "raw"``: ``infer`` returns ``[det0, kpt_xy0, kpt_conf0, det1, ...]`` NHWC."""

    name = "raw"

    def __init__(self, metadata: ModelMetadata, used: Sequence[int], transposed: Sequence[bool], source: str = "") -> None:
        super().__init__(metadata, used, source)
        self.transposed = tuple(transposed)
        self.roles: Tuple[Role, ...] = tuple((lvl, kind) for lvl in range(len(metadata.strides)) for kind in OUTPUT_KINDS)
        self.expected = {key: shape[1:] for key, shape in metadata.raw_output_shapes().items()}

    @classmethod
    def match(cls, model: ModelFacts) -> Optional["RawLayout"]:
        meta = model.metadata
        if meta is None or meta.output_format != "raw":
            return None
        expected = {key: shape[1:] for key, shape in meta.raw_output_shapes().items()}
        by_name = {o.name: (o.level, o.kind) for o in meta.outputs if o.name}
        found: Dict[Role, Tuple[int, bool]] = {}
        for i, out in enumerate(model.outputs):
            dims = tuple(out.shape[1:])
            role, transposed = None, False
            for key, (h, w, c) in expected.items():
                if dims == (h, w, c):
                    role = key
                elif dims == (c, h, w) and (c, h, w) != (h, w, c):
                    role, transposed = key, True
                if role is not None:
                    break
            if role is None and out.name in by_name and None in dims:
                role = by_name[out.name]  # dynamic shapes: fall back to the names in the metadata
            if role is None:
                continue
            if role in found:
                raise ModelError(f"{model.source}: two outputs match level {role[0]} {role[1]} (shape {out.shape})")
            found[role] = (i, transposed)
        missing = [key for key in expected if key not in found]
        if missing:
            want = ", ".join(f"level {lvl} {kind} (batch, {', '.join(map(str, expected[(lvl, kind)]))})" for lvl, kind in missing)
            raise ModelError(f"{model.source}: outputs do not match the metadata; missing {want}; the model has {model.describe_outputs()}")
        order = [found[(lvl, kind)] for lvl in range(len(meta.strides)) for kind in OUTPUT_KINDS]
        return cls(meta, [i for i, _ in order], [t for _, t in order], model.source)

    def arrange(self, outputs: Sequence[np.ndarray]) -> List[np.ndarray]:
        arranged = []
        for y, transposed, role in zip(outputs, self.transposed, self.roles):
            if transposed:
                y = np.ascontiguousarray(y.transpose(0, 2, 3, 1))
            want = self.expected[role]
            if tuple(y.shape[1:]) != want:
                raise ModelError(
                    f"{self.source}: the level {role[0]} {role[1]} output has shape {tuple(y.shape)}, "
                    f"expected (batch, {', '.join(map(str, want))})"
                )
            arranged.append(y)
        return arranged

    def decode(self, arrays: Sequence[np.ndarray], conf: float) -> List[Candidates]:
        levels = [tuple(arrays[i : i + 3]) for i in range(0, len(arrays), 3)]
        return decode(levels, self.metadata.strides, self.metadata.anchors, conf)  # type: ignore[arg-type]

    @classmethod
    def example(cls) -> LayoutExample:
        k, imgsz, strides, anchors = 17, (64, 64), (16, 32), (((20.0, 30.0),), ((40.0, 50.0),))
        meta = ModelMetadata(model="raw-layout-example", imgsz=imgsz, strides=strides, anchors=anchors, num_keypoints=k)
        sig = lambda v: 1.0 / (1.0 + math.exp(-v))  # noqa: E731
        outs = {}
        for lvl, s in enumerate(strides):
            h, w = imgsz[0] // s, imgsz[1] // s
            det = np.zeros((1, h, w, 6), np.float32)
            det[..., 4] = -10.0  # background
            outs[(lvl, "det")] = det
            outs[(lvl, "kpt_xy")] = np.zeros((1, h, w, 2 * k), np.float32)
            outs[(lvl, "kpt_conf")] = np.full((1, h, w, k), -3.0, np.float32)
        boxes, scores, keypoints = [], [], []
        # (level, gx, gy, obj logit, cls logit, keypoint raw base): the third is below conf 0.25
        for lvl, gx, gy, obj, cls_, base in ((0, 1, 2, 2.0, 1.0, 0.25), (1, 0, 1, 0.5, 0.0, 0.5), (0, 3, 0, -1.0, 0.0, 0.0)):
            s, (aw, ah) = strides[lvl], anchors[lvl][0]
            outs[(lvl, "det")][0, gy, gx] = [0.0, 0.0, 0.0, 0.0, obj, cls_]  # t = 0: centre of the cell, size = anchor
            raw_xy = np.array([[base + 0.01 * j, base - 0.01 * j] for j in range(k)], np.float32)
            conf_logits = np.array([(j % 3) - 1.0 for j in range(k)], np.float32)
            outs[(lvl, "kpt_xy")][0, gy, gx] = raw_xy.reshape(-1)
            outs[(lvl, "kpt_conf")][0, gy, gx] = conf_logits
            score = sig(obj) * sig(cls_)
            if score < 0.25:
                continue
            cx, cy = (gx + 0.5) * s, (gy + 0.5) * s
            boxes.append([cx - aw / 2, cy - ah / 2, cx + aw / 2, cy + ah / 2])
            scores.append(score)
            kx = (2 * raw_xy[:, 0] - 0.5 + gx) * s
            ky = (2 * raw_xy[:, 1] - 0.5 + gy) * s
            keypoints.append(np.stack([kx, ky, [sig(c) for c in conf_logits]], axis=1))
        return LayoutExample(
            outputs=tuple((f"{kind}{lvl}", outs[(lvl, kind)]) for lvl in range(len(strides)) for kind in OUTPUT_KINDS),
            properties={METADATA_KEY: meta.to_json()},
            imgsz=imgsz,
            conf=0.25,
            boxes=np.array(boxes, np.float32),
            scores=np.array(scores, np.float32),
            keypoints=np.array(keypoints, np.float32),
        )
