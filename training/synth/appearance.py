"""How a synthetic figure looks: body proportions, skin, hair and clothing colours and patterns."""
from __future__ import annotations

import colorsys
from dataclasses import dataclass
from typing import Tuple

import numpy as np

__all__ = ["Appearance", "sample_appearance", "REGIONS", "PATTERNS"]

RGB = Tuple[int, int, int]

#: Colour regions of a figure; index 0 is "no figure".
REGIONS: Tuple[str, ...] = ("none", "skin", "hair", "shirt", "pants", "shoes")

#: Clothing patterns the painter knows.
PATTERNS: Tuple[str, ...] = ("solid", "stripes", "checks", "noise")

_SKIN: Tuple[RGB, ...] = (
    (255, 224, 196), (241, 194, 160), (224, 172, 129), (198, 134, 90), (160, 102, 62),
    (120, 75, 45), (90, 56, 36), (232, 190, 172), (255, 205, 148), (141, 85, 36),
)
_HAIR: Tuple[RGB, ...] = ((20, 16, 14), (60, 40, 25), (110, 70, 35), (180, 140, 80), (220, 200, 150),
                          (130, 40, 20), (150, 150, 150), (235, 235, 235))


@dataclass(frozen=True)
class Appearance:
    """Colours, clothing and build of one figure (all it takes to redraw it identically)."""

    skin: RGB = (224, 172, 129)
    hair: RGB = (40, 30, 20)
    hair_style: str = "short"  # "short", "long" or "none"
    shirt: RGB = (40, 90, 180)
    shirt2: RGB = (230, 230, 230)
    shirt_pattern: str = "solid"
    pants: RGB = (40, 40, 60)
    pants2: RGB = (90, 90, 110)
    pants_pattern: str = "solid"
    shoes: RGB = (30, 30, 30)
    pattern_period: float = 0.06  # stripe/check period in units of the figure's height
    pattern_angle: float = 0.0
    long_sleeves: bool = False
    shorts: bool = False
    build: float = 1.0  # limb thickness factor
    shoulders: float = 1.0  # shoulder width factor
    head_size: float = 1.0
    outline: float = 0.45  # how much outlines darken (0: none)
    texture_seed: int = 0  # seed of the noise texture (same seed -> same cloth in every frame)


def _colour(rng: np.random.Generator, sat: Tuple[float, float] = (0.2, 0.95),
            val: Tuple[float, float] = (0.15, 0.95)) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(float(rng.random()), float(rng.uniform(*sat)), float(rng.uniform(*val)))
    return int(r * 255), int(g * 255), int(b * 255)


def _pattern(rng: np.random.Generator) -> str:
    return PATTERNS[int(rng.choice(len(PATTERNS), p=[0.5, 0.25, 0.1, 0.15]))]


def sample_appearance(rng: np.random.Generator) -> Appearance:
    """A random, varied appearance; limbs stay distinguishable from the torso by outline and shading."""
    skin = _SKIN[int(rng.integers(len(_SKIN)))]
    skin = tuple(int(np.clip(c * rng.uniform(0.9, 1.08), 0, 255)) for c in skin)
    shirt = _colour(rng)
    pants = _colour(rng, sat=(0.05, 0.7), val=(0.1, 0.7))
    return Appearance(
        skin=skin,  # type: ignore[arg-type]
        hair=_HAIR[int(rng.integers(len(_HAIR)))],
        hair_style=str(rng.choice(["short", "long", "none"], p=[0.6, 0.3, 0.1])),
        shirt=shirt,
        shirt2=_colour(rng),
        shirt_pattern=_pattern(rng),
        pants=pants,
        pants2=_colour(rng, sat=(0.05, 0.7)),
        pants_pattern=str(rng.choice(["solid", "noise", "stripes"], p=[0.7, 0.2, 0.1])),
        shoes=_colour(rng, sat=(0.0, 0.6), val=(0.05, 0.6)),
        pattern_period=float(rng.uniform(0.03, 0.12)),
        pattern_angle=float(rng.uniform(0, np.pi)),
        long_sleeves=bool(rng.random() < 0.45),
        shorts=bool(rng.random() < 0.25),
        build=float(rng.uniform(0.8, 1.3)),
        shoulders=float(rng.uniform(0.85, 1.15)),
        head_size=float(rng.uniform(0.9, 1.15)),
        outline=float(rng.uniform(0.3, 0.6)),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
    )
