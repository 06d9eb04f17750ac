"""Letterbox resize (keep aspect ratio, centred, pad 114) and its inverse.

This is the one letterbox of the project: training, export calibration and the SDK all call it,
so a model always sees the same pixels it was trained on.

Resampling: Pillow's bilinear filter, except when the image shrinks by :data:`AREA_SHRINK` or more
(a 1280x720 frame into a 256x256 model): an area filter then averages the source pixels each
output pixel covers, which is what an antialiased bilinear filter approximates, at a fraction
of the cost. OpenCV's ``INTER_AREA`` runs it when OpenCV is installed, otherwise Pillow's
``reducing_gap=1`` (an integer box reduction, then bilinear for the remaining factor below 2).
``benchmarks/batch_throughput.py`` measures the speed and the accuracy of both against the plain
bilinear filter.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

import numpy as np
from PIL import Image

from ..errors import ImageError

__all__ = ["AREA_SHRINK", "LetterboxTransform", "letterbox", "as_hw", "resize_for_letterbox"]

PAD_VALUE = 114
#: shrink factor from which the area filter replaces Pillow's bilinear filter.
AREA_SHRINK = 2.0


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


@functools.lru_cache(maxsize=1)
def _area_resizer() -> Callable[[np.ndarray, Tuple[int, int]], np.ndarray]:
    """OpenCV's area filter when OpenCV is installed, else Pillow's box reduction + bilinear."""
    try:
        import cv2
    except ImportError:
        return _pillow_area

    def resize(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    return resize


def _pillow_area(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, reducing_gap=1.0))


def resize_for_letterbox(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize ``image`` to ``size`` ``(w, h)`` as :func:`letterbox` does (see the module docstring)."""
    h, w = image.shape[:2]
    if (w, h) == tuple(size):
        return image
    if min(w / size[0], h / size[1]) >= AREA_SHRINK:
        return _area_resizer()(np.ascontiguousarray(image), (int(size[0]), int(size[1])))
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))


def letterbox(
    image: np.ndarray,
    new_shape: Union[int, Tuple[int, int]] = 640,
    pad_value: int = PAD_VALUE,
    scaleup: bool = True,
    src_shape: Optional[Tuple[int, int]] = None,
) -> Tuple[np.ndarray, LetterboxTransform]:
    """Resize an ``HxWx3`` uint8 image to fit ``new_shape`` keeping its aspect ratio, pad the rest.

    The image is centred; padding is ``pad_value`` grey. Resampling: see the module docstring.
    Returns the ``(new_h, new_w, 3)`` uint8 array and the :class:`LetterboxTransform` that maps
    points back to the original image.

    ``src_shape`` ``(h, w)``: the size of the original when ``image`` is a reduced decode of it (a
    JPEG read at 1/2, 1/4 or 1/8 scale, see :func:`yolopose.images.open_image_fit`); the geometry
    and the transform are those of the original, so the result is placed exactly as for a full decode.
    """
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        desc = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ImageError(f"letterbox expects an HxWx3 uint8 array, got a {desc}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"letterbox got an empty image of shape {image.shape}")
    h, w = (int(src_shape[0]), int(src_shape[1])) if src_shape is not None else image.shape[:2]
    nh, nw = as_hw(new_shape)
    r = min(nh / h, nw / w)
    if not scaleup:
        r = min(r, 1.0)
    rw, rh = max(1, int(round(w * r))), max(1, int(round(h * r)))
    resized = resize_for_letterbox(image, (rw, rh))
    dw, dh = (nw - rw) / 2.0, (nh - rh) / 2.0
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
    out = np.full((nh, nw, 3), pad_value, dtype=np.uint8)
    out[top : top + rh, left : left + rw] = resized
    return out, LetterboxTransform(scale=r, pad_x=float(left), pad_y=float(top), src_shape=(h, w), dst_shape=(nh, nw))
