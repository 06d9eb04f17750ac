"""Photograph-like test JPEGs for the preprocessing benchmarks (no photo is shipped or downloaded).

A synthetic scene of people (``yolopose.training.synth``, numpy + Pillow only) with the texture of a
photograph added: 1/f ("pink") noise in luminance and colour, and sensor grain, saved at JPEG
quality 90. Decoding time follows a JPEG's entropy: a flat synthetic render (0.5 bit per pixel)
would decode faster than a photo; these land at about 1.45 bits per pixel (810x1080: 156 kB,
1280x720: 170 kB), in the range of camera photos at that quality (about 1 to 2.5) and a little
above the usual demo photos (bus.jpg, 810x1080, is about 1.3).

    PHOTOS["portrait"]  # 810x1080, the size of bus.jpg
    PHOTOS["hd"]        # 1280x720
    write_photo(folder / "hd.jpg", *PHOTOS["hd"])
    write_frames(folder, 60)  # a 1280x720 JPEG sequence: people moving over a fixed background
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

#: name -> (width, height, scene seed)
PHOTOS: Dict[str, Tuple[int, int, int]] = {"portrait": (810, 1080, 58), "hd": (1280, 720, 14)}
QUALITY = 90
#: grey levels of the 1/f texture and of the sensor grain (standard deviations)
TEXTURE, GRAIN = 5.0, 1.5


def _pink(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean unit-variance noise with a 1/f spectrum (the statistics of natural images)."""
    f = np.fft.rfft2(rng.standard_normal((h, w)))
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    r = np.sqrt(fx**2 + fy**2)
    r[0, 0] = 1.0
    out = np.fft.irfft2(f / r, s=(h, w))
    return (out - out.mean()) / out.std()


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([_pink(h, w, rng) for _ in range(3)], -1) * 0.35 + _pink(h, w, rng)[..., None]


def _scene(width: int, height: int, seed: int, people: int = 3):
    """The first scene of ``(width, height)`` drawn from seeds ``[31, seed], [31, seed + 1], ...``."""
    from yolopose.training.synth.scene import sample_scene

    imgsz = max(width, height)
    for s in range(seed, seed + 2000):
        rng = np.random.default_rng([31, s])
        scene = sample_scene(rng, imgsz)
        if scene.size == (height, width) and len(scene.persons) >= people:
            return scene, rng
    raise RuntimeError(f"no {width}x{height} scene found")  # pragma: no cover - the search is deterministic


def photo(width: int, height: int, seed: int) -> np.ndarray:
    """An ``height x width`` RGB photo-like image (deterministic in its arguments)."""
    from yolopose.training.synth.scene import render

    scene, rng = _scene(width, height, seed)
    image, _ = render(scene, rng)
    grain = np.random.default_rng(seed).normal(0.0, GRAIN, image.shape)
    return np.clip(image + TEXTURE * _texture(height, width, seed) + grain, 0, 255).astype(np.uint8)


def write_photo(path: Path, width: int, height: int, seed: int) -> Path:
    Image.fromarray(photo(width, height, seed)).save(path, quality=QUALITY)
    return path


def write_frames(folder: Path, count: int, width: int = 1280, height: int = 720, seed: int = 14) -> List[Path]:
    """``count`` JPEG frames ``000000.jpg``...: the people of one scene walking across it."""
    from yolopose.training.synth.scene import render

    folder.mkdir(parents=True, exist_ok=True)
    scene, rng = _scene(width, height, seed)
    texture = TEXTURE * _texture(height, width, seed)
    grain_rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        people = tuple(replace(p, x=p.x + 4.0 * i * (1 if k % 2 else -1)) for k, p in enumerate(scene.persons))
        image, _ = render(replace(scene, persons=people), rng)
        frame = np.clip(image + texture + grain_rng.normal(0.0, GRAIN, image.shape), 0, 255).astype(np.uint8)
        path = folder / f"{i:06d}.jpg"
        Image.fromarray(frame).save(path, quality=QUALITY)
        paths.append(path)
    return paths
