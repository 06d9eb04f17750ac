"""Calibration (and verification) images, letterboxed exactly as the SDK does it.

Sources, in order: ``--calib`` (a folder of images, searched recursively, e.g. a dataset written
by ``yolopose-train synth``); else people drawn by the synthetic renderer
(:mod:`yolopose.training.synth`) on textured backgrounds; else, when the renderer is not
available, random natural-looking images (smooth colour fields, edges and blobs).

Verification images are never calibration images (an artifact judged on the images it was
calibrated on looks better than it is): :func:`verification_images` holds some of the folder's
images out of calibration (:func:`split_folder`), or draws generated ones with another seed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image

from yolopose.core.errors import DatasetError
from yolopose.core.images import IMAGE_SUFFIXES, open_image
from yolopose.core.ops import letterbox

__all__ = ["CalibrationSet", "calibration_images", "split_folder", "verification_images"]


@dataclass(frozen=True)
class CalibrationSet:
    """``images``: ``(N, H, W, 3)`` uint8 letterboxed RGB; ``source`` says where they came from."""

    images: np.ndarray
    source: str

    def float_nhwc(self, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
        """``(n, H, W, 3)`` float32 in [0, 1]."""
        return self.images[start:stop].astype(np.float32) / 255.0

    def float_nchw(self, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
        """``(n, 3, H, W)`` float32 in [0, 1] (ONNX / OpenVINO input)."""
        return np.ascontiguousarray(self.float_nhwc(start, stop).transpose(0, 3, 1, 2))


def _folder_images(folder: Path) -> List[Path]:
    if not folder.exists():
        raise DatasetError(f"{folder}: calibration folder not found")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DatasetError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found for calibration")
    return files


def split_folder(folder: Path, n_calib: int, n_verify: int, seed: int = 0) -> Tuple[List[Path], List[Path]]:
    """The folder's images shuffled once (``seed``), split into up to ``n_calib`` calibration
    images and ``n_verify`` held-out verification images. A folder with no more than
    ``2 * n_verify`` images is all calibration (no verification images from it)."""
    files = _folder_images(folder)
    order = [files[i] for i in np.random.default_rng(seed).permutation(len(files))]
    held = n_verify if len(order) > 2 * n_verify else 0
    calib, verify = order[held:][:n_calib], order[:held]
    return sorted(calib), sorted(verify)


def _load(files: List[Path], imgsz: Tuple[int, int]) -> List[np.ndarray]:
    return [letterbox(open_image(f), imgsz)[0] for f in files]  # the SDK's decoding: EXIF, modes, errors


def _natural(rng: np.random.Generator, hw: Tuple[int, int]) -> np.ndarray:
    """A smooth, natural-statistics image: low-frequency colour field, a horizon, some blobs."""
    h, w = hw
    coarse = rng.uniform(0, 255, (max(2, h // 32), max(2, w // 32), 3)).astype(np.uint8)
    img = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BICUBIC)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    horizon = rng.uniform(0.3, 0.7) * h
    img[yy > horizon] *= rng.uniform(0.5, 0.9)
    for _ in range(int(rng.integers(3, 9))):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.03, 0.2) * min(h, w)
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        img[mask] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _rendered(rng: np.random.Generator, hw: Tuple[int, int]) -> Optional[np.ndarray]:
    try:
        from yolopose.training.synth.figure import render_figure, sample_person
    except ImportError:
        return None
    img = _natural(rng, hw)
    h, w = hw
    for _ in range(int(rng.integers(1, 4))):
        height = rng.uniform(0.3, 0.9) * h
        person = sample_person(rng, rng.uniform(0.15, 0.85) * w, rng.uniform(0.5, 0.95) * h, height)
        render_figure(img, person)
    return img


def calibration_images(imgsz: Tuple[int, int], n: int, calib: Optional[str] = None, seed: int = 0,
                       held_out: int = 0) -> CalibrationSet:
    """``n`` letterboxed images of size ``imgsz`` (see the module docstring for the sources); from a
    folder, never one of the ``held_out`` images :func:`split_folder` keeps for verification."""
    if calib is not None:
        files, _ = split_folder(Path(calib), n, held_out, seed)
        return CalibrationSet(np.stack(_load(files, imgsz)), f"{len(files)} images from {calib}")
    return _generated(imgsz, n, seed)


def verification_images(imgsz: Tuple[int, int], n: int, calib: Optional[str] = None, seed: int = 0) -> CalibrationSet:
    """``n`` letterboxed images none of which calibrates (:func:`calibration_images` with the same
    ``calib``, ``seed`` and ``held_out=n``): the folder's held-out images, or, for a small folder
    or none, generated ones drawn with another seed."""
    if calib is not None:
        _, files = split_folder(Path(calib), 0, n, seed)
        if files:
            return CalibrationSet(np.stack(_load(files, imgsz)), f"{len(files)} images of {calib} held out of calibration")
    return _generated(imgsz, n, seed + 12345)


def _generated(imgsz: Tuple[int, int], n: int, seed: int) -> CalibrationSet:
    rng = np.random.default_rng(seed)
    # draw at a random aspect and letterbox, so the pad value is seen as in deployment
    images = []
    source = "synthetic renderer (yolopose.training.synth)"
    for i in range(n):
        aspect = rng.uniform(0.6, 1.6)
        hw = (imgsz[0], max(8, int(imgsz[1] * aspect))) if i % 2 else (max(8, int(imgsz[0] / aspect)), imgsz[1])
        try:
            img = _rendered(rng, hw)
        except Exception:  # a failing renderer must never block an export: fall back to plain images
            img = None
        if img is None:
            img = _natural(rng, hw)
            source = "random natural-looking images (synthetic renderer unavailable)"
        images.append(letterbox(img, imgsz)[0])
    return CalibrationSet(np.stack(images), f"{n} generated images: {source}")
