"""Affine (de)quantization of int8/uint8 model inputs and outputs: ``real = scale * (q - zero_point)``.

Runtimes read the parameters from the model; the SDK applies them, so users never see them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["QuantParams", "quantize", "quantize_pixels", "dequantize"]


@dataclass(frozen=True)
class QuantParams:
    """Per-tensor quantization of an integer tensor."""

    scale: float
    zero_point: int
    dtype: str  # numpy dtype name of the quantized tensor, e.g. "int8"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"quantization scale must be finite and > 0, got {self.scale}")
        if np.dtype(self.dtype).kind not in "iu":
            raise ValueError(f"quantized dtype must be an integer type, got {self.dtype}")


def quantize(x: np.ndarray, q: QuantParams) -> np.ndarray:
    """Real values -> the integer tensor (round half to even, saturating)."""
    info = np.iinfo(q.dtype)
    y = np.rint(np.asarray(x, dtype=np.float32) / np.float32(q.scale)) + q.zero_point
    return np.clip(y, info.min, info.max).astype(q.dtype)


def quantize_pixels(pixels: np.ndarray, q: QuantParams) -> np.ndarray:
    """uint8 pixels ``p`` -> the quantized tensor of ``p / 255``; exact integer path for scale 1/255."""
    if abs(q.scale * 255.0 - 1.0) < 1e-6:
        info = np.iinfo(q.dtype)
        y = pixels.astype(np.int16) + np.int16(q.zero_point)
        return np.clip(y, info.min, info.max).astype(q.dtype)
    return quantize(pixels.astype(np.float32) / np.float32(255.0), q)


def dequantize(x: np.ndarray, q: QuantParams) -> np.ndarray:
    """The integer tensor -> float32 real values."""
    y = x.astype(np.float32)
    if q.zero_point:
        y -= np.float32(q.zero_point)
    y *= np.float32(q.scale)
    return y
