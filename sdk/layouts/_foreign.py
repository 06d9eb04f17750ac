"""Reading other tools' key/value metadata (e.g. Ultralytics' ONNX ``metadata_props``: ``imgsz``,
``names``, ``kpt_shape``, ``end2end``, ``task``, written as JSON or Python literals) into the
:class:`~yolopose.core.metadata.ModelMetadata` the SDK runs with."""
from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from ..core._schema import FieldError, Int
from ..core.errors import MetadataError
from ..core.keypoints import COCO_FLIP_INDEX, COCO_KEYPOINT_NAMES, COCO_SKELETON
from ..core.metadata import ModelMetadata
from ..core.limits import MAX_SIDE
from .base import ModelFacts

__all__ = ["literal", "keypoint_fields", "declared_kpt_shape", "declared_num_classes", "declared_end2end", "foreign_metadata"]

_MAX_PROP = 10_000
_MAX_KEYPOINTS = 1024


def literal(text: Optional[str]) -> Any:
    """A metadata value written as JSON or a Python literal (other tools write both); ``None`` if neither."""
    if text is None or len(text) > _MAX_PROP:
        return None
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return None


def keypoint_fields(k: int) -> Dict[str, Any]:
    """Names, skeleton and flip index for ``k`` keypoints: COCO's for 17, generic ones otherwise."""
    coco = k == len(COCO_KEYPOINT_NAMES)
    return {
        "num_keypoints": k,
        "keypoint_names": COCO_KEYPOINT_NAMES if coco else tuple(f"kpt_{i}" for i in range(k)),
        "skeleton": COCO_SKELETON if coco else (),
        "flip_index": COCO_FLIP_INDEX if coco else tuple(range(k)),
    }


def declared_kpt_shape(props: Mapping[str, str], source: str) -> Optional[Tuple[int, int]]:
    """``kpt_shape`` ``(K, dims)`` when the properties state one (``None`` when they do not);
    :class:`MetadataError` naming ``source`` and the property for a malformed one."""
    value = literal(props.get("kpt_shape"))
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        return None
    try:
        return Int(1, _MAX_KEYPOINTS).check(value[0], "kpt_shape[0]"), Int(2, 3).check(value[1], "kpt_shape[1]")
    except FieldError as exc:
        raise MetadataError(f"{source}: property {exc}") from None


def declared_num_classes(props: Mapping[str, str]) -> Optional[int]:
    """The number of class ``names`` the properties list, if they list any."""
    names = literal(props.get("names"))
    return len(names) if isinstance(names, (dict, list, tuple)) and names else None


def declared_end2end(props: Mapping[str, str]) -> Optional[bool]:
    """The ``end2end`` flag (``True``: outputs are final detections, no NMS), if stated."""
    value = literal(props.get("end2end"))
    if value is None and isinstance(props.get("end2end"), str):
        value = props["end2end"].strip().lower() in ("true", "1", "yes")
    return bool(value) if value is not None else None


def _imgsz(model: ModelFacts) -> Tuple[int, int]:
    if model.imgsz is not None:
        return model.imgsz
    value = literal(model.properties.get("imgsz"))
    if isinstance(value, int):
        value = [value, value]
    if isinstance(value, (list, tuple)) and len(value) == 2:
        try:
            return Int(1, MAX_SIDE).check(value[0], "imgsz[0]"), Int(1, MAX_SIDE).check(value[1], "imgsz[1]")
        except FieldError as exc:
            raise MetadataError(f"{model.source}: property {exc}") from None
    hw = model.input_hw
    if None in hw:
        raise MetadataError(f"{model.source}: no yolopose metadata, no 'imgsz' property and a dynamic input size {model.input.shape}")
    return int(hw[0]), int(hw[1])  # type: ignore[arg-type]


def foreign_metadata(model: ModelFacts, output_format: str, num_keypoints: int, num_classes: int, **extra: Any) -> ModelMetadata:
    """Metadata for another tool's model from its properties and input (``extra`` goes to ``extra``)."""
    props = model.properties
    description = props.get("description") or Path(model.source).stem
    try:
        return ModelMetadata(
            model=str(description)[:200],
            imgsz=_imgsz(model),
            num_classes=num_classes,
            output_format=output_format,
            input_name=model.input.name,
            input_layout=model.input_layout,
            batch=model.input.shape[0],
            extra={**extra, "source_properties": {key: str(v)[:500] for key, v in props.items()}},
            **keypoint_fields(num_keypoints),
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, MetadataError):
            raise MetadataError(f"{model.source}: {exc}") from None
        raise MetadataError(f"{model.source}: cannot describe the model from its properties ({exc})") from None
