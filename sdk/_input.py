"""Letterboxed images written straight into an engine's input tensor.

:meth:`yolopose._plan.ModelPlan.make_input` converts a stack of padded ``HxWx3`` canvases
(astype, scale, transpose: three full passes and two temporary tensors). :class:`InputWriter`
writes each resized image (:func:`yolopose.core.ops.letterbox_content`) into its place in one tensor
allocated per call, converting its pixels on the way, and fills the padding with the converted
pad value. Pixel values map to input values through a 256-entry table computed by ``make_input``
itself, so the tensor is bit-identical to ``make_input(letterbox(...))``; the writer only picks
the fastest way to apply that table:

- ``copy``: uint8 input (the table is the identity);
- ``flip``: int8 input quantized with scale 1/255 and zero point -128 (``p - 128``, one XOR);
- ``scale``: float input, ``p * (1/255)`` in the input's float type;
- ``table``: anything else (other quantization parameters), a table look-up.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import numpy as np

from .core.ops.letterbox import LetterboxTransform

__all__ = ["InputWriter"]

_Writer = Callable[[np.ndarray, np.ndarray], None]


class InputWriter:
    """Fills an engine input tensor from letterbox contents (see the module docstring).

    ``plan``: a :class:`~yolopose._plan.ModelPlan` (its ``layout``, ``input_dtype`` and
    ``make_input``); ``pad_value``: the letterbox grey. Holds no per-call state, so one writer
    serves any number of threads.
    """

    def __init__(self, plan: Any, pad_value: int) -> None:
        self.layout = plan.layout
        self.imgsz: Tuple[int, int] = tuple(plan.metadata.imgsz)  # type: ignore[assignment]
        levels = np.arange(256, dtype=np.uint8)
        probe = plan.make_input(np.repeat(levels[None, None, :, None], 3, axis=3))  # (1, 1, 256, 3) NHWC
        table = (probe[0, 0, 0] if self.layout == "NCHW" else probe[0, 0, :, 0]).copy()
        self.dtype = table.dtype
        self.table = table
        self.pad = table[int(pad_value)]
        self.method, self._write = self._pick(levels, table)

    def _pick(self, levels: np.ndarray, table: np.ndarray) -> Tuple[str, _Writer]:
        methods: Dict[str, Tuple[Any, _Writer]] = {
            "copy": (levels, _copy),
            "flip": ((levels ^ np.uint8(0x80)).view(np.int8), _flip),
        }
        if table.dtype.kind == "f":
            scale = np.asarray(1.0 / 255.0, dtype=table.dtype)
            methods["scale"] = (np.multiply(levels, scale, dtype=table.dtype), _scaler(scale))
        for name, (expected, write) in methods.items():
            if expected.dtype == table.dtype and np.array_equal(expected, table):
                return name, write
        return "table", _table(table)

    def new(self, batch: int) -> np.ndarray:
        """An uninitialised input tensor for ``batch`` images (every element is written later)."""
        h, w = self.imgsz
        shape = (batch, 3, h, w) if self.layout == "NCHW" else (batch, h, w, 3)
        return np.empty(shape, dtype=self.dtype)

    def write(self, x: np.ndarray, index: int, content: np.ndarray, transform: LetterboxTransform) -> None:
        """Put one letterboxed image (``content`` of ``transform.content_size``) into ``x[index]``."""
        rw, rh = transform.content_size
        top, left = int(transform.pad_y), int(transform.pad_x)
        if content.shape[:2] != (rh, rw):
            raise ValueError(f"letterbox content is {content.shape[1]}x{content.shape[0]}, expected {rw}x{rh}")
        image = x[index]
        if self.layout == "NCHW":
            _fill_border(image, top, rh, left, rw, self.pad, rows_axis=1)
            self._write(image[:, top : top + rh, left : left + rw], content.transpose(2, 0, 1))
        else:
            _fill_border(image, top, rh, left, rw, self.pad, rows_axis=0)
            self._write(image[top : top + rh, left : left + rw], content)


def _fill_border(image: np.ndarray, top: int, rh: int, left: int, rw: int, pad: Any, rows_axis: int) -> None:
    """Pad value everywhere in ``image`` (CHW: ``rows_axis`` 1, HWC: 0) outside the content rectangle."""
    lead = (slice(None),) * rows_axis
    rows = slice(top, top + rh)
    image[lead + (slice(None, top),)] = pad
    image[lead + (slice(top + rh, None),)] = pad
    image[lead + (rows, slice(None, left))] = pad
    image[lead + (rows, slice(left + rw, None))] = pad


def _copy(out: np.ndarray, src: np.ndarray) -> None:
    out[...] = src


def _flip(out: np.ndarray, src: np.ndarray) -> None:
    np.bitwise_xor(src, np.uint8(0x80), out=out.view(np.uint8))


def _scaler(scale: np.ndarray) -> _Writer:
    def write(out: np.ndarray, src: np.ndarray) -> None:
        np.multiply(src, scale, out=out, dtype=out.dtype)

    return write


def _table(table: np.ndarray) -> _Writer:
    def write(out: np.ndarray, src: np.ndarray) -> None:
        np.take(table, src, out=out, mode="clip")  # indices are uint8: clip never changes one

    return write
