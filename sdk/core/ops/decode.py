"""Vectorized decode of YOLO-Pose raw head outputs (paper Sec. 3).

Per level with stride ``s``, grid cell ``(gx, gy)`` and anchor ``(aw, ah)``::

    box xy = (2 * sigmoid(t) - 0.5 + g) * s      box wh = (2 * sigmoid(t)) ** 2 * anchor
    kpt xy = (2 * raw - 0.5 + g) * s             obj, cls, kpt conf = sigmoid
    score  = obj * cls

Candidates are pre-filtered on the objectness logit before anything else is computed, so the
cost at the default threshold is a comparison over the objectness channel plus work on survivors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

__all__ = ["Candidates", "decode"]

LevelOutputs = Tuple[np.ndarray, np.ndarray, np.ndarray]  # det, kpt_xy, kpt_conf; each (B, H, W, C)


@dataclass(frozen=True)
class Candidates:
    """Decoded detections of one image in network-input pixels, before NMS."""

    boxes: np.ndarray  # (N, 4) float32 xyxy
    scores: np.ndarray  # (N,) float32
    keypoints: np.ndarray  # (N, K, 3) float32 x, y, conf
    class_ids: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def take(self, index: np.ndarray) -> "Candidates":
        """The candidates at ``index`` (integer or boolean array)."""
        return Candidates(self.boxes[index], self.scores[index], self.keypoints[index], self.class_ids[index])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp overflow for logits below -88 gives inf -> exactly 0
        return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


def decode(
    levels: Sequence[LevelOutputs],
    strides: Sequence[int],
    anchors: Sequence[Sequence[Tuple[float, float]]],
    conf_threshold: float = 0.25,
) -> List[Candidates]:
    """Decode raw per-level outputs into per-image candidates with ``score >= conf_threshold``.

    ``levels[i] = (det, kpt_xy, kpt_conf)``, each ``(B, H, W, C)`` float (NHWC, anchor-major
    channels; see :mod:`yolopose.core.metadata`). Returns one :class:`Candidates` per batch image.
    """
    if len(levels) != len(strides) or len(levels) != len(anchors):
        raise ValueError(f"{len(levels)} output levels for {len(strides)} strides and {len(anchors)} anchor sets")
    batch = levels[0][0].shape[0]
    thr = _logit(conf_threshold)
    parts = []
    for (det, kxy, kconf), stride, level_anchors in zip(levels, strides, anchors):
        b, h, w, c = det.shape
        na = len(level_anchors)
        k = kconf.shape[-1] // na
        det = det.reshape(b, h, w, na, c // na)
        bi, yi, xi, ai = np.nonzero(det[..., 4] >= thr)  # score <= obj, so this drops nothing needed
        if bi.size == 0:
            continue
        d = _sigmoid(det[bi, yi, xi, ai].astype(np.float32, copy=False))
        cls_scores = d[:, 5:]
        class_ids = cls_scores.argmax(1)
        scores = d[:, 4] * cls_scores[np.arange(len(d)), class_ids]
        keep = scores >= conf_threshold
        if not keep.all():
            bi, yi, xi, ai, d, scores, class_ids = (v[keep] for v in (bi, yi, xi, ai, d, scores, class_ids))
        grid = np.stack([xi, yi], axis=1).astype(np.float32) - 0.5
        xy = (d[:, 0:2] * 2.0 + grid) * stride
        wh = (d[:, 2:4] * 2.0) ** 2 * np.asarray(level_anchors, dtype=np.float32)[ai]
        boxes = np.concatenate([xy - wh / 2, xy + wh / 2], axis=1)
        kp_xy = kxy.reshape(b, h, w, na, k, 2)[bi, yi, xi, ai].astype(np.float32, copy=False)
        kp_xy = (kp_xy * 2.0 + grid[:, None, :]) * stride
        kp_conf = _sigmoid(kconf.reshape(b, h, w, na, k)[bi, yi, xi, ai].astype(np.float32, copy=False))
        kpts = np.concatenate([kp_xy, kp_conf[..., None]], axis=2)
        parts.append((bi, boxes, scores.astype(np.float32), kpts, class_ids.astype(np.int64)))
    return _split_by_image(parts, batch, num_keypoints=levels[0][2].shape[-1] // len(anchors[0]))


def _split_by_image(parts, batch: int, num_keypoints: int) -> List[Candidates]:
    if not parts:
        empty = Candidates(
            np.zeros((0, 4), np.float32),
            np.zeros((0,), np.float32),
            np.zeros((0, num_keypoints, 3), np.float32),
            np.zeros((0,), np.int64),
        )
        return [empty] * batch
    bi = np.concatenate([p[0] for p in parts])
    fields = [np.concatenate([p[i] for p in parts]) for i in range(1, 5)]
    if batch == 1:
        return [Candidates(*fields)]
    order = np.argsort(bi, kind="stable")
    bi = bi[order]
    fields = [f[order] for f in fields]
    bounds = np.searchsorted(bi, np.arange(batch + 1))
    return [Candidates(*(f[bounds[i] : bounds[i + 1]] for f in fields)) for i in range(batch)]
