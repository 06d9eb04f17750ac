"""Object keypoint similarity (OKS): COCO's formula, in one place.

For one keypoint at squared distance ``d^2`` from its reference, on an object of scale ``s^2``
(its area in pixels^2) with the keypoint's sigma ``sigma``::

    term = exp(-d^2 / (2 s^2 (2 sigma)^2))

and an object's OKS is the mean of the terms of the keypoints that count. :func:`oks_terms` is
that formula, written in pycocotools' order of operations (so that the COCO evaluation's numpy
port agrees with pycocotools to the last bit); every OKS of the package goes through it: the COCO
keypoint AP (:mod:`yolopose.core.evaluation`), the per-keypoint errors, the tracker's similarity
(:func:`oks_matrix`) and the exporter's agreement with torch (:func:`oks_pairs`).
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from .errors import ConfigError
from .keypoints import oks_sigmas

__all__ = ["oks_terms", "oks_matrix", "oks_pairs"]


def oks_terms(d2: np.ndarray, scale: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Per-keypoint OKS terms ``exp(-d2 / (2 scale (2 sigma)^2))``.

    ``d2`` ``(..., K)``: squared distances; ``scale``: the object scale ``s^2`` broadcastable to
    ``d2`` (the caller floors it: COCO adds ``eps``, others clamp at a minimum); ``sigmas`` ``(K,)``.
    """
    variances = (np.asarray(sigmas, dtype=np.float64) * 2) ** 2
    return np.exp(-(d2 / variances / scale / 2))


def _oks(a: np.ndarray, b: np.ndarray, area: np.ndarray, sigmas: Optional[Sequence[float]],
         min_conf: float) -> Tuple[np.ndarray, np.ndarray]:
    """The OKS of broadcastable keypoint arrays ``a``, ``b`` ``(..., K, 3)`` with object scale
    ``area`` ``(...)`` of ``a``: ``(oks, counted)`` over the leading dimensions."""
    k = a.shape[-2]
    sig = np.asarray(oks_sigmas(k) if sigmas is None else sigmas, dtype=np.float64)
    d2 = ((a[..., :2] - b[..., :2]) ** 2).sum(-1)  # (..., K)
    e = oks_terms(d2, np.maximum(area, 1.0)[..., None], sig)
    both = (a[..., 2] >= min_conf) & (b[..., 2] >= min_conf) & np.isfinite(d2)
    counted = both.sum(-1)
    return np.where(both, e, 0.0).sum(-1) / np.maximum(counted, 1), counted


def oks_matrix(
    kpts_a: np.ndarray,
    kpts_b: np.ndarray,
    areas_a: np.ndarray,
    sigmas: Optional[Sequence[float]] = None,
    min_conf: float = 0.3,
) -> Tuple[np.ndarray, np.ndarray]:
    """Object keypoint similarity of every ``a`` against every ``b``.

    ``kpts_a`` ``(N, K, 3)`` and ``kpts_b`` ``(M, K, 3)`` are ``(x, y, conf)``; ``areas_a`` ``(N,)``
    the object scale ``s^2`` in pixels^2 of each ``a`` (its box area, at least 1). A keypoint
    counts when its confidence is at least ``min_conf`` in both; the OKS is the mean of the
    counted keypoints' :func:`oks_terms`.

    Returns ``(oks, counted)``: ``(N, M)`` similarities (0 where no keypoint is counted) and the
    ``(N, M)`` number of counted keypoints.
    """
    a = np.asarray(kpts_a, dtype=np.float64)
    b = np.asarray(kpts_b, dtype=np.float64)
    n, m = a.shape[0], b.shape[0]
    if n == 0 or m == 0:
        return np.zeros((n, m)), np.zeros((n, m), dtype=np.int64)
    return _oks(a[:, None], b[None], np.asarray(areas_a, dtype=np.float64)[:, None], sigmas, min_conf)


def oks_pairs(
    kpts_a: np.ndarray,
    kpts_b: np.ndarray,
    areas_a: np.ndarray,
    sigmas: Optional[Sequence[float]] = None,
    min_conf: float = 0.3,
) -> Tuple[np.ndarray, np.ndarray]:
    """:func:`oks_matrix`'s diagonal without the matrix: the OKS of ``a[i]`` against ``b[i]``
    (both ``(N, K, 3)``), ``(oks, counted)`` of shape ``(N,)``; memory linear in ``N``."""
    a = np.asarray(kpts_a, dtype=np.float64)
    b = np.asarray(kpts_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ConfigError(f"oks_pairs needs keypoints of one shape, got {a.shape} and {b.shape}")
    if a.shape[0] == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return _oks(a, b, np.asarray(areas_a, dtype=np.float64), sigmas, min_conf)
