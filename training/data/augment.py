"""Training augmentation (YOLOv5's, as the paper trains): mosaic, random affine, HSV, left-right flip, letterbox.

numpy + Pillow only. Coordinates are continuous pixels (the image spans ``[0, W] x [0, H]``), the
convention of Pillow's resize/affine and of :class:`yolopose.core.ops.LetterboxTransform`. Keypoints
that leave the image get ``v = 0`` and ``x = y = 0``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from yolopose.core.ops import LetterboxTransform, letterbox

__all__ = ["AugmentHyp", "Labels", "resize_long_side", "letterbox_with_labels", "mosaic4", "random_affine",
           "augment_hsv", "flip_lr", "PAD_VALUE"]

PAD_VALUE = 114


@dataclass(frozen=True)
class AugmentHyp:
    """Augmentation hyperparameters (YOLO-Pose defaults)."""

    mosaic: float = 1.0  # probability of a 4-image mosaic
    degrees: float = 0.0  # rotation range +- degrees
    translate: float = 0.1  # translation range +- fraction of the output size
    scale: float = 0.5  # scale gain range 1 +- scale
    shear: float = 0.0  # shear range +- degrees
    hsv_h: float = 0.015  # hue shift range (fraction of the colour circle)
    hsv_s: float = 0.7  # saturation gain range
    hsv_v: float = 0.4  # value gain range
    fliplr: float = 0.5  # probability of a left-right flip

    def __post_init__(self) -> None:
        for name in ("mosaic", "fliplr"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"AugmentHyp.{name} must be a probability in [0, 1]")
        if not 0.0 <= self.scale < 1.0:
            raise ValueError("AugmentHyp.scale must be in [0, 1)")


@dataclass
class Labels:
    """People of one image: ``boxes (n, 4)`` xyxy, ``keypoints (n, K, 3)``, ``ref_area (n,)`` (box
    area before any cropping, in the current pixel units; used to drop mostly cut-off people)."""

    boxes: np.ndarray
    keypoints: np.ndarray
    ref_area: np.ndarray

    @classmethod
    def make(cls, boxes: np.ndarray, keypoints: np.ndarray) -> "Labels":
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return cls(boxes.copy(), np.asarray(keypoints, np.float32).copy(), area.astype(np.float32))

    def __len__(self) -> int:
        return len(self.boxes)

    def scaled(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> "Labels":
        b = self.boxes * np.array([sx, sy, sx, sy], np.float32) + np.array([dx, dy, dx, dy], np.float32)
        k = self.keypoints.copy()
        vis = k[..., 2] > 0
        k[..., 0] = np.where(vis, k[..., 0] * sx + dx, 0.0)
        k[..., 1] = np.where(vis, k[..., 1] * sy + dy, 0.0)
        return Labels(b, k, self.ref_area * abs(sx * sy))

    def select(self, keep: np.ndarray) -> "Labels":
        return Labels(self.boxes[keep], self.keypoints[keep], self.ref_area[keep])

    @staticmethod
    def concat(parts: Sequence["Labels"], k: int) -> "Labels":
        if not parts:
            return Labels(np.zeros((0, 4), np.float32), np.zeros((0, k, 3), np.float32), np.zeros(0, np.float32))
        return Labels(np.concatenate([p.boxes for p in parts]), np.concatenate([p.keypoints for p in parts]),
                      np.concatenate([p.ref_area for p in parts]))


def _invalidate_outside(kpts: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    k = kpts.copy()
    out = (k[..., 0] < x0) | (k[..., 0] >= x1) | (k[..., 1] < y0) | (k[..., 1] >= y1)
    k[out | (k[..., 2] <= 0)] = 0.0
    return k


def _clip_boxes(boxes: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    b = boxes.copy()
    b[:, 0::2] = np.clip(b[:, 0::2], x0, x1)
    b[:, 1::2] = np.clip(b[:, 1::2], y0, y1)
    return b


def _keep_candidates(labels: Labels, min_size: float = 2.0, area_frac: float = 0.1, max_ratio: float = 20.0) -> Labels:
    w = labels.boxes[:, 2] - labels.boxes[:, 0]
    h = labels.boxes[:, 3] - labels.boxes[:, 1]
    ratio = np.maximum(w / np.maximum(h, 1e-6), h / np.maximum(w, 1e-6))
    keep = (w > min_size) & (h > min_size) & (w * h > area_frac * labels.ref_area) & (ratio < max_ratio)
    return labels.select(keep)


def resize_long_side(image: np.ndarray, labels: Labels, size: int) -> Tuple[np.ndarray, Labels]:
    """Resize so the longer side is ``size`` (Pillow bilinear, as the letterbox resizes)."""
    h, w = image.shape[:2]
    r = size / max(h, w)
    if r == 1.0:
        return image, labels
    nw, nh = max(1, int(round(w * r))), max(1, int(round(h * r)))
    out = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR))
    return out, labels.scaled(nw / w, nh / h)


def letterbox_with_labels(image: np.ndarray, labels: Labels, size: int) -> Tuple[np.ndarray, Labels, LetterboxTransform]:
    """The SDK's :func:`yolopose.core.ops.letterbox` applied to an image and its labels."""
    out, t = letterbox(image, size)
    return out, labels.scaled(t.scale, t.scale, t.pad_x, t.pad_y), t


def mosaic4(tiles: Sequence[Tuple[np.ndarray, Labels]], size: int, rng: np.random.Generator,
            k: int) -> Tuple[np.ndarray, Labels]:
    """Four images (each with longer side ``size``) around a random centre of a ``2size`` canvas.

    People are clipped to the part of their image that lands on the canvas; keypoints cut off
    get ``v = 0``.
    """
    s = size
    canvas = np.full((2 * s, 2 * s, 3), PAD_VALUE, dtype=np.uint8)
    xc, yc = (int(rng.uniform(0.5 * s, 1.5 * s)) for _ in range(2))
    parts: List[Labels] = []
    for i, (img, lab) in enumerate(tiles):
        h, w = img.shape[:2]
        if i == 0:
            x1a, y1a, x2a, y2a = max(xc - w, 0), max(yc - h, 0), xc, yc
            x1b, y1b = w - (x2a - x1a), h - (y2a - y1a)
        elif i == 1:
            x1a, y1a, x2a, y2a = xc, max(yc - h, 0), min(xc + w, 2 * s), yc
            x1b, y1b = 0, h - (y2a - y1a)
        elif i == 2:
            x1a, y1a, x2a, y2a = max(xc - w, 0), yc, xc, min(2 * s, yc + h)
            x1b, y1b = w - (x2a - x1a), 0
        else:
            x1a, y1a, x2a, y2a = xc, yc, min(xc + w, 2 * s), min(2 * s, yc + h)
            x1b, y1b = 0, 0
        canvas[y1a:y2a, x1a:x2a] = img[y1b : y1b + (y2a - y1a), x1b : x1b + (x2a - x1a)]
        moved = lab.scaled(1.0, 1.0, x1a - x1b, y1a - y1b)
        moved.boxes = _clip_boxes(moved.boxes, x1a, y1a, x2a, y2a)
        moved.keypoints = _invalidate_outside(moved.keypoints, x1a, y1a, x2a, y2a)
        parts.append(moved)
    return canvas, _keep_candidates(Labels.concat(parts, k))


def _affine_matrix(src_center: Tuple[float, float], out_size: int, hyp: AugmentHyp, rng: np.random.Generator) -> np.ndarray:
    c = np.eye(3)
    c[0, 2], c[1, 2] = -src_center[0], -src_center[1]
    a = math.radians(rng.uniform(-hyp.degrees, hyp.degrees))
    sc = rng.uniform(1 - hyp.scale, 1 + hyp.scale)
    r = np.eye(3)
    r[:2, :2] = [[sc * math.cos(a), -sc * math.sin(a)], [sc * math.sin(a), sc * math.cos(a)]]
    sh = np.eye(3)
    sh[0, 1] = math.tan(math.radians(rng.uniform(-hyp.shear, hyp.shear)))
    sh[1, 0] = math.tan(math.radians(rng.uniform(-hyp.shear, hyp.shear)))
    t = np.eye(3)
    t[0, 2] = rng.uniform(0.5 - hyp.translate, 0.5 + hyp.translate) * out_size
    t[1, 2] = rng.uniform(0.5 - hyp.translate, 0.5 + hyp.translate) * out_size
    return t @ sh @ r @ c


def warp_affine(image: np.ndarray, m: np.ndarray, out_size: int) -> np.ndarray:
    """Warp with the 3x3 forward matrix ``m`` (Pillow bilinear, grey fill)."""
    inv = np.linalg.inv(m)
    data = (inv[0, 0], inv[0, 1], inv[0, 2], inv[1, 0], inv[1, 1], inv[1, 2])
    out = Image.fromarray(image).transform((out_size, out_size), Image.AFFINE, data, resample=Image.BILINEAR,
                                           fillcolor=(PAD_VALUE,) * 3)
    return np.asarray(out)


def random_affine(image: np.ndarray, labels: Labels, out_size: int, hyp: AugmentHyp, rng: np.random.Generator,
                  src_center: Optional[Tuple[float, float]] = None, matrix: Optional[np.ndarray] = None
                  ) -> Tuple[np.ndarray, Labels]:
    """Rotate/scale/shear/translate into an ``out_size`` square; ``src_center`` lands near its middle."""
    h, w = image.shape[:2]
    m = matrix if matrix is not None else _affine_matrix(src_center or (w / 2, h / 2), out_size, hyp, rng)
    out = warp_affine(image, m, out_size)
    if not len(labels):
        return out, labels
    b = labels.boxes
    corners = np.stack([b[:, [0, 1]], b[:, [2, 1]], b[:, [2, 3]], b[:, [0, 3]]], 1)  # (n, 4, 2)
    pc = corners @ m[:2, :2].T + m[:2, 2]
    boxes = np.concatenate([pc.min(1), pc.max(1)], 1).astype(np.float32)
    k = labels.keypoints.copy()
    vis = k[..., 2] > 0
    xy = k[..., :2] @ m[:2, :2].T.astype(np.float32) + m[:2, 2].astype(np.float32)
    k[..., :2] = np.where(vis[..., None], xy, 0.0)
    k = _invalidate_outside(k, 0, 0, out_size, out_size)
    det = abs(float(np.linalg.det(m[:2, :2])))
    moved = Labels(_clip_boxes(boxes, 0, 0, out_size, out_size), k, labels.ref_area * det)
    return out, _keep_candidates(moved)


def augment_hsv(image: np.ndarray, hyp: AugmentHyp, rng: np.random.Generator) -> np.ndarray:
    """Random hue shift and saturation/value gains (Pillow's HSV; pixels do not move)."""
    if not (hyp.hsv_h or hyp.hsv_s or hyp.hsv_v):
        return image
    dh = rng.uniform(-hyp.hsv_h, hyp.hsv_h)
    gs = 1 + rng.uniform(-hyp.hsv_s, hyp.hsv_s)
    gv = 1 + rng.uniform(-hyp.hsv_v, hyp.hsv_v)
    x = np.arange(256, dtype=np.float32)
    lut_h = ((x + dh * 256.0) % 256).astype(np.uint8)
    lut_s = np.clip(x * gs, 0, 255).astype(np.uint8)
    lut_v = np.clip(x * gv, 0, 255).astype(np.uint8)
    hsv = np.asarray(Image.fromarray(image).convert("HSV")).copy()
    hsv[..., 0] = lut_h[hsv[..., 0]]
    hsv[..., 1] = lut_s[hsv[..., 1]]
    hsv[..., 2] = lut_v[hsv[..., 2]]
    return np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"))


def flip_lr(image: np.ndarray, labels: Labels, flip_index: Sequence[int]) -> Tuple[np.ndarray, Labels]:
    """Mirror left-right; keypoints swap sides with ``flip_index`` (left wrist <-> right wrist)."""
    w = image.shape[1]
    out = np.ascontiguousarray(image[:, ::-1])
    b = labels.boxes.copy()
    b[:, [0, 2]] = w - labels.boxes[:, [2, 0]]
    k = labels.keypoints.copy()
    vis = k[..., 2] > 0
    k[..., 0] = np.where(vis, w - k[..., 0], 0.0)
    k = k[:, list(flip_index)]
    return out, Labels(b, k, labels.ref_area)
