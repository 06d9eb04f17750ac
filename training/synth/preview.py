"""Draw annotated samples (keypoints and skeleton) into one preview grid image."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from yolopose.core.keypoints import COCO_SKELETON

__all__ = ["draw_annotations", "preview_grid"]

_LEFT, _RIGHT, _MID = (60, 220, 60), (230, 80, 40), (70, 140, 255)


def _kp_colour(j: int) -> Tuple[int, int, int]:
    if j == 0:
        return _MID
    return _LEFT if j % 2 == 1 else _RIGHT


def draw_annotations(image: np.ndarray, annotations: Sequence[Dict[str, Any]]) -> Image.Image:
    """The image with each person's box, skeleton and keypoints (left green, right orange;
    hidden keypoints hollow)."""
    pil = Image.fromarray(image).convert("RGB")
    d = ImageDraw.Draw(pil)
    for ann in annotations:
        x, y, w, h = ann["bbox"]
        d.rectangle([x, y, x + w, y + h], outline=(255, 255, 0))
        kp = np.asarray(ann["keypoints"], dtype=np.float32).reshape(-1, 3)
        for a, b in COCO_SKELETON:
            if kp[a, 2] > 0 and kp[b, 2] > 0:
                d.line([tuple(kp[a, :2]), tuple(kp[b, :2])], fill=(255, 255, 255), width=1)
        for j, (px, py, v) in enumerate(kp):
            if v <= 0:
                continue
            r = 2.5
            box = [px - r, py - r, px + r, py + r]
            if v >= 2:
                d.ellipse(box, fill=_kp_colour(j))
            else:
                d.ellipse(box, outline=_kp_colour(j))
    return pil


def preview_grid(samples: List[Tuple[np.ndarray, Sequence[Dict[str, Any]]]], cell: int = 320) -> Image.Image:
    """A square-ish grid of annotated samples, each letterboxed into a ``cell`` x ``cell`` tile."""
    n = max(1, len(samples))
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = Image.new("RGB", (cols * cell, rows * cell), (114, 114, 114))
    for i, (image, anns) in enumerate(samples):
        tile = draw_annotations(image, anns)
        tile.thumbnail((cell, cell))
        ox = (i % cols) * cell + (cell - tile.width) // 2
        oy = (i // cols) * cell + (cell - tile.height) // 2
        grid.paste(tile, (ox, oy))
    return grid
