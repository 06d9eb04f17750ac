"""``Poses``: the result of running a pose model on one image."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import ConfigError
from .keypoints import COCO_KEYPOINT_NAMES, COCO_SKELETON

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from .images import ImageSource

__all__ = ["Poses"]

Index = Union[int, slice, Sequence[int], np.ndarray]


def _frozen(x: Any, shape_desc: str, ndim: int, name: str) -> np.ndarray:
    arr = np.array(x, dtype=np.float32, copy=True)
    if arr.ndim != ndim:
        raise ConfigError(f"Poses.{name} must have shape {shape_desc}, got {arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Poses:
    """People found in one image, in original image pixels.

    - ``boxes``: ``(N, 4)`` float32 ``x1, y1, x2, y2``
    - ``scores``: ``(N,)`` float32 person confidence
    - ``keypoints``: ``(N, K, 3)`` float32 ``x, y, confidence``

    Arrays are read-only copies. ``len(poses)``, ``poses[i]`` / ``poses[1:3]`` / ``poses[mask]``
    (all give ``Poses``), iteration (one-person ``Poses``), :meth:`empty`, :meth:`to_coco`,
    :meth:`to_json`, :meth:`draw`.
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray
    keypoint_names: Tuple[str, ...] = COCO_KEYPOINT_NAMES
    skeleton: Tuple[Tuple[int, int], ...] = COCO_SKELETON

    def __post_init__(self) -> None:
        boxes = _frozen(self.boxes, "(N, 4)", 2, "boxes")
        scores = _frozen(self.scores, "(N,)", 1, "scores")
        kpts = _frozen(self.keypoints, "(N, K, 3)", 3, "keypoints")
        n = scores.shape[0]
        if boxes.shape != (n, 4):
            raise ConfigError(f"Poses.boxes must have shape ({n}, 4) for {n} scores, got {boxes.shape}")
        if kpts.shape[0] != n or kpts.shape[2] != 3:
            raise ConfigError(f"Poses.keypoints must have shape ({n}, K, 3), got {kpts.shape}")
        k = kpts.shape[1]
        names, skeleton = tuple(self.keypoint_names), tuple((int(a), int(b)) for a, b in self.skeleton)
        if len(names) != k:
            if names == COCO_KEYPOINT_NAMES:
                names, skeleton = tuple(f"kpt_{i}" for i in range(k)), ()
            else:
                raise ConfigError(f"{len(names)} keypoint names for {k} keypoints")
        if any(not (0 <= a < k and 0 <= b < k) for a, b in skeleton):
            raise ConfigError("Poses.skeleton refers to a keypoint index out of range")
        for name, value in (("boxes", boxes), ("scores", scores), ("keypoints", kpts), ("keypoint_names", names), ("skeleton", skeleton)):
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ construction
    @classmethod
    def empty(cls, num_keypoints: int = len(COCO_KEYPOINT_NAMES), **kwargs: Any) -> "Poses":
        """No people."""
        return cls(np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, num_keypoints, 3)), **kwargs)

    # ------------------------------------------------------------------ container protocol
    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def __getitem__(self, index: Index) -> "Poses":
        if isinstance(index, (int, np.integer)):
            i = int(index)
            if not -len(self) <= i < len(self):
                raise IndexError(f"person index {i} out of range for {len(self)} poses")
            index = [i % len(self)]
        idx = index if isinstance(index, slice) else np.asarray(index)
        if isinstance(idx, np.ndarray) and idx.dtype == bool and idx.shape != (len(self),):
            raise IndexError(f"boolean mask of shape {idx.shape} for {len(self)} poses")
        return Poses(self.boxes[idx], self.scores[idx], self.keypoints[idx], self.keypoint_names, self.skeleton)

    def __iter__(self) -> Iterator["Poses"]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        top = f", top score {float(self.scores.max()):.3f}" if len(self) else ""
        return f"Poses({len(self)} people, {self.keypoints.shape[1]} keypoints{top})"

    # ------------------------------------------------------------------ export
    def to_dict(self, decimals: int = 2) -> Dict[str, Any]:
        """JSON-ready dict: keypoint names and a list of people (box, score, keypoints)."""
        people = [
            {
                "box": [round(float(v), decimals) for v in box],
                "score": round(float(score), 4),
                "keypoints": [[round(float(x), decimals), round(float(y), decimals), round(float(c), 4)] for x, y, c in kpts],
            }
            for box, score, kpts in zip(self.boxes, self.scores, self.keypoints)
        ]
        return {"keypoint_names": list(self.keypoint_names), "poses": people}

    def to_json(self, indent: Optional[int] = None, decimals: int = 2) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(decimals), indent=indent)

    def to_coco(self, image_id: int, category_id: int = 1) -> List[Dict[str, Any]]:
        """COCO keypoint *results* (what ``pycocotools.COCO.loadRes`` reads): one dict per person,
        ``bbox`` as ``x, y, w, h`` and ``keypoints`` flat ``x1, y1, c1, ...`` (c: confidence)."""
        out = []
        for box, score, kpts in zip(self.boxes, self.scores, self.keypoints):
            x1, y1, x2, y2 = (float(v) for v in box)
            out.append(
                {
                    "image_id": int(image_id),
                    "category_id": int(category_id),
                    "bbox": [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)],
                    "score": round(float(score), 5),
                    "keypoints": [round(float(v), 3) for v in kpts.reshape(-1)],
                }
            )
        return out

    def draw(
        self,
        image: "ImageSource",
        boxes: bool = True,
        labels: bool = False,
        kpt_threshold: float = 0.3,
        bgr: bool = False,
    ) -> "Image.Image":
        """Draw skeletons, keypoints (coloured by confidence: red low, green high) and boxes on a
        copy of ``image`` (path, PIL image or uint8 array); returns an RGB PIL image."""
        from .draw import draw_poses

        return draw_poses(image, self, boxes=boxes, labels=labels, kpt_threshold=kpt_threshold, bgr=bgr)
