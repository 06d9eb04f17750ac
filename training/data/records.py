"""Parsed dataset labels and the log of skipped samples."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import List, Set

import numpy as np

__all__ = ["ImageRecord", "SkipLog"]

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

