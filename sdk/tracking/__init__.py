"""Multi-person pose tracking and keypoint smoothing (numpy only).

    from yolopose.tracking import PoseTracker
    tracker = PoseTracker()
    for frame in frames:
        people = tracker.update(estimator.predict(frame), image_size=frame.shape[:2])
        people.ids, people.keypoints   # stable ids, smoothed keypoints
"""
from __future__ import annotations

from .assignment import greedy_assignment, linear_sum_assignment
from .kalman import KalmanBoxFilter
from .metrics import JitterMetrics, MOTMetrics, jitter_metrics, mot_metrics
from ..core.oks import oks_matrix, oks_pairs
from .smoothing import KeypointSmoother, OneEuroFilter
from .tracked import TrackedPoses
from .tracker import PoseTracker

__all__ = [
    "JitterMetrics",
    "KalmanBoxFilter",
    "KeypointSmoother",
    "MOTMetrics",
    "OneEuroFilter",
    "PoseTracker",
    "TrackedPoses",
    "greedy_assignment",
    "jitter_metrics",
    "linear_sum_assignment",
    "mot_metrics",
    "oks_matrix",
    "oks_pairs",
]
