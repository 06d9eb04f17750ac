"""OpenVINO IR (``.xml`` + ``.bin`` in one folder, written atomically as a whole): fp32, fp16
(weights compressed to float16), int8. Converted from the fp32 ONNX graph; int8 from a QAT
checkpoint is converted from the int8 QDQ ONNX instead (the ranges QAT learned, as in the int8
TFLite and ONNX), int8 by post-training quantization is NNCF's (on the calibration images; its
range and bias-correction algorithms keep more of the float AP than plain MinMax calibration),
with the int8 recipe's float layers in NNCF's ``ignored_scope`` (their nodes, found by name:
:mod:`..scopes`).

Verification runs with ``INFERENCE_PRECISION_HINT=f32``: on CPUs with AMX / AVX512-BF16 the
CPU plugin otherwise computes fp32 models in bfloat16 (keypoints move by ~0.5 px at 64 px).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, List

from yolopose.core.fileio import atomic_dir
from yolopose.core.metadata import METADATA_KEY

from .._registry import Artifact, Format, register_format
from ..scopes import nodes_in_modules
from .onnx import fp32_onnx, int8_onnx, weight_bits_info

if TYPE_CHECKING:  # pragma: no cover
    from ..job import ExportJob

__all__ = ["OpenVinoFormat"]


def _ov_model(job: "ExportJob", onnx_model=None):
    import onnx
    import openvino as ov

    with tempfile.TemporaryDirectory(prefix="yolopose-ov-") as d:
        src = Path(d) / "model.onnx"
        onnx.save(onnx_model if onnx_model is not None else fp32_onnx(job), src)
        return ov.convert_model(str(src))


def _ignored_scope(job: "ExportJob", model):
    """NNCF's ``ignored_scope`` for the recipe's float layers: the names of their nodes in ``model``."""
    import nncf

    from yolopose.core.errors import ExportError

    if not job.float_layers:
        return None
    names = nodes_in_modules((op.get_friendly_name() for op in model.get_ops()), job.float_layers)
    if not names:
        raise ExportError(f"OpenVINO int8: no node of the {job.recipe.name} recipe's float layers "
                          f"({', '.join(job.float_layers)}) found by name in the converted model")
    return nncf.IgnoredScope(names=names)


def _quantize(job: "ExportJob", model):
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, OverflowFix

    batch = job.batch or 1
    cal = job.calibration
    n = len(cal.images) - len(cal.images) % batch
    items = [cal.float_nchw(i, i + batch) for i in range(0, n, batch)]
    # NNCF's overflow fix: 7-bit weights everywhere (its default: in the first layer only)
    fix = OverflowFix.ENABLE if job.options.int8_weight_bits == 7 else OverflowFix.FIRST_LAYER
    t0 = time.perf_counter()
    quantized = nncf.quantize(model, nncf.Dataset(items), subset_size=len(items), preset=nncf.QuantizationPreset.MIXED,
                              ignored_scope=_ignored_scope(job, model),
                              advanced_parameters=AdvancedQuantizationParameters(overflow_fix=fix))
    job.log(f"int8 ranges (NNCF, for OpenVINO): calibrated on {len(cal.images)} images in {time.perf_counter() - t0:.1f} s")
    return quantized


@register_format
class OpenVinoFormat(Format):
    name = "openvino"
    int8_saturates_without_vnni = True
    # f32 arithmetic whatever the artifact's precision: on CPUs with AMX/AVX512-BF16 the CPU
    # plugin otherwise computes in bfloat16, and verification measures the artifact, not that choice
    verify_with = {"backend": "openvino", "runtime_options": {"config": {"INFERENCE_PRECISION_HINT": "f32"}}}

    def artifact_path(self, job: "ExportJob", precision: str) -> Path:
        return job.out_path(job.stem(precision) + "_openvino")

    def write(self, job: "ExportJob", precision: str, path: Path) -> Artifact:
        import openvino as ov

        notes: List[str] = []
        if job.quantization(precision) == "qat":
            model = _ov_model(job, int8_onnx(job))
            notes.append("from QAT: converted from the int8 QDQ ONNX (QAT-tuned weights, QAT-learned ranges)")
        elif precision == "int8":
            model = _quantize(job, _ov_model(job))
            notes.append("NNCF post-training quantization (mixed preset"
                         + (", 7-bit weights" if job.options.int8_weight_bits == 7 else "")
                         + (f"; float layers in its ignored_scope: {', '.join(job.float_layers)})" if job.float_layers else ")"))
        else:
            model = _ov_model(job)
        meta = job.metadata(precision, input_layout="NCHW", **weight_bits_info(job, precision))
        model.set_rt_info(meta.to_json(), METADATA_KEY)
        stem = job.stem(precision)
        with atomic_dir(path) as tmp:
            ov.save_model(model, str(tmp / f"{stem}.xml"), compress_to_fp16=(precision == "fp16"))
        return Artifact(path, notes=notes)
