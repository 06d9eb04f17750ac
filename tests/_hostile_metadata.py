"""Hostile yolopose metadata: one case per (field, bad value), written into the tiny test model of
every engine (ONNX ``metadata_props``, OpenVINO IR ``rt_info``, a TFLite file's appended zip).

Used by ``tests/test_hostile_metadata.py`` and counted by ``benchmarks/reliability_corpus.py``.
``CASES`` lists ``(field, label, value)``; ``value`` replaces the field in the tiny model's own
metadata (``extra.<key>`` and ``letterbox.<key>`` reach inside those objects). A case is
*invalid* when the schema must refuse it (every value here except the few in ``VALID``).
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

import _graphs as g

from yolopose.core.metadata import METADATA_KEY, ModelMetadata
from dataclasses import fields as _f
FIELD_RULES = [x.name for x in _f(ModelMetadata)]

FIX = Path(__file__).parent / "fixtures"
DEEP = 5000  # nesting levels of the "deep" value (json.loads copes; the schema must refuse it)


class Deep:
    """A list nested ``levels`` deep, written into the JSON text directly (``json.dumps`` would recurse)."""

    def __init__(self, levels: int) -> None:
        self.levels = levels


#: label -> value, tried on every field
VALUES: Dict[str, Any] = {
    "string": "abc",
    "long-string": "x" * 200_000,
    "negative": -1,
    "zero": 0,
    "fraction": 0.5,
    "huge-int": 10**30,
    "nan": float("nan"),
    "inf": float("inf"),
    "-inf": float("-inf"),
    "null": None,
    "true": True,
    "empty-list": [],
    "empty-object": {},
    "list-of-nan": [float("nan")],
    "object-of-inf": {"a": float("inf")},
    "long-list": list(range(100_000)),
    "deep": Deep(DEEP),
}
#: nested keys whose values are read by the SDK (checked by their own rule) or are free (``extra.note``)
NESTED = ("letterbox.pad_value", "letterbox.center", "letterbox.scaleup", "extra.kpt_dims",
          "extra.normalized_coordinates", "extra.official_export", "extra.note")
FIELDS: Tuple[str, ...] = tuple(f for f in FIELD_RULES) + NESTED
#: (field, label) pairs whose value is valid metadata (a run must then succeed)
VALID = {
    ("batch", "null"), ("quantization", "null"), ("version", "string"), ("description", "string"),
    ("trained_on", "string"), ("normalization", "string"), ("input_name", "string"), ("model", "string"),
    ("outputs", "empty-list"),
    ("skeleton", "empty-list"), ("flip_index", "empty-list"), ("letterbox", "empty-object"),
    ("extra", "empty-object"), ("extra", "null"), ("letterbox.pad_value", "zero"), ("letterbox.center", "true"),
    ("letterbox.scaleup", "true"), ("extra.normalized_coordinates", "true"), ("extra.official_export", "string"),
    *(("extra.note", label) for label in ("string", "negative", "zero", "fraction", "huge-int", "null", "true",
                                          "empty-list", "empty-object")),
}
CASES: List[Tuple[str, str, Any]] = [(f, label, v) for f in FIELDS for label, v in VALUES.items()]


def _marker(levels: int) -> str:
    return "[" * levels + "]" * levels


def metadata_text(field: str, value: Any) -> str:
    """The tiny model's metadata JSON with ``field`` set to ``value``."""
    data = json.loads(g.metadata().to_json())
    placeholder = "__DEEP__"
    target, key = (data, field) if "." not in field else (data.setdefault(field.split(".")[0], {}), field.split(".")[1])
    target[key] = placeholder if isinstance(value, Deep) else value
    text = json.dumps(data)
    if isinstance(value, Deep):
        text = text.replace(json.dumps(placeholder), _marker(value.levels))
    return text


def _tflite_base() -> bytes:
    data = (FIX / "tiny_raw_fp32.tflite").read_bytes()
    return data[: data.rfind(b"PK\x03\x04")]  # the flatbuffer, without the appended metadata zip


def write_tflite(path: Path, text: str) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo(f"{METADATA_KEY}.json", date_time=(2024, 1, 1, 0, 0, 0)), text)
    path.write_bytes(_tflite_base() + buf.getvalue())
    return path


def write_onnx(path: Path, text: str) -> Path:
    return g.make_raw_onnx(path, meta=False, extra_props={METADATA_KEY: text})


def write_ir(path: Path, text: str, base_onnx: Path) -> Path:
    import openvino as ov

    model = ov.Core().read_model(str(base_onnx))
    model.set_rt_info(text, METADATA_KEY)
    ov.save_model(model, str(path), compress_to_fp16=False)
    return path


#: engine -> (backend name, file suffix)
ENGINES = {"onnxruntime": ("onnxruntime", ".onnx"), "openvino": ("openvino", ".xml"), "tflite": ("tflite", ".tflite")}


def write_cases(folder: Path, engine: str, cases=CASES) -> List[Path]:
    """One model file per case for ``engine``, in ``folder``; returns their paths in case order."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ENGINES[engine][1]
    base = write_onnx(folder / "_base.onnx", g.metadata().to_json()) if engine == "openvino" else None
    if base is not None:  # the IR's own graph, without metadata_props
        base = g.make_raw_onnx(folder / "_bare.onnx", meta=False)
    paths = []
    for i, (field, label, value) in enumerate(cases):
        path = folder / f"case{i:03d}_{field.replace('.', '-')}_{label}{suffix}"
        text = metadata_text(field, value)
        if engine == "onnxruntime":
            write_onnx(path, text)
        elif engine == "tflite":
            write_tflite(path, text)
        else:
            write_ir(path, text, base)
        paths.append(path)
    return paths
