"""Candidates from an already-decoded pose output (other tools' ``[B, 4+nc+K*d, N]`` exports).

Each column (or row) holds ``cx, cy, w, h`` in input pixels (or normalised to [0, 1]), one score
per class (already a probability), then ``K`` keypoints of ``d`` values ``x, y[, conf]``.
"""
from __future__ import annotations

from typing import List, Tuple

import numpy as np

from .decode import Candidates

__all__ = ["decode_flat"]


def decode_flat(
    pred: np.ndarray,
    conf_threshold: float = 0.25,
    num_classes: int = 1,
    kpt_dims: int = 3,
    channels_first: bool = True,
    input_size: Tuple[int, int] = (1, 1),
    normalized: bool = False,
) -> List[Candidates]:
    """``pred`` ``(B, C, N)`` (``channels_first``) or ``(B, N, C)`` -> one :class:`Candidates` per image.

    ``input_size`` is ``(h, w)`` and is used only when ``normalized`` coordinates must be scaled.
    """
    pred = np.asarray(pred)
    if pred.ndim != 3:
        raise ValueError(f"decoded pose output must be 3-D (B, C, N) or (B, N, C), got shape {pred.shape}")
    c = pred.shape[1] if channels_first else pred.shape[2]
    k, rem = divmod(c - 4 - num_classes, kpt_dims)
    if k <= 0 or rem:
        raise ValueError(f"{c} channels do not fit 4 box + {num_classes} class + K*{kpt_dims} keypoint values")
    out = []
    for p in pred:
        rows = p.T if channels_first else p  # (N, C) view
        cls = rows[:, 4 : 4 + num_classes]
        class_ids = cls.argmax(1) if num_classes > 1 else np.zeros(len(rows), np.int64)
        scores = cls[np.arange(len(rows)), class_ids] if num_classes > 1 else cls[:, 0]
        idx = np.nonzero(scores >= conf_threshold)[0]
        sel = rows[idx].astype(np.float32)
        xywh = sel[:, :4]
        kpts = sel[:, 4 + num_classes :].reshape(len(idx), k, kpt_dims)
        if kpt_dims == 2:
            kpts = np.concatenate([kpts, np.ones((len(idx), k, 1), np.float32)], axis=2)
        if normalized:
            h, w = input_size
            xywh = xywh * np.array([w, h, w, h], np.float32)
            kpts = kpts * np.array([w, h, 1], np.float32)
        boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], axis=1)
        out.append(
            Candidates(boxes, scores[idx].astype(np.float32), np.ascontiguousarray(kpts, np.float32), class_ids[idx].astype(np.int64))
        )
    return out
