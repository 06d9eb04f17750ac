"""Letterbox resize (keep aspect ratio, centred, pad 114) and its inverse.

This is the one letterbox of the project: training, export calibration and the SDK all call it,
so a model always sees the same pixels it was trained on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple, Union

import numpy as np
from PIL import Image

from ..errors import ImageError

__all__ = ["LetterboxTransform", "letterbox", "as_hw"]

PAD_VALUE = 114


def as_hw(size: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
    """``640 -> (640, 640)``; ``(h, w)`` stays as it is."""
    if isinstance(size, (int, np.integer)):
        return int(size), int(size)
    h, w = size
    return int(h), int(w)


@dataclass(frozen=True)
class LetterboxTransform:
    """Maps points between original image pixels and letterboxed (network input) pixels."""

    scale: float
    pad_x: float
    pad_y: float
    src_shape: Tuple[int, int]  # (h, w) of the original image
    dst_shape: Tuple[int, int]  # (h, w) of the network input

    def to_original(self, xy: np.ndarray) -> np.ndarray:
        """Network-input ``(..., 2)`` x, y -> original image pixels (not clipped)."""
        xy = np.asarray(xy, dtype=np.float32)
        out = np.empty_like(xy)
        out[..., 0] = (xy[..., 0] - self.pad_x) / self.scale
        out[..., 1] = (xy[..., 1] - self.pad_y) / self.scale
        return out

    def to_letterbox(self, xy: np.ndarray) -> np.ndarray:
        """Original image ``(..., 2)`` x, y -> network-input pixels."""
        xy = np.asarray(xy, dtype=np.float32)
        out = np.empty_like(xy)
        out[..., 0] = xy[..., 0] * self.scale + self.pad_x
        out[..., 1] = xy[..., 1] * self.scale + self.pad_y
        return out

    def boxes_to_original(self, boxes: np.ndarray, clip: bool = True) -> np.ndarray:
        """``(N, 4)`` xyxy network-input boxes -> original pixels, clipped to the image."""
        out = self.to_original(np.asarray(boxes, dtype=np.float32).reshape(-1, 2, 2)).reshape(-1, 4)
        if clip:
            h, w = self.src_shape
            np.clip(out[:, 0::2], 0, w, out=out[:, 0::2])
            np.clip(out[:, 1::2], 0, h, out=out[:, 1::2])
        return out


def letterbox(
    image: np.ndarray,
    new_shape: Union[int, Tuple[int, int]] = 640,
    pad_value: int = PAD_VALUE,
    scaleup: bool = True,
) -> Tuple[np.ndarray, LetterboxTransform]:
    """Resize an ``HxWx3`` uint8 image to fit ``new_shape`` keeping its aspect ratio, pad the rest.

    The image is centred; padding is ``pad_value`` grey. Resampling is Pillow's bilinear filter.
    Returns the ``(new_h, new_w, 3)`` uint8 array and the :class:`LetterboxTransform` that maps
    points back to the original image.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        desc = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ImageError(f"letterbox expects an HxWx3 uint8 array, got a {desc}")
    h, w = image.shape[:2]
    if h == 0 or w == 0:
        raise ImageError(f"letterbox got an empty image of shape {image.shape}")
    nh, nw = as_hw(new_shape)
    r = min(nh / h, nw / w)
    if not scaleup:
        r = min(r, 1.0)
    rw, rh = max(1, int(round(w * r))), max(1, int(round(h * r)))
    if (rw, rh) != (w, h):
        resized = np.asarray(Image.fromarray(image).resize((rw, rh), Image.BILINEAR))
    else:
        resized = image
    dw, dh = (nw - rw) / 2.0, (nh - rh) / 2.0
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
    out = np.full((nh, nw, 3), pad_value, dtype=np.uint8)
    out[top : top + rh, left : left + rw] = resized
    return out, LetterboxTransform(scale=r, pad_x=float(left), pad_y=float(top), src_shape=(h, w), dst_shape=(nh, nw))
