"""Paint one posed figure into an image: filled, outlined, shaded, textured body parts.

Besides the pixels, painting yields the figure's silhouette (for the scene's occlusion map) and
which of its keypoints are hidden behind its own body (COCO ``v=1``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw

from .appearance import REGIONS, Appearance, sample_appearance
from .body import BodyLayout, layout_body
from .pose import Pose, sample_pose

__all__ = ["PersonState", "FigureRender", "render_figure", "sample_person"]


@dataclass(frozen=True)
class PersonState:
    """Everything that places and poses one person in a scene (move it frame by frame for video).

    ``x, y``: pelvis centre in image pixels; ``height``: standing height in pixels; ``yaw``: view
    angle (0 facing the camera, pi from behind, +pi/2 facing image right); ``roll``: in-plane tilt;
    ``depth``: drawing order, larger is farther (drawn first); ``track_id``: free for the caller.
    """

    x: float
    y: float
    height: float
    pose: Pose = field(default_factory=Pose)
    appearance: Appearance = field(default_factory=Appearance)
    yaw: float = 0.0
    roll: float = 0.0
    depth: float = 0.0
    track_id: int = -1

    def layout(self) -> BodyLayout:
        return layout_body(self.pose, self.appearance, self.x, self.y, self.height, self.yaw, self.roll)


@dataclass(frozen=True)
class FigureRender:
    """What painting a figure produced (coordinates in image pixels)."""

    keypoints: np.ndarray  # (17, 2) x, y (may lie outside the image)
    self_hidden: np.ndarray  # (17,) bool, hidden behind the figure's own body
    origin: Tuple[int, int]  # (x0, y0) of ``mask`` in the image
    mask: np.ndarray  # (h, w) bool silhouette, clipped to the image (may be empty)


def _texture(kind: str, c1: Tuple[int, int, int], c2: Tuple[int, int, int], shape: Tuple[int, int],
             period: float, angle: float, seed: int) -> np.ndarray:
    h, w = shape
    a = np.asarray(c1, dtype=np.float32)
    if kind == "solid":
        return np.broadcast_to(a, (h, w, 3))
    b = np.asarray(c2, dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = max(period, 2.0)
    if kind == "stripes":
        t = ((xx * math.cos(angle) + yy * math.sin(angle)) / period) % 1.0
        m = (t < 0.5).astype(np.float32)
    elif kind == "checks":
        u = np.floor((xx * math.cos(angle) + yy * math.sin(angle)) / period)
        v = np.floor((-xx * math.sin(angle) + yy * math.cos(angle)) / period)
        m = ((u + v) % 2).astype(np.float32)
    else:  # noise
        rng = np.random.default_rng(seed)
        gh, gw = max(2, int(h / period) + 2), max(2, int(w / period) + 2)
        grid = (rng.random((gh, gw)) * 255).astype(np.uint8)
        m = np.asarray(Image.fromarray(grid).resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
        m = m * 0.6
    return a * (1 - m[..., None]) + b * m[..., None]


_REGION_INDEX = {name: i for i, name in enumerate(REGIONS)}


def _region_textures(app: Appearance, shape: Tuple[int, int], height: float) -> dict:
    period = app.pattern_period * height
    return {
        "skin": lambda: _texture("solid", app.skin, app.skin, shape, period, 0, 0),
        "hair": lambda: _texture("noise", app.hair, tuple(int(c * 0.7) for c in app.hair), shape, max(2.0, height * 0.01),
                                 0, app.texture_seed + 1),
        "shirt": lambda: _texture(app.shirt_pattern, app.shirt, app.shirt2, shape, period, app.pattern_angle,
                                  app.texture_seed),
        "pants": lambda: _texture(app.pants_pattern, app.pants, app.pants2, shape, period * 1.3, 0.0,
                                  app.texture_seed + 2),
        "shoes": lambda: _texture("solid", app.shoes, app.shoes, shape, period, 0, 0),
    }


def render_figure(image: np.ndarray, person: PersonState, layout: Optional[BodyLayout] = None) -> FigureRender:
    """Paint ``person`` into ``image`` (``HxWx3`` uint8, modified in place) and describe the result."""
    layout = layout or person.layout()
    app = person.appearance
    H, W = image.shape[:2]
    allpts = np.concatenate([p.polygon for p in layout.parts], 0)
    x0 = int(max(0, math.floor(allpts[:, 0].min()) - 2))
    y0 = int(max(0, math.floor(allpts[:, 1].min()) - 2))
    x1 = int(min(W, math.ceil(allpts[:, 0].max()) + 3))
    y1 = int(min(H, math.ceil(allpts[:, 1].max()) + 3))
    if x1 <= x0 or y1 <= y0:
        return FigureRender(layout.keypoints, layout.self_hidden, (0, 0), np.zeros((0, 0), dtype=bool))
    cw, ch = x1 - x0, y1 - y0
    ids = Image.new("L", (cw, ch), 0)
    edges = Image.new("L", (cw, ch), 0)
    di, de = ImageDraw.Draw(ids), ImageDraw.Draw(edges)
    ew = max(1, int(round(person.height * 0.007)))
    off = np.array([x0, y0], dtype=np.float64)
    for i, part in enumerate(layout.parts):
        poly = [tuple(p) for p in (part.polygon - off).tolist()]
        di.polygon(poly, fill=i + 1)
        de.polygon(poly, fill=0, outline=255, width=ew)
    pid = np.asarray(ids)
    inside = pid > 0
    if not inside.any():
        return FigureRender(layout.keypoints, layout.self_hidden, (x0, y0), inside)

    region_lut = np.zeros(len(layout.parts) + 1, dtype=np.uint8)
    shade_lut = np.ones(len(layout.parts) + 1, dtype=np.float32)
    for i, part in enumerate(layout.parts):
        region_lut[i + 1] = _REGION_INDEX[part.region]
        shade_lut[i + 1] = part.shade
    region = region_lut[pid]
    colour = np.zeros((ch, cw, 3), dtype=np.float32)
    textures = _region_textures(app, (ch, cw), person.height)
    for r in np.unique(region[inside]):
        m = region == r
        colour[m] = textures[REGIONS[int(r)]]()[m]
    colour *= shade_lut[pid][..., None]
    colour[np.asarray(edges) > 0] *= 1.0 - app.outline
    crop = Image.fromarray(np.clip(colour, 0, 255).astype(np.uint8))

    # face marks: eyes, nose (only where the head is what we see)
    hidden = layout.self_hidden.copy()
    kp_local = layout.keypoints - off
    for j in range(17):
        px, py = int(math.floor(kp_local[j, 0])), int(math.floor(kp_local[j, 1]))
        if 0 <= px < cw and 0 <= py < ch and pid[py, px] > 0:
            if j not in layout.parts[pid[py, px] - 1].keypoints:
                hidden[j] = True
    head_r = 0.062 * app.head_size * person.height / 0.95
    dc = ImageDraw.Draw(crop)
    eye_r = max(0.7, head_r * 0.13)
    for j in (1, 2):
        if not hidden[j]:
            ex, ey = kp_local[j]
            dc.ellipse([ex - eye_r, ey - eye_r, ex + eye_r, ey + eye_r], fill=(25, 20, 20))
    if not hidden[0]:
        nx, ny = kp_local[0]
        nr = max(0.6, head_r * 0.1)
        nose = tuple(int(c * 0.75) for c in app.skin)
        dc.ellipse([nx - nr, ny - nr, nx + nr, ny + nr], fill=nose)
    region_img = np.asarray(crop)
    view = image[y0:y1, x0:x1]
    view[inside] = region_img[inside]
    return FigureRender(layout.keypoints, hidden, (x0, y0), inside)


def sample_person(rng: np.random.Generator, x: float, y: float, height: float, depth: float = 0.0) -> PersonState:
    """A person with a random plausible pose, view and appearance at the given place and size."""
    r = rng.random()
    if r < 0.35:
        yaw = rng.normal(0.0, 0.3)
    elif r < 0.5:
        yaw = math.pi + rng.normal(0.0, 0.3)
    elif r < 0.8:
        yaw = float(rng.choice([-1.0, 1.0])) * math.pi / 2 + rng.normal(0.0, 0.3)
    else:
        yaw = rng.uniform(-math.pi, math.pi)
    roll = rng.normal(0.0, 0.07) if rng.random() < 0.9 else rng.uniform(-0.35, 0.35)
    return PersonState(x=float(x), y=float(y), height=float(height), pose=sample_pose(rng),
                       appearance=sample_appearance(rng), yaw=float(yaw), roll=float(roll), depth=float(depth))
