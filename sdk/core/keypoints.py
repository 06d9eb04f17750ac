"""The COCO person keypoint definition shared by the SDK, training and export."""
from __future__ import annotations

from typing import Tuple

__all__ = ["COCO_KEYPOINT_NAMES", "COCO_SKELETON", "COCO_FLIP_INDEX", "COCO_OKS_SIGMAS", "NUM_COCO_KEYPOINTS", "oks_sigmas"]

COCO_KEYPOINT_NAMES: Tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NUM_COCO_KEYPOINTS = len(COCO_KEYPOINT_NAMES)

#: Limb connections as 0-based keypoint index pairs (COCO's skeleton, which is 1-based).
COCO_SKELETON: Tuple[Tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

#: Index of each keypoint's mirror image under a left-right flip.
COCO_FLIP_INDEX: Tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

#: Per-keypoint OKS sigmas used by COCO evaluation and by the OKS loss.
COCO_OKS_SIGMAS: Tuple[float, ...] = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)


def oks_sigmas(num_keypoints: int) -> Tuple[float, ...]:
    """Per-keypoint OKS sigmas for a layout of ``num_keypoints``: COCO's for 17 keypoints, else the
    mean of COCO's for every keypoint. The one default of the OKS loss, evaluation and tracking."""
    if num_keypoints == NUM_COCO_KEYPOINTS:
        return COCO_OKS_SIGMAS
    return (sum(COCO_OKS_SIGMAS) / len(COCO_OKS_SIGMAS),) * int(num_keypoints)
