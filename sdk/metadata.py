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
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import MetadataError
from .keypoints import COCO_FLIP_INDEX, COCO_KEYPOINT_NAMES, COCO_SKELETON

__all__ = ["METADATA_KEY", "METADATA_FORMAT_VERSION", "OUTPUT_KINDS", "ModelMetadata", "OutputSpec"]

METADATA_KEY = "yolopose"
METADATA_FORMAT_VERSION = 1
OUTPUT_KINDS = ("det", "kpt_xy", "kpt_conf")
_LAYOUTS = ("NCHW", "NHWC")
_PRECISIONS = ("fp32", "fp16", "int8")
_OUTPUT_FORMATS = ("raw", "decoded", "end2end")  # one per family of yolopose.layouts read from metadata


@dataclass(frozen=True)
class OutputSpec:
    """One raw output tensor: which level (index into ``strides``) and which kind."""

    level: int
    kind: str
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise MetadataError(f"output kind {self.kind!r} is not one of {OUTPUT_KINDS}")


@dataclass(frozen=True)
class ModelMetadata:
    """What a runtime and the SDK need to know to run a pose model.

    Sizes are ``(height, width)``. ``anchors[level][a] = (w, h)`` in input pixels.
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
        def fail(msg: str) -> None:
            raise MetadataError(f"invalid yolopose metadata for model {self.model!r}: {msg}")

        if len(self.imgsz) != 2 or any(int(v) <= 0 for v in self.imgsz):
            fail(f"imgsz must be (height, width) > 0, got {self.imgsz!r}")
        if self.output_format not in _OUTPUT_FORMATS:
            fail(f"output_format {self.output_format!r} is not one of {_OUTPUT_FORMATS}")
        if self.input_layout not in _LAYOUTS:
            fail(f"input_layout {self.input_layout!r} is not one of {_LAYOUTS}")
        if self.precision not in _PRECISIONS:
            fail(f"precision {self.precision!r} is not one of {_PRECISIONS}")
        if self.num_keypoints <= 0:
            fail("num_keypoints must be positive")
        if len(self.keypoint_names) != self.num_keypoints:
            fail(f"{len(self.keypoint_names)} keypoint names for {self.num_keypoints} keypoints")
        if self.flip_index and sorted(self.flip_index) != list(range(self.num_keypoints)):
            fail("flip_index must be a permutation of the keypoint indices")
        if any(not (0 <= a < self.num_keypoints and 0 <= b < self.num_keypoints) for a, b in self.skeleton):
            fail("skeleton refers to a keypoint index out of range")
        if self.output_format == "raw":
            if not self.strides or len(self.anchors) != len(self.strides):
                fail("raw outputs need strides and one anchor set per stride")
            if len({len(a) for a in self.anchors}) != 1:
                fail("every level must have the same number of anchors")
            for s in self.strides:
                if self.imgsz[0] % s or self.imgsz[1] % s:
                    fail(f"imgsz {tuple(self.imgsz)} is not a multiple of stride {s}")
            if self.outputs and len(self.outputs) != 3 * len(self.strides):
                fail(f"expected {3 * len(self.strides)} outputs (3 per level), got {len(self.outputs)}")

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
        """Build and validate from a dict; unknown keys go to ``extra``. ``source`` names the file."""
        if not isinstance(data, Mapping):
            raise MetadataError(f"{source}: metadata must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        kwargs: Dict[str, Any] = {}
        extra = dict(data.get("extra") or {})
        for key, value in data.items():
            if key in known and key != "extra":
                kwargs[key] = value
            elif key != "extra":
                extra[key] = value
        if "model" not in kwargs or "imgsz" not in kwargs:
            raise MetadataError(f"{source}: metadata lacks 'model' or 'imgsz'")
        try:
            imgsz = kwargs["imgsz"]
            kwargs["imgsz"] = (int(imgsz), int(imgsz)) if isinstance(imgsz, (int, float)) else tuple(int(v) for v in imgsz)
            kwargs["strides"] = tuple(int(s) for s in kwargs.get("strides", ()))
            kwargs["anchors"] = tuple(
                tuple((float(a[0]), float(a[1])) for a in _pairs(level)) for level in kwargs.get("anchors", ())
            )
            for key in ("keypoint_names", "flip_index"):
                if key in kwargs:
                    kwargs[key] = tuple(kwargs[key])
            if "skeleton" in kwargs:
                kwargs["skeleton"] = tuple((int(a), int(b)) for a, b in kwargs["skeleton"])
            if "outputs" in kwargs:
                kwargs["outputs"] = tuple(
                    o if isinstance(o, OutputSpec) else OutputSpec(int(o["level"]), str(o["kind"]), str(o.get("name", "")))
                    for o in kwargs["outputs"]
                )
            if "num_keypoints" in kwargs and "keypoint_names" not in kwargs:
                n = int(kwargs["num_keypoints"])
                if n != len(COCO_KEYPOINT_NAMES):
                    kwargs["keypoint_names"] = tuple(f"kpt_{i}" for i in range(n))
                    kwargs.setdefault("flip_index", tuple(range(n)))
                    kwargs.setdefault("skeleton", ())
            return cls(**kwargs, extra=extra)
        except MetadataError as exc:
            raise MetadataError(f"{source}: {exc}") from None
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise MetadataError(f"{source}: malformed metadata ({exc})") from None

    @classmethod
    def from_json(cls, text: str, source: str = "<metadata>") -> "ModelMetadata":
        """Parse and validate the JSON stored in an artifact."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise MetadataError(f"{source}: metadata is not valid JSON ({exc})") from None
        return cls.from_dict(data, source=source)


def _pairs(level: Sequence[Any]) -> List[Sequence[float]]:
    """Accept ``[[w, h], ...]`` or the flat YOLOv5 form ``[w, h, w, h, ...]``."""
    if level and not isinstance(level[0], (list, tuple)):
        flat = list(level)
        if len(flat) % 2:
            raise ValueError("anchor list has an odd number of values")
        return [flat[i : i + 2] for i in range(0, len(flat), 2)]
    return list(level)
