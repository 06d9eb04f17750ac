"""How to feed a loaded runtime and read its outputs: the input's layout, dtype and quantization,
and the output layout (:mod:`yolopose.layouts`) that says which output is which and how to decode it.

Built once per model from the runtime's tensor descriptions and the model's metadata (ours, or
other tools' key/value metadata and shapes).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from .core.errors import ConfigError, ModelError
from .layouts import ModelFacts, OutputLayout, choose_layout
from .core.limits import check_input_size, check_tensor_size
from .core.metadata import ModelMetadata
from .core.ops.quant import QuantParams, dequantize, quantize_pixels

__all__ = ["ModelPlan"]


@dataclass(frozen=True)
class ModelPlan:
    """Everything the estimator needs to run a model (see module docstring)."""

    output_layout: OutputLayout
    layout: str  # input layout: "NCHW" or "NHWC"
    input_dtype: str
    input_quant: Optional[QuantParams]
    batch: Optional[int]  # None: dynamic
    output_quant: Tuple[Optional[QuantParams], ...]  # of the used outputs, in order
    source: str = ""

    @property
    def metadata(self) -> ModelMetadata:
        return self.output_layout.metadata

    # ------------------------------------------------------------------ input
    def make_input(self, pixels: np.ndarray) -> np.ndarray:
        """``(B, H, W, 3)`` uint8 letterboxed RGB -> the engine's input array."""
        if self.input_quant is not None:
            x = quantize_pixels(pixels, self.input_quant)
        elif self.input_dtype == "uint8":
            x = pixels
        else:
            x = pixels.astype(self.input_dtype)
            x *= np.asarray(1.0 / 255.0, dtype=self.input_dtype)
        if self.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x)

    # ------------------------------------------------------------------ outputs
    def arrange(self, outputs: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Engine outputs -> the output layout's float32 arrays (dequantized, batch first)."""
        used = self.output_layout.used
        if len(outputs) < max(used) + 1:
            raise ModelError(f"{self.source}: the model returned {len(outputs)} outputs, expected at least {max(used) + 1}")
        floats = []
        for index, quant in zip(used, self.output_quant):
            y = np.asarray(outputs[index])
            if quant is not None:
                y = dequantize(y, quant)
            elif y.dtype != np.float32:
                y = y.astype(np.float32)
            floats.append(y)
        return self.output_layout.arrange(floats)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_runtime(cls, runtime: Any, imgsz: Optional[Tuple[int, int]] = None) -> "ModelPlan":
        """Build the plan for a loaded :class:`yolopose.runtimes.Runtime`.

        ``imgsz`` ``(h, w)`` overrides the metadata's input size; only models whose input height
        and width are dynamic accept another size.
        """
        source = str(runtime.path)
        inp = runtime.inputs[0]
        if len(inp.shape) != 4:
            raise ModelError(f"{source}: the input {inp.name!r} has shape {inp.shape}; an image model needs 4 dimensions")
        if imgsz is not None:
            check_input_size("imgsz", None, int(imgsz[0]), int(imgsz[1]), ConfigError)
        facts = ModelFacts.from_runtime(runtime, imgsz)
        check_input_size(source, inp.shape[0], *(1 if d is None else d for d in facts.input_hw))
        check_tensor_size(source, f"input {inp.name!r}", inp.shape)
        for out in runtime.outputs:
            check_tensor_size(source, f"output {out.name!r}", out.shape)
        if inp.dtype not in ("float32", "float16", "float64", "uint8", "int8"):
            raise ModelError(f"{source}: unsupported input dtype {inp.dtype}")
        if inp.dtype == "int8" and inp.quant is None:
            raise ModelError(f"{source}: int8 input without quantization parameters")
        if facts.metadata is not None:  # before any output is matched against its sizes
            check_input_size(source, inp.shape[0], *facts.metadata.imgsz)
        output_layout = choose_layout(facts)
        meta = output_layout.metadata
        batch = output_layout.batch if output_layout.batch is not None else inp.shape[0]
        check_input_size(source, batch, *meta.imgsz)
        quant = tuple(runtime.outputs[i].quant for i in output_layout.used)
        return cls(output_layout, facts.input_layout, inp.dtype, inp.quant, batch, quant, source)
