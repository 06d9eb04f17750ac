"""Pairwise similarities between tracked people and new detections: box IoU and keypoint OKS."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from ..keypoints import oks_sigmas
from ..ops import box_iou

__all__ = ["box_iou", "oks_matrix"]


def oks_matrix(
    kpts_a: np.ndarray,
    kpts_b: np.ndarray,
    areas_a: np.ndarray,
    sigmas: Optional[Sequence[float]] = None,
    min_conf: float = 0.3,
) -> Tuple[np.ndarray, np.ndarray]:
    """Object keypoint similarity of every ``a`` against every ``b``.

    ``kpts_a`` ``(N, K, 3)`` and ``kpts_b`` ``(M, K, 3)`` are ``(x, y, conf)``; ``areas_a`` ``(N,)``
    the object scale ``s^2`` in pixels^2 of each ``a`` (its box area). A keypoint counts when its
    confidence is at least ``min_conf`` in both. COCO's formula:
    ``OKS = mean over counted k of exp(-d_k^2 / (2 s^2 (2 sigma_k)^2))``.

    Returns ``(oks, counted)``: ``(N, M)`` similarities (0 where no keypoint is counted) and the
    ``(N, M)`` number of counted keypoints.
    """
    a = np.asarray(kpts_a, dtype=np.float64)
    b = np.asarray(kpts_b, dtype=np.float64)
    n, m = a.shape[0], b.shape[0]
    if n == 0 or m == 0:
        return np.zeros((n, m)), np.zeros((n, m), dtype=np.int64)
    k = a.shape[1]
    sig = np.asarray(oks_sigmas(k) if sigmas is None else sigmas, dtype=np.float64)
    var = (2.0 * sig) ** 2  # (K,)
    d2 = ((a[:, None, :, :2] - b[None, :, :, :2]) ** 2).sum(-1)  # (N, M, K)
    area = np.maximum(np.asarray(areas_a, dtype=np.float64), 1.0)[:, None, None]
    e = np.exp(-d2 / (2.0 * area * var))
    both = (a[:, None, :, 2] >= min_conf) & (b[None, :, :, 2] >= min_conf)
    both &= np.isfinite(d2)
    counted = both.sum(-1)
    oks = np.where(both, e, 0.0).sum(-1) / np.maximum(counted, 1)
    return oks, counted
