"""The metadata every yolopose artifact carries, as one validated dataclass.

It is stored as a JSON string under the key :data:`METADATA_KEY`:

- ONNX: ``metadata_props`` entry ``yolopose``;
- OpenVINO IR: ``rt_info`` entry ``yolopose`` (``model.set_rt_info(json, "yolopose")``);
- TFLite: a zip archive appended to the flatbuffer holding ``yolopose.json`` (the "associated
  file" convention; the TFLite loader ignores trailing bytes, :mod:`zipfile` reads it from the end).

The SDK needs nothing but this metadata to run a model.

Output contract for ``output_format == "raw"`` (yolopose's own exports): per level ``i`` with
stride ``s`` and grid ``H = imgsz_h / s``, ``W = imgsz_w / s``, three tensors (``batch, H, W, C``),
channels anchor-major (channel ``a * C_k + j`` is value ``j`` of anchor ``a``):

- ``det``:  ``C = na * (5 + nc)``  values ``tx, ty, tw, th, obj, cls...`` (logits);
- ``kpt_xy``: ``C = na * 2K``       values ``x0, y0, x1, y1, ...`` (raw, no sigmoid);
- ``kpt_conf``: ``C = na * K``      keypoint confidence logits.

Each (level, kind) has a distinct shape, so runtimes match tensors to roles by shape; names are a
hint. ``output_format == "decoded"`` is a single ``(batch, 5 + 3K, N)`` or ``(batch, N, 5 + 3K)``
tensor of ``cx, cy, w, h, score, (x, y, conf) * K`` in input pixels (other tools' pose exports);
``"end2end"`` a single ``(batch, N, 6 + 3K)`` tensor of final detections ``x1, y1, x2, y2, score,
class, (x, y, conf) * K`` (no NMS). :mod:`yolopose.layouts` reads each.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, Mapping, Optional, Tuple

from ._schema import (Anchors, Bool, FieldError, Int, JsonValue, Maybe, OpenMapping, Record, Rule, Seq, Size,
                      Str)
from .errors import MetadataError
from .keypoints import COCO_FLIP_INDEX, COCO_KEYPOINT_NAMES, COCO_SKELETON
from .limits import MAX_SIDE

__all__ = ["METADATA_KEY", "METADATA_FORMAT_VERSION", "OUTPUT_KINDS", "FIELD_RULES", "EXTRA_RULES",
           "MAX_METADATA_CHARS", "ModelMetadata", "OutputSpec"]

METADATA_KEY = "yolopose"
METADATA_FORMAT_VERSION = 1
OUTPUT_KINDS = ("det", "kpt_xy", "kpt_conf")
_LAYOUTS = ("NCHW", "NHWC")
_PRECISIONS = ("fp32", "fp16", "int8")
_OUTPUT_FORMATS = ("raw", "decoded", "end2end")  # one per family of yolopose.layouts read from metadata
_DTYPES = ("float32", "float16", "float64", "uint8", "int8")
#: metadata JSON longer than this is refused before it is parsed
MAX_METADATA_CHARS = 1 << 20
_MAX_LEVELS = 8
_MAX_KEYPOINTS = 1024


@dataclass(frozen=True)
class OutputSpec:
    """One raw output tensor: which level (index into ``strides``) and which kind."""

    level: int
    kind: str
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise MetadataError(f"output kind {self.kind!r} is not one of {OUTPUT_KINDS}")


class _Output(Rule):
    """An :class:`OutputSpec`, or the object ``{"level", "kind", "name"}`` stored in the JSON."""

    record = Record({"level": Int(0, _MAX_LEVELS - 1), "kind": Str(choices=OUTPUT_KINDS), "name": Str(1024)},
                    required=("level", "kind"), defaults={"name": ""})

    def check(self, value: Any, path: str) -> OutputSpec:
        if isinstance(value, OutputSpec):
            value = asdict(value)
        return OutputSpec(**self.record.check(value, path))


#: ``extra`` keys the SDK reads; every other key is free (checked only as bounded JSON: depth,
#: size, finite numbers), so other tools and later versions can add their own.
EXTRA_RULES: Dict[str, Rule] = {
    "kpt_dims": Int(2, 3),
    "normalized_coordinates": Bool(),
    "official_export": Str(64),
}

#: What a valid value of each metadata field is: one entry per field of :class:`ModelMetadata`
#: (type, range, finite numbers, size). Every value is checked when metadata is built or loaded,
#: so hostile metadata fails as a :class:`~yolopose.core.errors.MetadataError` naming the field.
#: A new field is one line here (and its attribute below).
FIELD_RULES: Dict[str, Rule] = {
    "model": Str(1024),
    "imgsz": Size(MAX_SIDE),
    "strides": Seq(Int(1, MAX_SIDE), _MAX_LEVELS),
    "anchors": Anchors(_MAX_LEVELS, 64, 1e5),
    "num_keypoints": Int(1, _MAX_KEYPOINTS),
    "num_classes": Int(1, 10_000),
    "keypoint_names": Seq(Str(256), _MAX_KEYPOINTS),
    "skeleton": Seq(Seq(Int(0, _MAX_KEYPOINTS - 1), 2, 2), 10_000),
    "flip_index": Seq(Int(0, _MAX_KEYPOINTS - 1), _MAX_KEYPOINTS),
    "output_format": Str(choices=_OUTPUT_FORMATS),
    "outputs": Seq(_Output(), 3 * _MAX_LEVELS),
    "input_name": Str(1024),
    "input_layout": Str(choices=_LAYOUTS),
    "input_dtype": Str(choices=_DTYPES),
    "batch": Maybe(Int(1, 2**62)),  # informative: the engine's input shape decides (limits.MAX_BATCH is checked on it)
    "precision": Str(choices=_PRECISIONS),
    "quantization": Maybe(Str(choices=("ptq", "qat"))),
    "letterbox": OpenMapping({"pad_value": Int(0, 255), "center": Bool(), "scaleup": Bool()}),
    "normalization": Str(1024),
    "version": Str(1024),
    "description": Str(100_000),
    "trained_on": Str(100_000),
    "format_version": Int(1, METADATA_FORMAT_VERSION),
    "extra": OpenMapping(EXTRA_RULES, JsonValue(max_depth=16, max_items=100_000)),
}


@dataclass(frozen=True)
class ModelMetadata:
    """What a runtime and the SDK need to know to run a pose model.

    Sizes are ``(height, width)``. ``anchors[level][a] = (w, h)`` in input pixels. Every field is
    checked against :data:`FIELD_RULES` when the object is built (lists become tuples).
    """

    model: str
    imgsz: Tuple[int, int]
    strides: Tuple[int, ...] = ()
    anchors: Tuple[Tuple[Tuple[float, float], ...], ...] = ()
    num_keypoints: int = 17
    num_classes: int = 1
    keypoint_names: Tuple[str, ...] = COCO_KEYPOINT_NAMES
    skeleton: Tuple[Tuple[int, int], ...] = COCO_SKELETON
    flip_index: Tuple[int, ...] = COCO_FLIP_INDEX
    output_format: str = "raw"
    outputs: Tuple[OutputSpec, ...] = ()
    input_name: str = "images"
    input_layout: str = "NCHW"
    input_dtype: str = "float32"
    batch: Optional[int] = 1  # None: dynamic
    precision: str = "fp32"
    quantization: Optional[str] = None  # None, "ptq" or "qat"
    letterbox: Mapping[str, Any] = field(default_factory=lambda: {"pad_value": 114, "center": True, "scaleup": True})
    normalization: str = "divide by 255, RGB"
    version: str = ""
    description: str = ""
    trained_on: str = ""
    format_version: int = METADATA_FORMAT_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        name = self.model if isinstance(self.model, str) else "?"

        def fail(msg: str) -> None:
            raise MetadataError(f"invalid yolopose metadata for model {name[:80]!r}: {msg}")

        for f in fields(self):
            try:
                object.__setattr__(self, f.name, FIELD_RULES[f.name].check(getattr(self, f.name), f.name))
            except FieldError as exc:
                fail(str(exc))
        if len(self.keypoint_names) != self.num_keypoints:
            fail(f"field 'keypoint_names': {len(self.keypoint_names)} keypoint names for {self.num_keypoints} keypoints")
        if self.flip_index and sorted(self.flip_index) != list(range(self.num_keypoints)):
            fail("field 'flip_index': flip_index must be a permutation of the keypoint indices")
        if any(not (0 <= a < self.num_keypoints and 0 <= b < self.num_keypoints) for a, b in self.skeleton):
            fail("field 'skeleton': the skeleton refers to a keypoint index out of range")
        if self.output_format == "raw":
            if not self.strides or len(self.anchors) != len(self.strides):
                fail("fields 'strides', 'anchors': raw outputs need strides and one anchor set per stride")
            if len({len(a) for a in self.anchors}) != 1:
                fail("field 'anchors': every level must have the same number of anchors")
            for s in self.strides:
                if self.imgsz[0] % s or self.imgsz[1] % s:
                    fail(f"fields 'imgsz', 'strides': imgsz {tuple(self.imgsz)} is not a multiple of stride {s}")
            if self.outputs and len(self.outputs) != 3 * len(self.strides):
                fail(f"field 'outputs': expected {3 * len(self.strides)} outputs (3 per level), got {len(self.outputs)}")
            if any(o.level >= len(self.strides) for o in self.outputs):
                fail(f"field 'outputs': an output names a level beyond the {len(self.strides)} strides")

    # ------------------------------------------------------------------ derived
    @property
    def num_anchors(self) -> int:
        """Anchors per grid cell."""
        return len(self.anchors[0]) if self.anchors else 0

    def channels(self, kind: str) -> int:
        """Channels of a raw output of the given kind."""
        na, k = self.num_anchors, self.num_keypoints
        return {"det": na * (5 + self.num_classes), "kpt_xy": na * 2 * k, "kpt_conf": na * k}[kind]

    def raw_output_shapes(self, batch: int = 1) -> Dict[Tuple[int, str], Tuple[int, int, int, int]]:
        """Expected NHWC shape of every raw output, keyed by ``(level, kind)``."""
        h, w = self.imgsz
        return {
            (lvl, kind): (batch, h // s, w // s, self.channels(kind))
            for lvl, s in enumerate(self.strides)
            for kind in OUTPUT_KINDS
        }

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d["letterbox"] = dict(self.letterbox)
        d["extra"] = dict(self.extra)
        return d

    def to_json(self) -> str:
        """Compact JSON, as stored in artifacts."""
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<metadata>") -> "ModelMetadata":
        """Build and validate from a dict; unknown keys go to ``extra``. ``source`` names the file.

        Every value is checked against :data:`FIELD_RULES`; a bad one is a
        :class:`~yolopose.core.errors.MetadataError` naming ``source`` and the field.
        """
        if not isinstance(data, Mapping):
            raise MetadataError(f"{source}: metadata must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        try:
            extra = FIELD_RULES["extra"].check({} if data.get("extra") is None else data["extra"], "extra")
            kwargs: Dict[str, Any] = {}
            unknown = {}
            for key, value in data.items():
                if key in known and key != "extra":
                    kwargs[key] = value
                elif key != "extra":
                    unknown[str(key)] = value
            extra.update(JsonValue(max_depth=16).check(unknown, "<top level>"))
            if "model" not in kwargs or "imgsz" not in kwargs:
                raise MetadataError(f"{source}: metadata lacks 'model' or 'imgsz'")
            if "num_keypoints" in kwargs and "keypoint_names" not in kwargs:
                n = FIELD_RULES["num_keypoints"].check(kwargs["num_keypoints"], "num_keypoints")
                if n != len(COCO_KEYPOINT_NAMES):
                    kwargs["keypoint_names"] = tuple(f"kpt_{i}" for i in range(n))
                    kwargs.setdefault("flip_index", tuple(range(n)))
                    kwargs.setdefault("skeleton", ())
            return cls(**kwargs, extra=extra)
        except FieldError as exc:
            raise MetadataError(f"{source}: invalid yolopose metadata: {exc}") from None
        except MetadataError as exc:
            if str(exc).startswith(source):
                raise
            raise MetadataError(f"{source}: {exc}") from None

    @classmethod
    def from_json(cls, text: str, source: str = "<metadata>") -> "ModelMetadata":
        """Parse and validate the JSON stored in an artifact (at most :data:`MAX_METADATA_CHARS`)."""
        if not isinstance(text, str):
            raise MetadataError(f"{source}: metadata is {type(text).__name__}, not JSON text")
        if len(text) > MAX_METADATA_CHARS:
            raise MetadataError(f"{source}: metadata of {len(text)} characters, more than {MAX_METADATA_CHARS}")
        try:
            data = json.loads(text)
        except RecursionError:
            raise MetadataError(f"{source}: metadata JSON is nested too deeply") from None
        except (TypeError, ValueError) as exc:
            raise MetadataError(f"{source}: metadata is not valid JSON ({exc})") from None
        return cls.from_dict(data, source=source)
