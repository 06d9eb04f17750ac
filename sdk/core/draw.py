"""Drawing poses with Pillow: skeleton, keypoints coloured by confidence, boxes, labels."""
from __future__ import annotations

from typing import TYPE_CHECKING, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .images import ImageSource, load_image

if TYPE_CHECKING:  # pragma: no cover
    from .results import Poses

__all__ = ["draw_poses", "confidence_color"]

_BOX = (255, 140, 0)
_LIMB = (0, 170, 255)


def confidence_color(conf: float) -> Tuple[int, int, int]:
    """Red (0) -> yellow (0.5) -> green (1)."""
    c = float(np.clip(conf, 0.0, 1.0))
    return (255, int(round(510 * c)), 0) if c < 0.5 else (int(round(510 * (1 - c))), 255, 0)


def draw_poses(
    image: ImageSource,
    poses: "Poses",
    boxes: bool = True,
    labels: bool = False,
    kpt_threshold: float = 0.3,
    bgr: bool = False,
) -> Image.Image:
    """A copy of ``image`` with ``poses`` drawn on it (keypoints under ``kpt_threshold`` are skipped)."""
    canvas = Image.fromarray(load_image(image, bgr=bgr))
    draw = ImageDraw.Draw(canvas)
    w, h = canvas.size
    lw = max(1, int(round(min(w, h) / 300)))
    radius = max(2, lw + 1)
    font = ImageFont.load_default() if labels else None
    for i in range(len(poses)):
        box = [float(v) for v in poses.boxes[i]]
        kpts = poses.keypoints[i]
        if boxes:
            draw.rectangle(box, outline=_BOX, width=lw)
        if labels:
            text = f"person {float(poses.scores[i]):.2f}"
            draw.text((box[0] + lw, max(0.0, box[1] - 12)), text, fill=_BOX, font=font)
        visible = kpts[:, 2] >= kpt_threshold
        for a, b in poses.skeleton:
            if visible[a] and visible[b]:
                draw.line([tuple(kpts[a, :2].tolist()), tuple(kpts[b, :2].tolist())], fill=_LIMB, width=lw + 1)
        for x, y, c in kpts[visible]:
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=confidence_color(c), outline=(0, 0, 0))
    return canvas
