"""Backgrounds and non-person distractor shapes of synthetic scenes.

A :class:`Background` is a kind plus a seed, so the same background can be redrawn in every frame
of a sequence. A :class:`Shape` is one drawing primitive with explicit coordinates (move it to
animate it).
"""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["Background", "Shape", "BACKGROUNDS", "DISTRACTORS", "render_background", "draw_shapes",
           "sample_background", "sample_distractors"]

RGB = Tuple[int, int, int]


@dataclass(frozen=True)
class Background:
    """``kind`` names a renderer of :data:`BACKGROUNDS`; ``seed`` fixes everything it draws."""

    kind: str = "gradient"
    seed: int = 0
    clutter: int = 0  # number of random shapes drawn over it


@dataclass(frozen=True)
class Shape:
    """One primitive: ``kind`` is "polygon", "ellipse" (points = bounding box x0 y0 x1 y1) or "line"."""

    kind: str
    points: Tuple[float, ...]
    fill: RGB
    width: int = 1
    outline: Tuple[int, int, int] = (-1, -1, -1)  # (-1, -1, -1): none


def _rgb(rng: np.random.Generator, val: Tuple[float, float] = (0.1, 0.95)) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(float(rng.random()), float(rng.uniform(0.0, 0.9)), float(rng.uniform(*val)))
    return int(r * 255), int(g * 255), int(b * 255)


def _grid(rng: np.random.Generator, size: Tuple[int, int], cells: int) -> np.ndarray:
    h, w = size
    g = (rng.random((cells, cells, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(g).resize((w, h), Image.BICUBIC), dtype=np.float32)


def _gradient(rng: np.random.Generator, size: Tuple[int, int]) -> np.ndarray:
    h, w = size
    a, b = np.array(_rgb(rng), np.float32), np.array(_rgb(rng), np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = xx * math.cos(ang) + yy * math.sin(ang)
    t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
    return a * (1 - t[..., None]) + b * t[..., None]


def _noise(rng: np.random.Generator, size: Tuple[int, int]) -> np.ndarray:
    base = _grid(rng, size, int(rng.integers(2, 10)))
    fine = _grid(rng, size, int(rng.integers(16, 48)))
    return base * 0.75 + fine * 0.25


def _stripes(rng: np.random.Generator, size: Tuple[int, int]) -> np.ndarray:
    h, w = size
    a, b = np.array(_rgb(rng), np.float32), np.array(_rgb(rng), np.float32)
    ang = rng.uniform(0, math.pi)
    period = rng.uniform(6, 60)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (np.sin((xx * math.cos(ang) + yy * math.sin(ang)) / period * 2 * math.pi) > 0).astype(np.float32)
    return a * (1 - t[..., None]) + b * t[..., None]


def _room(rng: np.random.Generator, size: Tuple[int, int]) -> np.ndarray:
    """A wall and a floor meeting at a horizon, each with its own gradient."""
    h, w = size
    horizon = int(h * rng.uniform(0.3, 0.75))
    top = _gradient(rng, (horizon, w)) if horizon > 0 else np.zeros((0, w, 3), np.float32)
    bottom = _gradient(rng, (h - horizon, w))
    return np.concatenate([top, bottom], 0)


#: background kind -> renderer(rng, (h, w)) -> float32 HxWx3.
BACKGROUNDS: Dict[str, Callable[[np.random.Generator, Tuple[int, int]], np.ndarray]] = {
    "gradient": _gradient,
    "noise": _noise,
    "stripes": _stripes,
    "room": _room,
}


def _blob(rng: np.random.Generator, h: int, w: int, s: float) -> List[Shape]:
    cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), s * rng.uniform(0.03, 0.2)
    n = int(rng.integers(5, 10))
    ang = np.sort(rng.uniform(0, 2 * math.pi, n))
    rad = r * rng.uniform(0.5, 1.3, n)
    pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
    return [Shape("polygon", tuple(pts.ravel().tolist()), _rgb(rng))]


def _ellipse(rng: np.random.Generator, h: int, w: int, s: float) -> List[Shape]:
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    rx, ry = s * rng.uniform(0.02, 0.15), s * rng.uniform(0.02, 0.15)
    return [Shape("ellipse", (cx - rx, cy - ry, cx + rx, cy + ry), _rgb(rng))]


def _rect(rng: np.random.Generator, h: int, w: int, s: float) -> List[Shape]:
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    bw, bh, a = s * rng.uniform(0.03, 0.3), s * rng.uniform(0.03, 0.3), rng.uniform(-0.5, 0.5)
    c, si = math.cos(a), math.sin(a)
    corners = [(-bw, -bh), (bw, -bh), (bw, bh), (-bw, bh)]
    pts = [(cx + x * c - y * si, cy + x * si + y * c) for x, y in corners]
    return [Shape("polygon", tuple(v for p in pts for v in p), _rgb(rng), outline=_rgb(rng, (0.0, 0.4)))]


def _pole(rng: np.random.Generator, h: int, w: int, s: float) -> List[Shape]:
    x = rng.uniform(0, w)
    top, bottom = rng.uniform(-0.2, 0.5) * h, rng.uniform(0.6, 1.2) * h
    width = int(max(2, s * rng.uniform(0.01, 0.04)))
    lean = rng.normal(0, 0.05) * h
    shapes = [Shape("line", (x + lean, top, x, bottom), _rgb(rng), width=width)]
    if rng.random() < 0.4:  # a sign or lamp on top
        r = width * rng.uniform(1.5, 4)
        shapes.append(Shape("ellipse", (x + lean - r, top - r, x + lean + r, top + r), _rgb(rng)))
    return shapes


def _sticks(rng: np.random.Generator, h: int, w: int, s: float) -> List[Shape]:
    """Connected limb-like segments: clutter that looks a little like arms and legs."""
    x, y = rng.uniform(0, w), rng.uniform(0, h)
    n = int(rng.integers(2, 6))
    step = s * rng.uniform(0.04, 0.15)
    width = int(max(2, step * rng.uniform(0.15, 0.4)))
    colour = _rgb(rng)
    pts = [x, y]
    ang = rng.uniform(0, 2 * math.pi)
    for _ in range(n):
        ang += rng.normal(0, 0.9)
        x, y = x + step * math.cos(ang), y + step * math.sin(ang)
        pts += [x, y]
    return [Shape("line", tuple(pts), colour, width=width)]


#: distractor kind -> (weight, sampler(rng, h, w, scale) -> shapes).
DISTRACTORS: Dict[str, Tuple[float, Callable[[np.random.Generator, int, int, float], List[Shape]]]] = {
    "blob": (0.25, _blob),
    "ellipse": (0.15, _ellipse),
    "rect": (0.25, _rect),
    "pole": (0.15, _pole),
    "sticks": (0.20, _sticks),
}


def draw_shapes(image: Image.Image, shapes: List[Shape], mask: ImageDraw.ImageDraw = None) -> None:
    """Draw ``shapes`` onto a PIL image (and, if given, with value 255 onto a mask's draw)."""
    draw = ImageDraw.Draw(image)
    for sh in shapes:
        targets = [(draw, sh.fill, None if sh.outline[0] < 0 else sh.outline)]
        if mask is not None:
            targets.append((mask, 255, None if sh.outline[0] < 0 else 255))
        for d, fill, outline in targets:
            if sh.kind == "polygon":
                d.polygon(list(sh.points), fill=fill, outline=outline)
            elif sh.kind == "ellipse":
                x0, y0, x1, y1 = sh.points
                d.ellipse([min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)], fill=fill, outline=outline)
            else:
                d.line(list(sh.points), fill=fill, width=sh.width, joint="curve")


def sample_background(rng: np.random.Generator) -> Background:
    kinds = list(BACKGROUNDS)
    kind = kinds[int(rng.choice(len(kinds), p=[0.25, 0.35, 0.1, 0.3]))]
    return Background(kind=kind, seed=int(rng.integers(0, 2**31 - 1)), clutter=int(rng.integers(0, 16)))


def render_background(bg: Background, size: Tuple[int, int]) -> np.ndarray:
    """The background as an ``HxWx3`` uint8 array (deterministic for ``bg``)."""
    rng = np.random.default_rng(bg.seed)
    arr = BACKGROUNDS[bg.kind](rng, size)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    h, w = size
    shapes: List[Shape] = []
    kinds = ["blob", "ellipse", "rect", "sticks"]
    for _ in range(bg.clutter):
        shapes += DISTRACTORS[kinds[int(rng.integers(len(kinds)))]][1](rng, h, w, float(max(h, w)))
    draw_shapes(img, shapes)
    return np.asarray(img).copy()


def sample_distractors(rng: np.random.Generator, size: Tuple[int, int], count: int) -> List[Shape]:
    """``count`` random distractor objects (blobs, boxes, poles, limb-like sticks)."""
    h, w = size
    kinds = list(DISTRACTORS)
    weights = np.array([DISTRACTORS[k][0] for k in kinds])
    shapes: List[Shape] = []
    for _ in range(count):
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        shapes += DISTRACTORS[kind][1](rng, h, w, float(max(h, w)))
    return shapes
