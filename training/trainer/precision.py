"""Mixed precision for training: float16 with loss scaling on CUDA, bfloat16 on CPUs that compute it
natively (Intel AMX / AVX512-BF16, ARM BF16), full float32 everywhere else.

On a CPU without native bfloat16 instructions autocast would *emulate* it and run slower than
float32, so there it stays off. The loss always runs in float32 (:class:`PoseLoss` casts).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from yolopose.core.cpu import cpu_features

__all__ = ["Precision", "cpu_has_native_bf16", "select_precision"]

#: /proc/cpuinfo flags of CPUs whose matrix/vector units compute bfloat16 natively
_BF16_FLAGS = ("amx_bf16", "avx512_bf16", "bf16")


def cpu_has_native_bf16(cpuinfo: Optional[str] = None) -> bool:
    """Whether this CPU computes bfloat16 in hardware (its ``/proc/cpuinfo`` flags, read by
    :func:`yolopose.core.cpu.cpu_features`; False where unknown)."""
    return any(flag in _BF16_FLAGS for flag in cpu_features(cpuinfo))


@dataclass(frozen=True)
class Precision:
    """How the forward pass runs: ``dtype`` for autocast (None: float32), whether the loss is scaled
    (float16 only) and whether the model and its inputs are kept channels-last (faster oneDNN
    convolutions in bfloat16 on CPU)."""

    dtype: Optional[torch.dtype] = None
    scale_loss: bool = False
    channels_last: bool = False

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    def describe(self) -> str:
        if self.dtype is None:
            return "float32"
        name = "float16" if self.dtype == torch.float16 else "bfloat16"
        return name + (" (channels-last)" if self.channels_last else "")


def select_precision(device: torch.device, amp: bool) -> Precision:
    """The precision a run with ``amp`` on ``device`` uses (see the module docstring)."""
    if not amp:
        return Precision()
    if device.type == "cuda":
        return Precision(torch.float16, scale_loss=True)
    if device.type == "cpu" and cpu_has_native_bf16():
        return Precision(torch.bfloat16, channels_last=True)
    return Precision()
