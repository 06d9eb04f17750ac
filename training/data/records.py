"""Parsed dataset labels and the log of skipped samples."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import List, Optional, Set

import numpy as np

__all__ = ["ImageRecord", "SkipLog", "keypoint_problem"]

logger = logging.getLogger("yolopose.training.data")


@dataclass
class ImageRecord:
    """One image and its people, in original image pixels (continuous coordinates)."""

    path: str
    image_id: int
    height: int
    width: int
    boxes: np.ndarray  # (n, 4) float32 x1, y1, x2, y2
    keypoints: np.ndarray  # (n, K, 3) float32 x, y, v (v in {0, 1, 2}; x = y = 0 when v = 0)


def keypoint_problem(kp: np.ndarray, width: float, height: float, tol: float) -> Optional[str]:
    """What is wrong with one person's keypoints ``(K, 3)`` (``x, y, v``), or ``None``.

    ``v`` must be 0, 1 or 2, and visible points (``v > 0``) must lie within ``tol`` of the
    ``width`` x ``height`` image (not checked when the size is unknown, 0). On success the x, y of
    points with ``v = 0`` are set to 0 in place (the "not labelled" convention of the targets).
    The one annotation check of every label format (COCO JSON in original pixels, YOLO txt
    normalised to a 1 x 1 image).
    """
    if not np.isin(kp[:, 2], (0, 1, 2)).all():
        return "keypoint visibility not 0, 1 or 2"
    vis = kp[:, 2] > 0
    if width and height and vis.any():
        x, y = kp[vis, 0], kp[vis, 1]
        if (x < -tol).any() or (y < -tol).any() or (x > width + tol).any() or (y > height + tol).any():
            return f"visible keypoint out of range (outside the {width:g} x {height:g} image)"
    kp[~vis, :2] = 0.0
    return None


@dataclass
class SkipLog:
    """Reports every skipped sample once (file, line, reason) and counts them."""

    messages: List[str] = field(default_factory=list)
    _seen: Set[str] = field(default_factory=set)

    def skip(self, where: str, reason: str) -> None:
        self.replay(f"{where}: {reason}; skipped")

    def replay(self, msg: str) -> None:
        """Report a message recorded earlier (e.g. read back from the label cache)."""
        if msg in self._seen:
            return
        self._seen.add(msg)
        self.messages.append(msg)
        logger.warning(msg)

    def __len__(self) -> int:
        return len(self.messages)

