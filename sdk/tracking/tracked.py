"""The tracker's per-frame result: poses with stable identities."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Union

import numpy as np

from ..core.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from ..core.results import Poses

__all__ = ["TrackedPoses"]

#: distinct label colours, picked by id
_PALETTE = ((230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
            (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255))


@dataclass(frozen=True)
class TrackedPoses:
    """The people tracked in one frame.

    ``ids (N,)`` int64 stable track ids; ``boxes (N, 4)`` xyxy, ``scores (N,)``, ``keypoints (N, K, 3)``
    ``(x, y, conf)`` in image pixels (smoothed when the tracker smooths); ``detection_index (N,)``
    the row of each person in the detections passed to ``update``.
    """

    ids: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray
    detection_index: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ids)
        k = self.keypoints.shape[1] if self.keypoints.ndim == 3 else -1
        checks = (
            (self.ids.shape == (n,), "ids", "(N,)"),
            (self.boxes.shape == (n, 4), "boxes", "(N, 4)"),
            (self.scores.shape == (n,), "scores", "(N,)"),
            (self.keypoints.ndim == 3 and self.keypoints.shape[0] == n and self.keypoints.shape[2] == 3, "keypoints", "(N, K, 3)"),
            (self.detection_index.shape == (n,), "detection_index", "(N,)"),
        )
        for ok, name, expected in checks:
            if not ok:
                raise ConfigError(f"TrackedPoses.{name} must have shape {expected} with N={n}, K={k}; got {getattr(self, name).shape}")

    @classmethod
    def empty(cls, num_keypoints: int = 17) -> "TrackedPoses":
        """No people."""
        return cls(
            ids=np.zeros(0, dtype=np.int64),
            boxes=np.zeros((0, 4), dtype=np.float32),
            scores=np.zeros(0, dtype=np.float32),
            keypoints=np.zeros((0, num_keypoints, 3), dtype=np.float32),
            detection_index=np.zeros(0, dtype=np.int64),
        )

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __getitem__(self, index: Union[int, slice, np.ndarray]) -> "TrackedPoses":
        if isinstance(index, (int, np.integer)):
            index = np.asarray([int(index)])
        return TrackedPoses(
            self.ids[index], self.boxes[index], self.scores[index], self.keypoints[index], self.detection_index[index]
        )

    def to_records(self) -> List[Dict[str, Any]]:
        """One JSON-ready dict per person: ``id``, ``box`` [x1, y1, x2, y2], ``score``, ``keypoints`` [[x, y, conf], ...]."""
        return [
            {
                "id": int(self.ids[i]),
                "box": [round(float(v), 2) for v in self.boxes[i]],
                "score": round(float(self.scores[i]), 4),
                "keypoints": [[round(float(x), 2), round(float(y), 2), round(float(c), 4)] for x, y, c in self.keypoints[i]],
            }
            for i in range(len(self))
        ]

    def labels(self) -> List[str]:
        """Display labels, ``"#<id>"`` per person."""
        return [f"#{int(i)}" for i in self.ids]

    def to_poses(self) -> "Poses":
        """The same people as a :class:`yolopose.Poses` (without ids)."""
        from ..core.results import Poses

        return Poses(self.boxes, self.scores, self.keypoints)

    def draw(self, image: Any, boxes: bool = True, kpt_threshold: float = 0.3, bgr: bool = False) -> "Image.Image":
        """Skeletons, keypoints and boxes as :meth:`yolopose.Poses.draw` does, plus each person's id
        (``#<id>``, colour by id) above their box; returns an RGB PIL image."""
        from PIL import ImageDraw, ImageFont

        from ..core.draw import draw_poses

        canvas = draw_poses(image, self.to_poses(), boxes=boxes, kpt_threshold=kpt_threshold, bgr=bgr)
        draw = ImageDraw.Draw(canvas)
        font = ImageFont.load_default()
        for label, tid, box in zip(self.labels(), self.ids, self.boxes):
            colour = _PALETTE[int(tid) % len(_PALETTE)]
            x, y = float(box[0]), max(0.0, float(box[1]) - 12.0)
            x0, y0, x1, y1 = draw.textbbox((x, y), label, font=font)
            draw.rectangle((x0 - 2, y0 - 1, x1 + 2, y1 + 1), fill=colour)
            draw.text((x, y), label, fill=(0, 0, 0), font=font)
        return canvas
