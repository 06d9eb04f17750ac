"""The step after decode: cap the candidates, per-class NMS, keep the best ``max_det``.

One function for every caller (the SDK's ``PoseEstimator.postprocess``, the training validator,
the post-processing benchmark), so that validation numbers measure what users get.
"""
from __future__ import annotations

import numpy as np

from .decode import Candidates
from .nms import batched_nms

__all__ = ["select_detections"]


def select_detections(cand: Candidates, iou: float, max_det: int = 300, max_nms: int = 30000, nms: bool = True) -> Candidates:
    """Non-maximum suppression of one image's candidates, per class.

    Only the ``max_nms`` highest scores enter NMS (YOLOv5's cap: it bounds the time at a low
    confidence threshold; ties at the cut keep the lower index), then at most ``max_det``
    detections are kept, in decreasing score order. ``nms=False`` (end-to-end models, whose
    candidates hold no duplicates) keeps the ``max_det`` best without suppressing any.
    """
    if len(cand) == 0:
        return cand
    if not nms:
        order = np.argsort(-cand.scores, kind="stable")[:max_det]
        return cand.take(order)
    if len(cand) > max_nms:
        scores = cand.scores
        kth = np.partition(scores, len(scores) - max_nms)[len(scores) - max_nms]  # the max_nms-th best
        above = np.flatnonzero(scores > kth)
        ties = np.flatnonzero(scores == kth)[: max_nms - len(above)]
        cand = cand.take(np.sort(np.concatenate([above, ties])))
    keep = batched_nms(cand.boxes, cand.scores, cand.class_ids, iou, max_output=max_det)
    return cand.take(keep)
