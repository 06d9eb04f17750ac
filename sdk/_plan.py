"""How to feed a loaded runtime and read its outputs: input layout/dtype/quantization, and which
output is which (raw per-level tensors matched by shape, or one decoded tensor).

Built once per model from the runtime's tensor descriptions and the model metadata (ours, or
inferred from other tools' metadata and shapes).
"""
from __future__ import annotations

import ast
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .errors import ConfigError, MetadataError, ModelError
from .keypoints import COCO_FLIP_INDEX, COCO_KEYPOINT_NAMES, COCO_SKELETON
from .limits import check_input_size, check_tensor_size
from ._schema import FieldError, Int
from .metadata import OUTPUT_KINDS, ModelMetadata
from ._official_exports import OFFICIAL_CONVERTERS, official_export_plan
from .ops.quant import QuantParams, dequantize, quantize_pixels

__all__ = ["ModelPlan", "OutputSlot"]

_MAX_PROP = 10_000


@dataclass(frozen=True)
class OutputSlot:
    """Engine output ``index`` plays ``role`` (``(level, kind)`` or ``"decoded"``)."""

    index: int
    role: Any
    transpose: Optional[Tuple[int, ...]] = None  # applied to the engine array to get NHWC
    quant: Optional[QuantParams] = None
    expected: Tuple[int, ...] = ()  # shape without the batch dimension
    convert: Optional[str] = None  # a yolopose._official_exports converter (one array -> several)


@dataclass(frozen=True)
class ModelPlan:
    """Everything the estimator needs to run a model (see module docstring)."""

    metadata: ModelMetadata
    layout: str  # "NCHW" or "NHWC"
    input_dtype: str
    input_quant: Optional[QuantParams]
    batch: Optional[int]  # None: dynamic
    slots: Tuple[OutputSlot, ...]  # in the order infer() returns them
    decoded_channels_first: bool = True
    normalized: bool = False
    source: str = ""

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
        """Engine outputs -> float32 arrays in slot order (dequantized, NHWC), shapes checked."""
        if len(outputs) < max(s.index for s in self.slots) + 1:
            raise ModelError(f"{self.source}: the model returned {len(outputs)} outputs, expected {len(self.slots)}")
        arranged = []
        for slot in self.slots:
            y = np.asarray(outputs[slot.index])
            if slot.quant is not None:
                y = dequantize(y, slot.quant)
            elif y.dtype != np.float32:
                y = y.astype(np.float32)
            if slot.convert is not None:
                arranged.extend(OFFICIAL_CONVERTERS[slot.convert](y, self.metadata))
                continue
            if slot.transpose is not None:
                y = np.ascontiguousarray(y.transpose(slot.transpose))
            if slot.expected and tuple(y.shape[1:]) != slot.expected:
                raise ModelError(
                    f"{self.source}: output {slot.index} ({slot.role}) has shape {tuple(y.shape)}, expected (batch, {', '.join(map(str, slot.expected))})"
                )
            arranged.append(y)
        return arranged

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
        meta = runtime.metadata
        if meta is None:
            official = _official_plan(cls, runtime, inp, source)
            if official is not None:
                return official
            meta = _foreign_metadata(runtime)
        layout = _layout(inp.shape, meta.input_layout)
        fixed_hw = inp.shape[2:4] if layout == "NCHW" else inp.shape[1:3]
        check_input_size(source, inp.shape[0], *(1 if d is None else d for d in fixed_hw))
        check_tensor_size(source, f"input {inp.name!r}", inp.shape)
        for out in runtime.outputs:
            check_tensor_size(source, f"output {out.name!r}", out.shape)
        if imgsz is not None and tuple(imgsz) != tuple(meta.imgsz):
            hw = inp.shape[2:4] if layout == "NCHW" else inp.shape[1:3]
            if None not in hw:
                raise ConfigError(f"{source} has a fixed input size {hw[0]}x{hw[1]}; it cannot run at {imgsz[0]}x{imgsz[1]}")
            try:
                meta = dataclasses.replace(meta, imgsz=(int(imgsz[0]), int(imgsz[1])))
            except MetadataError as exc:
                raise ConfigError(str(exc)) from None
        if inp.dtype not in ("float32", "float16", "float64", "uint8", "int8"):
            raise ModelError(f"{source}: unsupported input dtype {inp.dtype}")
        if inp.dtype == "int8" and inp.quant is None:
            raise ModelError(f"{source}: int8 input without quantization parameters")
        batch = inp.shape[0]
        check_input_size(source, batch, *meta.imgsz)
        if meta.output_format == "raw":
            slots = _raw_slots(runtime, meta, source)
            return cls(meta, layout, inp.dtype, inp.quant, batch, slots, source=source)
        slot, channels_first = _decoded_slot(runtime, meta, source)
        normalized = bool(meta.extra.get("normalized_coordinates", False))
        return cls(meta, layout, inp.dtype, inp.quant, batch, (slot,), channels_first, normalized, source)


def _official_plan(cls: Any, runtime: Any, inp: Any, source: str) -> Optional["ModelPlan"]:
    """The plan for an ONNX file from the authors' own exporter (NCHW float input), if it is one."""
    if _layout(inp.shape, "NCHW") != "NCHW" or None in inp.shape[2:4]:
        return None
    found = official_export_plan(runtime, (int(inp.shape[2]), int(inp.shape[3])))
    if found is None:
        return None
    meta, outputs = found
    slots = tuple(OutputSlot(index, role, convert=convert) for index, convert, role in outputs)
    batch = 1 if meta.extra.get("official_export") == "nms" else inp.shape[0]  # their NMS graph is batch 1
    return cls(meta, "NCHW", inp.dtype, inp.quant, batch, slots, False, False, source)


def _layout(shape: Sequence[Optional[int]], hint: str) -> str:
    if shape[1] == 3 and shape[3] != 3:
        return "NCHW"
    if shape[3] == 3 and shape[1] != 3:
        return "NHWC"
    return hint


def _raw_slots(runtime: Any, meta: ModelMetadata, source: str) -> Tuple[OutputSlot, ...]:
    expected = {key: shape[1:] for key, shape in meta.raw_output_shapes().items()}
    by_name = {o.name: (o.level, o.kind) for o in meta.outputs if o.name}
    found: Dict[Tuple[int, str], OutputSlot] = {}
    for i, out in enumerate(runtime.outputs):
        dims = tuple(out.shape[1:])
        role, transpose = None, None
        for key, (h, w, c) in expected.items():
            if dims == (h, w, c):
                role = key
            elif dims == (c, h, w) and (c, h, w) != (h, w, c):
                role, transpose = key, (0, 2, 3, 1)
            if role is not None:
                break
        if role is None and out.name in by_name and None in dims:
            role = by_name[out.name]  # dynamic shapes: fall back to the names in the metadata
        if role is None:
            continue
        if role in found:
            raise ModelError(f"{source}: two outputs match level {role[0]} {role[1]} (shape {out.shape})")
        found[role] = OutputSlot(i, role, transpose, out.quant, expected[role])
    missing = [key for key in expected if key not in found]
    if missing:
        want = ", ".join(f"level {lvl} {kind} (batch, {', '.join(map(str, expected[(lvl, kind)]))})" for lvl, kind in missing)
        have = ", ".join(f"{o.name} {tuple(o.shape)}" for o in runtime.outputs)
        raise ModelError(f"{source}: outputs do not match the metadata; missing {want}; the model has {have}")
    return tuple(found[(lvl, kind)] for lvl in range(len(meta.strides)) for kind in OUTPUT_KINDS)


def _decoded_slot(runtime: Any, meta: ModelMetadata, source: str) -> Tuple[OutputSlot, bool]:
    want = 4 + meta.num_classes + meta.num_keypoints * int(meta.extra.get("kpt_dims", 3))
    for i, out in enumerate(runtime.outputs):
        if len(out.shape) != 3:
            continue
        if out.shape[1] == want and out.shape[2] != want:
            return OutputSlot(i, "decoded", None, out.quant), True
        if out.shape[2] == want:
            return OutputSlot(i, "decoded", None, out.quant), False
    have = ", ".join(f"{o.name} {tuple(o.shape)}" for o in runtime.outputs)
    raise ModelError(f"{source}: no output of shape (batch, {want}, N) or (batch, N, {want}); the model has {have}")


def _literal(text: Optional[str]) -> Any:
    """Parse a metadata value written as JSON or a Python literal (other tools write both)."""
    if text is None or len(text) > _MAX_PROP:
        return None
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def _foreign_metadata(runtime: Any) -> ModelMetadata:
    """Metadata for another tool's decoded pose export, from its embedded facts and the shapes."""
    props: Mapping[str, str] = runtime.properties
    source = str(runtime.path)
    inp = runtime.inputs[0]
    layout = _layout(inp.shape, "NCHW")
    imgsz = _literal(props.get("imgsz"))
    if isinstance(imgsz, int):
        imgsz = [imgsz, imgsz]
    if not (isinstance(imgsz, (list, tuple)) and len(imgsz) == 2):
        hw = inp.shape[2:4] if layout == "NCHW" else inp.shape[1:3]
        if None in hw:
            raise MetadataError(f"{source}: no yolopose metadata, no 'imgsz' property and a dynamic input size {inp.shape}")
        imgsz = list(hw)
    names = _literal(props.get("names"))
    num_classes = len(names) if isinstance(names, (dict, list)) and names else 1
    kpt_shape = _literal(props.get("kpt_shape"))
    out_dims = [tuple(o.shape) for o in runtime.outputs if len(o.shape) == 3]
    if isinstance(kpt_shape, (list, tuple)) and len(kpt_shape) == 2:
        try:
            k, kd = Int(1, 1024).check(kpt_shape[0], "kpt_shape[0]"), Int(2, 3).check(kpt_shape[1], "kpt_shape[1]")
        except FieldError as exc:
            raise MetadataError(f"{source}: property {exc}") from None
    else:
        k = kd = 0
        for _, a, b in out_dims:
            for c in (a, b):
                if c is not None and c > 4 + num_classes and (c - 4 - num_classes) % 3 == 0:
                    k, kd = (c - 4 - num_classes) // 3, 3
                    break
            if k:
                break
    if k <= 0 or kd not in (2, 3):
        raise MetadataError(f"{source}: no yolopose metadata and the outputs {out_dims} do not look like a decoded pose output")
    description = props.get("description") or Path(source).stem
    coco = k == len(COCO_KEYPOINT_NAMES)
    try:
        return ModelMetadata(
            model=str(description)[:200],
            imgsz=tuple(imgsz),
            num_keypoints=k,
            num_classes=num_classes,
            keypoint_names=COCO_KEYPOINT_NAMES if coco else tuple(f"kpt_{i}" for i in range(k)),
            skeleton=COCO_SKELETON if coco else (),
            flip_index=COCO_FLIP_INDEX if coco else tuple(range(k)),
            output_format="decoded",
            input_name=inp.name,
            input_layout=layout,
            batch=inp.shape[0],
            extra={
                "kpt_dims": kd,
                # other tools write normalised coordinates into their TFLite exports
                "normalized_coordinates": Path(source).suffix.lower() == ".tflite",
                "source_properties": {key: str(v)[:500] for key, v in props.items()},
            },
        )
    except (TypeError, ValueError) as exc:  # MetadataError included
        raise MetadataError(f"{source}: cannot describe the model from its properties ({exc})") from None
