"""Greedy non-maximum suppression in numpy, index-compatible with ``torchvision.ops.nms``.

:func:`nms` returns exactly the indices ``torchvision.ops.nms`` returns for the same input:

- candidates are visited in a *stable* descending sort of the scores (ties: lower index first);
- IoU is computed in the boxes' floating dtype with torchvision's arithmetic
  (``inter / (area_i + area_j - inter)``, zero-area pairs give NaN and suppress nothing);
- a box is suppressed when its IoU with a kept box is strictly greater than the threshold
  (compared as a double, as in torchvision's C++ kernel).

There is no Python loop over boxes. The sorted boxes are processed in blocks: each block is first
checked against the boxes kept so far (one matrix comparison), then resolved internally by
Cluster-NMS's fixed-point iteration, which reaches greedy NMS's exact result (the fixed point of
``keep[j] = not any(keep[i] and iou[i, j] > t for i < j)`` is unique and equals the greedy one).
Memory stays bounded by ``block_size * max(block_size, kept)`` whatever the number of candidates,
and ``max_output`` stops as soon as enough boxes are kept (the result is then torchvision's first
``max_output`` indices).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["nms", "batched_nms", "box_iou", "box_iou_pairs"]

#: Rows of kept boxes compared with one block at a time (bounds the temporary IoU matrix).
_KEPT_CHUNK = 4096


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``(N, 4)`` and ``(M, 4)`` xyxy boxes -> ``(N, M)``.

    Same arithmetic as torchvision (no ``+1``); pairs whose union is zero give NaN.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return _iou(a, area_a, b, area_b)


def box_iou_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of ``a[i]`` with ``b[i]`` for ``(N, 4)`` xyxy boxes -> ``(N,)`` (:func:`box_iou`'s
    arithmetic, without the ``N x N`` matrix)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    w = np.maximum(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0)
    h = np.maximum(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0)
    inter = w * h
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / union


def _iou(a: np.ndarray, area_a: np.ndarray, b: np.ndarray, area_b: np.ndarray) -> np.ndarray:
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    np.maximum(w, 0, out=w)
    np.maximum(h, 0, out=h)
    inter = w * h
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / ((area_a[:, None] + area_b[None, :]) - inter)


def _threshold(iou_threshold: float, dtype: np.dtype) -> np.floating:
    """A threshold in ``dtype`` such that ``x > t`` (in dtype) iff ``double(x) > iou_threshold``."""
    t = np.asarray(iou_threshold, dtype=dtype)[()]
    if float(t) > float(iou_threshold):  # rounded up: the largest value below it is equivalent
        t = np.nextafter(t, np.asarray(-np.inf, dtype=dtype))
    return t


def _as_boxes(boxes: np.ndarray, scores: np.ndarray):
    boxes = np.asarray(boxes)
    scores = np.asarray(scores)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"nms expects boxes of shape (N, 4), got {boxes.shape}")
    if scores.shape != (boxes.shape[0],):
        raise ValueError(f"nms expects scores of shape ({boxes.shape[0]},), got {scores.shape}")
    if not np.issubdtype(boxes.dtype, np.floating):
        boxes = boxes.astype(np.float32)
    return boxes, scores


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float,
    max_output: Optional[int] = None,
    block_size: int = 128,
) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, in decreasing score order (``int64``).

    ``boxes`` is ``(N, 4)`` xyxy, ``scores`` ``(N,)`` finite. ``max_output`` keeps at most that
    many boxes (the first ones torchvision would return) and lets the search stop early.
    ``block_size`` only trades speed for memory; the result does not depend on it.
    """
    boxes, scores = _as_boxes(boxes, scores)
    n = boxes.shape[0]
    limit = n if max_output is None else max(0, min(int(max_output), n))
    if n == 0 or limit == 0:
        return np.zeros((0,), dtype=np.int64)
    order = np.argsort(-scores, kind="stable")
    b = np.ascontiguousarray(boxes[order])
    areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    thr = _threshold(iou_threshold, b.dtype)
    block_size = max(1, int(block_size))

    kept = np.empty(limit, dtype=np.int64)  # positions in the sorted order
    nkept = 0
    for start in range(0, n, block_size):  # loop over blocks, not boxes
        pos = np.arange(start, min(n, start + block_size))
        alive = np.ones(len(pos), dtype=bool)
        for k0 in range(0, nkept, _KEPT_CHUNK):  # earlier kept boxes, in bounded chunks
            kk = kept[k0 : min(nkept, k0 + _KEPT_CHUNK)]
            alive &= ~(_iou(b[kk], areas[kk], b[pos], areas[pos]) > thr).any(axis=0)
        pos = pos[alive]
        if pos.size == 0:
            continue
        over = np.triu(_iou(b[pos], areas[pos], b[pos], areas[pos]) > thr, k=1)
        keep = np.ones(pos.size, dtype=bool)
        while True:  # fixed-point iteration: at most pos.size rounds, usually a handful
            new = ~over[keep].any(axis=0)
            if np.array_equal(new, keep):
                break
            keep = new
        survivors = pos[keep][: limit - nkept]
        kept[nkept : nkept + survivors.size] = survivors
        nkept += survivors.size
        if nkept >= limit:
            break
    return order[kept[:nkept]].astype(np.int64, copy=False)


def batched_nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    iou_threshold: float,
    max_output: Optional[int] = None,
) -> np.ndarray:
    """Per-class NMS (boxes of different classes never suppress each other).

    Uses the coordinate-offset trick: the boxes of class ``c`` are shifted by ``c * span`` with
    ``span = 2 * max(|coordinate|) + 1``, so boxes of different classes never overlap. One class
    only: plain :func:`nms`.
    """
    boxes, scores = _as_boxes(boxes, scores)
    class_ids = np.asarray(class_ids)
    if class_ids.shape != scores.shape:
        raise ValueError(f"batched_nms expects class_ids of shape {scores.shape}, got {class_ids.shape}")
    if boxes.shape[0] == 0:
        return np.zeros((0,), dtype=np.int64)
    if class_ids.min() == class_ids.max():
        return nms(boxes, scores, iou_threshold, max_output)
    span = float(np.abs(boxes).max()) * 2 + 1
    shifted = boxes + (class_ids.astype(boxes.dtype) * span)[:, None]
    return nms(shifted, scores, iou_threshold, max_output)
