"""Size limits a model must respect to be loaded, checked once when it is loaded.

A model file decides how much memory the estimator allocates: a fixed batch of 10**12, a
100000x100000 input or a gigantic output would otherwise end in numpy's ``MemoryError`` (or the
machine swapping) on the first image. Models beyond these limits are refused with a
:class:`~yolopose.core.errors.ModelError`; an ``imgsz`` argument beyond them with a
:class:`~yolopose.core.errors.ConfigError`.
"""
from __future__ import annotations

from typing import Iterable, Optional, Type

from .errors import ModelError, YoloPoseError

__all__ = ["MAX_BATCH", "MAX_SIDE", "MAX_TENSOR_ELEMENTS", "check_input_size", "check_tensor_size"]

#: images per model call at most (a fixed batch above it is refused)
MAX_BATCH = 256
#: network input height or width at most, in pixels
MAX_SIDE = 8192
#: elements of one input or output tensor at most (2**30: 4 GiB of float32)
MAX_TENSOR_ELEMENTS = 2**30


def check_input_size(
    source: str, batch: Optional[int], height: int, width: int, error: Type[YoloPoseError] = ModelError
) -> None:
    """Refuse an input of ``batch`` (``None``: dynamic) x ``height`` x ``width`` x 3 beyond the limits."""
    if batch is not None and not 1 <= batch <= MAX_BATCH:
        raise error(f"{source}: input batch {batch} is outside 1..{MAX_BATCH}")
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise error(f"{source}: input size {height}x{width} is outside 1..{MAX_SIDE} pixels per side")
    check_tensor_size(source, "input", (batch or 1, height, width, 3), error)


def check_tensor_size(
    source: str, what: str, shape: Iterable[Optional[int]], error: Type[YoloPoseError] = ModelError
) -> None:
    """Refuse a tensor whose known dimensions already hold more than :data:`MAX_TENSOR_ELEMENTS`."""
    count = 1
    for d in shape:
        if d is not None:
            count *= max(int(d), 1)
    if count > MAX_TENSOR_ELEMENTS:
        dims = "x".join("?" if d is None else str(d) for d in shape)
        raise error(f"{source}: {what} of shape {dims} holds {count} elements, more than the limit of {MAX_TENSOR_ELEMENTS}")
