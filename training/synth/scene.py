"""Whole synthetic scenes: background, distractors, people drawn back to front, camera effects.

Two ways in:

* ``render_scene(rng, imgsz)`` samples and renders a random scene in one call.
* ``sample_scene(rng, imgsz)`` returns a :class:`Scene` (plain frozen dataclasses); edit it, e.g.
  move its ``persons`` a little each frame with ``dataclasses.replace``, and call
  ``render(scene, rng)`` for every frame of a video sequence. Background and clothing textures are
  fixed by seeds stored in the scene, so they stay put between frames.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .background import Background, Shape, draw_shapes, render_background, sample_background, sample_distractors
from .figure import PersonState, render_figure, sample_person

__all__ = ["Effects", "Scene", "sample_scene", "render", "render_scene", "sample_people"]

#: People with fewer visible pixels than this (or than this fraction of their body) are not annotated.
MIN_VISIBLE_PIXELS = 24
MIN_VISIBLE_FRACTION = 0.08


@dataclass(frozen=True)
class Effects:
    """Camera effects applied after drawing."""

    blur: float = 0.0  # Gaussian blur radius in pixels
    noise: float = 0.0  # std of additive Gaussian noise (0-255 scale)
    contrast: float = 1.0
    brightness: float = 0.0
    jpeg_quality: int = 0  # 0: no JPEG round trip inside render (the dataset writer saves JPEG anyway)


@dataclass(frozen=True)
class Scene:
    """A full scene description: render it with :func:`render`."""

    size: Tuple[int, int]  # (h, w)
    background: Background = field(default_factory=Background)
    distractors: Tuple[Shape, ...] = ()  # behind the people
    occluders: Tuple[Shape, ...] = ()  # in front of the people (hide keypoints: v=1)
    persons: Tuple[PersonState, ...] = ()
    effects: Effects = field(default_factory=Effects)


def _num_people(rng: np.random.Generator) -> int:
    p = np.array([0.04, 0.2, 0.2, 0.16, 0.12, 0.09, 0.08, 0.06, 0.05])
    return int(rng.choice(9, p=p / p.sum()))


def sample_people(rng: np.random.Generator, size: Tuple[int, int], count: int) -> List[PersonState]:
    """``count`` people placed in an image of ``size`` (h, w): varied sizes, overlaps, some truncated."""
    h, w = size
    hi_frac = (1.1, 1.0, 0.9, 0.8, 0.7, 0.65, 0.6, 0.55)[max(0, min(count, 8) - 1)]
    people: List[PersonState] = []
    for _ in range(count):
        lo = 0.06 if rng.random() < 0.12 else 0.14
        height = h * math.exp(rng.uniform(math.log(lo), math.log(max(hi_frac, lo * 1.5))))
        if rng.random() < 0.15:  # hard case: near or across a border
            cx = rng.choice([rng.uniform(-0.2, 0.08), rng.uniform(0.92, 1.2)]) * w
            cy = rng.uniform(0.2, 1.1) * h
        elif people and rng.random() < 0.35:  # deliberately overlap a previous person
            other = people[int(rng.integers(len(people)))]
            cx = other.x + rng.normal(0, 0.25) * max(other.height, height)
            cy = other.y + rng.normal(0, 0.1) * max(other.height, height)
        else:
            half = 0.5 * height
            cx = rng.uniform(0.06 * w, 0.94 * w)
            lo_y, hi_y = half * 0.85, h - half * 0.85
            cy = rng.uniform(lo_y, hi_y) if hi_y > lo_y else rng.uniform(0.35 * h, 0.65 * h)
        depth = -(cy + 0.5 * height) + rng.normal(0, 0.05 * h)  # lower feet = nearer
        people.append(sample_person(rng, cx, cy, height, depth))
    return people


def sample_scene(rng: np.random.Generator, imgsz: int = 320, num_people: Optional[int] = None) -> Scene:
    """A random scene whose longer side is ``imgsz`` (about half are square, the rest 4:3 or 16:9)."""
    aspect = float(rng.choice([1.0, 0.75, 0.5625, 1.333, 0.8], p=[0.5, 0.18, 0.12, 0.1, 0.1]))
    if aspect <= 1.0:
        size = (max(32, int(round(imgsz * aspect))), imgsz)
    else:
        size = (imgsz, max(32, int(round(imgsz / aspect))))
    count = _num_people(rng) if num_people is None else int(num_people)
    persons = sample_people(rng, size, count)
    distractors = sample_distractors(rng, size, int(rng.integers(0, 7)))
    occluders = sample_distractors(rng, size, 1 if rng.random() < 0.2 else 0)
    effects = Effects(
        blur=float(rng.uniform(0.3, 1.1)) if rng.random() < 0.3 else 0.0,
        noise=float(rng.uniform(2, 8)) if rng.random() < 0.4 else 0.0,
        contrast=float(rng.uniform(0.75, 1.2)),
        brightness=float(rng.uniform(-20, 20)),
    )
    return Scene(size=size, background=sample_background(rng), distractors=tuple(distractors),
                 occluders=tuple(occluders), persons=tuple(persons), effects=effects)


def _apply_effects(image: np.ndarray, fx: Effects, rng: np.random.Generator) -> np.ndarray:
    img = image.astype(np.float32)
    if fx.contrast != 1.0 or fx.brightness:
        img = (img - 128.0) * fx.contrast + 128.0 + fx.brightness
    if fx.noise > 0:
        img = img + rng.normal(0.0, fx.noise, img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if fx.blur > 0 or fx.jpeg_quality:
        pil = Image.fromarray(out)
        if fx.blur > 0:
            pil = pil.filter(ImageFilter.GaussianBlur(fx.blur))
        if fx.jpeg_quality:
            buf = io.BytesIO()
            pil.save(buf, format="JPEG", quality=int(fx.jpeg_quality))
            pil = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        out = np.asarray(pil).copy()
    return out


def render(scene: Scene, rng: Optional[np.random.Generator] = None) -> Tuple[np.ndarray, List[Dict[str, Any]]]:
    """Render a :class:`Scene`; returns the image and one annotation dict per visible person.

    Each dict holds ``bbox`` (x, y, w, h of the figure's silhouette, clipped to the image), ``area``
    (silhouette pixels inside the image), ``keypoints`` ((17, 3) float32, COCO visibility: 0 outside
    the image with x = y = 0, 1 hidden behind another person, an occluder or its own body, 2
    visible), ``num_keypoints``, ``visible_fraction`` and ``person`` (index into ``scene.persons``).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    h, w = scene.size
    image = render_background(scene.background, (h, w))
    if scene.distractors:
        pil = Image.fromarray(image)
        draw_shapes(pil, list(scene.distractors))
        image = np.asarray(pil).copy()
    owner = np.full((h, w), -1, dtype=np.int16)
    order = sorted(range(len(scene.persons)), key=lambda i: -scene.persons[i].depth)
    renders = {}
    for i in order:
        r = render_figure(image, scene.persons[i])
        renders[i] = r
        if r.mask.size:
            x0, y0 = r.origin
            sub = owner[y0 : y0 + r.mask.shape[0], x0 : x0 + r.mask.shape[1]]
            sub[r.mask] = i
    if scene.occluders:
        pil = Image.fromarray(image)
        mask = Image.new("L", (w, h), 0)
        draw_shapes(pil, list(scene.occluders), ImageDraw.Draw(mask))
        image = np.asarray(pil).copy()
        owner[np.asarray(mask) > 0] = -2
    image = _apply_effects(image, scene.effects, rng)

    annotations: List[Dict[str, Any]] = []
    for i in order:
        r = renders[i]
        area = int(r.mask.sum()) if r.mask.size else 0
        if area == 0:
            continue
        x0, y0 = r.origin
        visible = int((owner[y0 : y0 + r.mask.shape[0], x0 : x0 + r.mask.shape[1]][r.mask] == i).sum())
        if visible < MIN_VISIBLE_PIXELS or visible < MIN_VISIBLE_FRACTION * area:
            continue
        ys, xs = np.nonzero(r.mask)
        bx0, by0 = float(xs.min() + x0), float(ys.min() + y0)
        bx1, by1 = float(xs.max() + x0 + 1), float(ys.max() + y0 + 1)
        kp = np.zeros((17, 3), dtype=np.float32)
        for j in range(17):
            x, y = float(r.keypoints[j, 0]), float(r.keypoints[j, 1])
            if not (0.0 <= x < w and 0.0 <= y < h):
                continue
            covered = owner[int(y), int(x)] not in (i, -1)
            kp[j] = (x, y, 1.0 if (covered or r.self_hidden[j]) else 2.0)
        annotations.append({
            "bbox": [bx0, by0, bx1 - bx0, by1 - by0],
            "area": float(area),
            "keypoints": kp,
            "num_keypoints": int((kp[:, 2] > 0).sum()),
            "visible_fraction": visible / area,
            "person": i,
        })
    return image, annotations


def render_scene(
    rng: np.random.Generator,
    imgsz: Union[int, Tuple[int, int]] = 320,
    persons: Optional[Sequence[PersonState]] = None,
    scene: Optional[Scene] = None,
) -> Tuple[np.ndarray, List[Dict[str, Any]]]:
    """Render a random scene (or ``scene``), optionally with an explicit list of ``persons``.

    ``imgsz`` is the longer side of a random-aspect scene, or an explicit ``(h, w)``. With
    ``persons`` given, the sampled scene's people are replaced by them (background, distractors
    and effects stay random from ``rng``). Returns ``(image uint8 HxWx3, annotations)``; see
    :func:`render` for the annotation dicts.
    """
    if scene is None:
        if isinstance(imgsz, tuple):
            base = sample_scene(rng, max(imgsz), num_people=0 if persons is not None else None)
            count = len(base.persons)
            scene = Scene(size=(int(imgsz[0]), int(imgsz[1])), background=base.background,
                          distractors=base.distractors, occluders=base.occluders,
                          persons=tuple(sample_people(rng, imgsz, count)) if persons is None else (),
                          effects=base.effects)
        else:
            scene = sample_scene(rng, imgsz, num_people=0 if persons is not None else None)
    if persons is not None:
        scene = Scene(size=scene.size, background=scene.background, distractors=scene.distractors,
                      occluders=scene.occluders, persons=tuple(persons), effects=scene.effects)
    return render(scene, rng)
