"""Letterbox resize (keep aspect ratio, centred, pad 114) and its inverse.

This is the one letterbox of the project: training, export calibration and the SDK all call it,
so a model always sees the same pixels it was trained on. It comes in three parts, so that the
SDK can write its result straight into an engine's input tensor instead of copying a padded
canvas: :func:`letterbox_transform` (the geometry), :func:`resize_for_letterbox` (the resampling)
and :func:`letterbox_content` (both); :func:`letterbox` adds the grey padding.

Resampling, by the factor from the image to the resized content:

- the same size: none (a 1280x720 JPEG read at 1/2 scale for a 640 model, see
  :func:`yolopose.core.images.open_image_fit`);
- a shrink by :data:`AREA_SHRINK` (2x) or more: an area filter, which averages the source pixels
  each output pixel covers, what an antialiased bilinear filter approximates, at a fraction of the
  cost: OpenCV's ``INTER_AREA`` when OpenCV is installed, otherwise Pillow's ``reducing_gap=1``
  (an integer box reduction, then bilinear for the remaining factor below 2);
- a smaller shrink: Pillow's antialiased bilinear filter;
- an enlargement: bicubic interpolation, OpenCV's ``INTER_CUBIC`` when OpenCV is installed (ten
  times faster), else Pillow's ``BICUBIC``. This is also what a JPEG decoded at 1/2 for an 810x1080
  photo in a 640 model needs (405x540 enlarged 1.19x): keypoint AP of the bundled model on 1,000
  images where this path runs, against a full decode and the antialiased bilinear shrink, was
  unchanged with bicubic and 4% lower with bilinear (README, "Fast preprocessing").

``benchmarks/preprocess.py`` times each path; ``benchmarks/batch_throughput.py`` and
``benchmarks/ap_ratio.py`` measure their accuracy.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

import numpy as np
from PIL import Image

from ..errors import ImageError

__all__ = [
    "AREA_SHRINK",
    "PAD_VALUE",
    "LetterboxTransform",
    "as_hw",
    "letterbox",
    "letterbox_content",
    "letterbox_transform",
    "resize_for_letterbox",
]

PAD_VALUE = 114
#: shrink factor from which the area filter replaces Pillow's bilinear filter.
AREA_SHRINK = 2.0

Resizer = Callable[[np.ndarray, Tuple[int, int]], np.ndarray]


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

    @property
    def content_size(self) -> Tuple[int, int]:
        """``(w, h)`` of the resized image inside the letterbox (the rest is padding)."""
        h, w = self.src_shape
        return max(1, int(round(w * self.scale))), max(1, int(round(h * self.scale)))

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


def letterbox_transform(
    src_shape: Tuple[int, int], new_shape: Union[int, Tuple[int, int]] = 640, scaleup: bool = True
) -> LetterboxTransform:
    """The letterbox geometry of an image of ``src_shape`` ``(h, w)`` in a ``new_shape`` input:
    the scale keeps the aspect ratio, the resized image is centred (``content_size``, at
    ``pad_x``, ``pad_y``). ``scaleup=False`` never enlarges."""
    h, w = int(src_shape[0]), int(src_shape[1])
    nh, nw = as_hw(new_shape)
    r = min(nh / h, nw / w)
    if not scaleup:
        r = min(r, 1.0)
    rw, rh = max(1, int(round(w * r))), max(1, int(round(h * r)))
    dw, dh = (nw - rw) / 2.0, (nh - rh) / 2.0
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
    return LetterboxTransform(scale=r, pad_x=float(left), pad_y=float(top), src_shape=(h, w), dst_shape=(nh, nw))


@functools.lru_cache(maxsize=1)
def _opencv_resizers() -> Optional[Tuple[Resizer, Resizer]]:
    """OpenCV's (area, bicubic) resizers when OpenCV is installed, else None."""
    try:
        import cv2
    except ImportError:
        return None

    def area(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    def cubic(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
        return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)

    return area, cubic


def _pillow_area(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR, reducing_gap=1.0))


def _pillow(image: np.ndarray, size: Tuple[int, int], resample: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize(size, resample))


def resize_for_letterbox(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize ``image`` to ``size`` ``(w, h)`` as :func:`letterbox` does (see the module docstring)."""
    h, w = image.shape[:2]
    if (w, h) == tuple(size):
        return image
    size = (int(size[0]), int(size[1]))
    fast = _opencv_resizers()
    shrink = min(w / size[0], h / size[1])
    if shrink >= AREA_SHRINK:
        return (fast[0] if fast else _pillow_area)(np.ascontiguousarray(image), size)
    if w <= size[0] and h <= size[1]:  # an enlargement
        return fast[1](np.ascontiguousarray(image), size) if fast else _pillow(image, size, Image.BICUBIC)
    return _pillow(image, size, Image.BILINEAR)


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        desc = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ImageError(f"letterbox expects an HxWx3 uint8 array, got a {desc}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"letterbox got an empty image of shape {image.shape}")


def letterbox_content(
    image: np.ndarray,
    new_shape: Union[int, Tuple[int, int]] = 640,
    scaleup: bool = True,
    src_shape: Optional[Tuple[int, int]] = None,
) -> Tuple[np.ndarray, LetterboxTransform]:
    """The resized image that :func:`letterbox` places in its canvas (``transform.content_size``,
    top left corner at ``transform.pad_x``, ``pad_y``), and the transform; no padding, no canvas.

    ``src_shape`` ``(h, w)``: the size of the original when ``image`` is a reduced decode of it (a
    JPEG read at 1/2, 1/4 or 1/8 scale, see :func:`yolopose.core.images.open_image_fit`); the geometry
    and the transform are those of the original, so the result is placed exactly as for a full decode.
    """
    _check_image(image)
    t = letterbox_transform(src_shape if src_shape is not None else image.shape[:2], new_shape, scaleup)
    return resize_for_letterbox(image, t.content_size), t


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
    points back to the original image. ``src_shape``: see :func:`letterbox_content`.
    """
    resized, t = letterbox_content(image, new_shape, scaleup, src_shape)
    (nh, nw), (rw, rh) = t.dst_shape, t.content_size
    top, left = int(t.pad_y), int(t.pad_x)
    out = np.full((nh, nw, 3), pad_value, dtype=np.uint8)
    out[top : top + rh, left : left + rw] = resized
    return out, t
