"""Map network-input (letterboxed) coordinates back to original image pixels."""
from __future__ import annotations

import numpy as np

from .letterbox import LetterboxTransform

__all__ = ["scale_boxes", "scale_keypoints"]


def scale_boxes(boxes: np.ndarray, transform: LetterboxTransform, clip: bool = True) -> np.ndarray:
    """``(N, 4)`` xyxy boxes in network pixels -> original pixels, clipped to the image by default."""
    return transform.boxes_to_original(boxes, clip=clip)


def scale_keypoints(keypoints: np.ndarray, transform: LetterboxTransform) -> np.ndarray:
    """``(N, K, 2 or 3)`` keypoints in network pixels -> original pixels (confidence unchanged).

    Keypoints are not clipped: a joint predicted just outside the frame keeps its position.
    """
    kpts = np.array(keypoints, dtype=np.float32, copy=True)
    kpts[..., :2] = transform.to_original(kpts[..., :2])
    return kpts
