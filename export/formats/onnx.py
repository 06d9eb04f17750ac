"""ONNX: opset 17, simplified with onnxsim, checked; fp32, fp16 (float16 weights and compute,
float32 inputs/outputs) and int8: the QDQ form of the PT2E int8 graph the int8 TFLite is converted
from (:mod:`..qdq_onnx`), so both carry the same per-channel symmetric int8 weights and the same
per-tensor int8 activation ranges: for a QAT checkpoint the ones QAT learned, otherwise the ones
calibrated on the calibration images.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence, Tuple

from yolopose.core.errors import ExportError
from yolopose.core.fileio import atomic_path
from yolopose.core.metadata import METADATA_KEY

from .._registry import Artifact, Format, register_format

if TYPE_CHECKING:  # pragma: no cover
    from ..job import ExportJob

__all__ = ["OnnxFormat", "fp32_onnx", "int8_onnx", "simplified", "traced_onnx", "weight_bits_info", "OPSET"]

OPSET = 17


def traced_onnx(module, imgsz: Tuple[int, int], batch: Optional[int], output_names: Sequence[str], opset: int = OPSET):
    """``module`` (NCHW float images in, one tensor per name out) traced to an unsimplified
    ``onnx.ModelProto`` by the TorchScript exporter: input ``images``, a fixed ``batch`` or ``None``
    for a dynamic one."""
    import onnx
    import torch

    h, w = imgsz
    x = torch.rand(batch or 1, 3, h, w)
    names = list(output_names)
    dynamic = {"images": {0: "batch"}, **{n: {0: "batch"} for n in names}} if batch is None else None
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module, (x,), buf, opset_version=opset, input_names=["images"], output_names=names,
            dynamic_axes=dynamic, do_constant_folding=True, dynamo=False,
        )
    return onnx.load_from_string(buf.getvalue())


def simplified(model, log: Callable[[str], None]):
    """``model`` simplified by onnxsim, or ``model`` itself (with a logged warning) when onnxsim
    is missing or fails: it is optional and has its own failure modes."""
    try:
        import onnxsim

        result, ok = onnxsim.simplify(model)
        if not ok:
            raise RuntimeError("onnxsim could not validate the simplified model")
        return result
    except Exception as exc:
        log(f"warning: onnxsim failed ({type(exc).__name__}: {exc}); keeping the unsimplified graph")
        return model


def fp32_onnx(job: "ExportJob"):
    """The simplified, checked fp32 ``onnx.ModelProto`` of the job's model (cached per job)."""
    if "onnx_fp32" in job.cache:
        return job.cache["onnx_fp32"]
    import onnx

    from yolopose.training.models.raw_outputs import RawOutputs

    model = traced_onnx(RawOutputs(job.source.model, "NCHW").eval(), job.imgsz, job.batch, job.output_names)
    if job.options.simplify:
        model = simplified(model, job.log)
    onnx.checker.check_model(model, full_check=True)
    job.cache["onnx_fp32"] = model
    return model


def _with_metadata(model, text: str):
    import onnx

    del model.metadata_props[:]
    onnx.helper.set_model_props(model, {METADATA_KEY: text})
    model.producer_name = "yolopose"
    return model


def _save(model, path: Path) -> None:
    import onnx

    onnx.checker.check_model(model)
    with atomic_path(path, suffix=".onnx") as tmp:
        tmp.write_bytes(model.SerializeToString())


def int8_onnx(job: "ExportJob"):
    """The QDQ int8 ``onnx.ModelProto`` of the job's int8 graph (cached per job)."""
    if "onnx_int8" not in job.cache:
        from ..qdq_onnx import qdq_onnx

        job.cache["onnx_int8"] = qdq_onnx(job.int8_module, job.imgsz, job.batch, job.output_names, OPSET, job.log,
                                          weight_bits=job.options.int8_weight_bits)
    return job.cache["onnx_int8"]


def weight_bits_info(job: "ExportJob", precision: str) -> dict:
    """Metadata ``extra`` of an int8 ONNX/OpenVINO artifact: how many bits its weights use."""
    return {"int8_weight_bits": job.options.int8_weight_bits} if precision == "int8" else {}


def _toposort(model):
    """Reorder graph nodes so every input is produced before use (the float16 converter appends
    its input casts at the end)."""
    graph = model.graph
    ready = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending = list(graph.node)
    ordered = []
    while pending:
        rest = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                rest.append(node)
        if len(rest) == len(pending):
            raise ExportError("ONNX graph has a cycle or an undefined input after float16 conversion")
        pending = rest
    copies = [type(n)() for n in ordered]
    for dst, src in zip(copies, ordered):
        dst.CopyFrom(src)
    del graph.node[:]
    graph.node.extend(copies)
    return model


def _fp16(fp32):
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return _toposort(convert_float_to_float16(fp32, keep_io_types=True, disable_shape_infer=False))


@register_format
class OnnxFormat(Format):
    name = "onnx"
    int8_saturates_without_vnni = True
    verify_with = {"backend": "onnxruntime"}

    def artifact_path(self, job: "ExportJob", precision: str) -> Path:
        return job.out_path(job.stem(precision) + ".onnx")

    def write(self, job: "ExportJob", precision: str, path: Path) -> Artifact:
        fp32 = fp32_onnx(job)
        notes: List[str] = []
        if precision == "fp32":
            import onnx

            model = onnx.ModelProto()
            model.CopyFrom(fp32)
        elif precision == "fp16":
            model = _fp16(fp32)
        else:
            import onnx

            model = onnx.ModelProto()
            model.CopyFrom(int8_onnx(job))
            bits = job.options.int8_weight_bits
            weights = "int8 weights" if bits == 8 else f"int8 weights on a {bits}-bit grid (for x86 without VNNI)"
            notes.append(f"QDQ: per-channel {weights}, int32 biases, activations on the int8 TFLite's grid (stored as uint8)")
            if job.quantization(precision) == "qat":
                notes.append("from QAT: QAT-tuned weights and the activation ranges QAT learned")
        meta = job.metadata(precision, input_layout="NCHW", opset=OPSET, **weight_bits_info(job, precision))
        _save(_with_metadata(model, meta.to_json()), path)
        return Artifact(path, notes=notes)
