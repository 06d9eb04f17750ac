"""``export()``: write and verify artifacts for every requested format and precision."""
from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

from torch import nn

from yolopose.core.cpu import int8_dot_saturates
from yolopose.core.errors import ConfigError, ExportError
from yolopose.training.models import check_imgsz

from ._registry import get_format, list_formats
from .job import ExportJob
from .options import ExportOptions, ExportResult, select_precisions
from .source import ModelSource, load_source
from .summary import oks_text
from .verify import MIN_BOX_IOU, MIN_KEYPOINT_OKS, compare_keypoints, run_artifact

__all__ = ["export"]

PathLike = Union[str, "os.PathLike[str]"]


def _formats(formats: Union[str, Sequence[str]]) -> List[str]:
    names = [formats] if isinstance(formats, str) else list(formats)
    out: List[str] = []
    for n in names:
        for item in list_formats() if n == "all" else [n]:
            get_format(item)  # ConfigError for unknown names
            if item not in out:
                out.append(item)
    return out


def _resolve_imgsz(requested: Optional[Tuple[int, int]], source: ModelSource) -> Tuple[int, int]:
    """The requested size, else the checkpoint's, else 640; a multiple of the model's max stride."""
    hw = requested or source.imgsz or (640, 640)
    return check_imgsz(hw, int(max(source.strides)))


def tree_size(path: Path) -> int:
    """Bytes of a file, or of all files under a folder."""
    path = Path(path)
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


_DRIFT_ADVICE = {
    ("ptq", "full"): "the full recipe quantizes the pose head, which post-training int8 does not keep: use the default "
                     "--int8-recipe mixed (float head), or, for int8-only NPUs, fine-tune with `yolopose-train qat "
                     "--int8-recipe full` and export with --qat (docs/int8.md)",
    ("ptq", "mixed"): "fine-tune with `yolopose-train qat` and export the QAT checkpoint with --qat, or calibrate on "
                      "images like the deployment's (--calib, more --calib-images) (docs/int8.md)",
    ("qat", "full"): "the full recipe quantizes the pose head: QAT with the default --int8-recipe mixed keeps more; more "
                     "QAT epochs or a lower QAT learning rate close part of the gap (docs/int8.md)",
    ("qat", "mixed"): "more QAT epochs, or a lower QAT learning rate, usually close the gap (docs/int8.md)",
}


def _drift_warning(result: ExportResult) -> str:
    """The note on an artifact whose poses agree with torch's less than asked."""
    advice = _DRIFT_ADVICE.get((result.quantization or "", result.int8_recipe or ""),
                               "check the artifact with `yolopose eval` before shipping it")
    if result.precision == "int8" and get_format(result.format).int8_saturates_without_vnni and int8_dot_saturates():
        advice = (f"this CPU has no VNNI, where {result.format}'s int8 convolutions saturate (16-bit pair sums): "
                  f"verify on the target device (VNNI x86, ARM) before judging the artifact, or try "
                  f"--int8-weight-bits 7 for CPUs like this one (QAT-tuned weights can lose more in 7 bits: "
                  f"compare with `yolopose eval`); {advice}")
    return (f"warning: poses drift from torch's (keypoint OKS {result.kpt_oks:.3f}, box IoU {result.box_iou:.3f} over "
            f"{result.kpt_oks_candidates} candidates torch scores >= 0.25; 1.0 = identical; flagged below "
            f"{MIN_KEYPOINT_OKS} / {MIN_BOX_IOU}, where the AP loss was measured): {advice}")


def _discard(path: Path) -> None:
    """Remove an artifact that failed verification (a file, or an OpenVINO folder)."""
    if Path(path).is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        Path(path).unlink(missing_ok=True)


def _verify(job: ExportJob, fmt, result: ExportResult, options: ExportOptions) -> str:
    """Run the written artifact through the SDK and compare it with torch (filling ``result``);
    returns the fp32 allowance note for the log. An artifact that fails, or whose verification
    cannot finish, is removed, so that no unverified file is left where the user picks it up."""
    try:
        outs = run_artifact(result.path, job.test_images, **fmt.verify_with)
        c = compare_keypoints(outs, job.reference, job.source.strides, job.source.anchors,
                              tolerance_px=options.fp32_tolerance_px, tolerance_rel=options.fp32_tolerance_rel)
        if result.precision == "fp32" and not c.tolerance_used < 1.0:  # NaN fails too
            raise ExportError(
                f"{result.path}: fp32 {result.format} keypoints differ from torch by {c.worst_px:.4g} px in an "
                f"output channel that reaches {c.worst_reach_px:.4g} px from its cells (allowed: "
                f"{options.fp32_tolerance_px:g} px + {options.fp32_tolerance_rel:g} x that distance = "
                f"{c.allowance_px:.4g} px); the artifact was removed"
            )
    except ExportError:
        _discard(result.path)
        raise
    except Exception as exc:
        _discard(result.path)
        raise ExportError(f"{result.path}: verification failed ({type(exc).__name__}: {exc}); "
                          "the artifact was removed") from exc
    except BaseException:  # interrupted: the artifact was never verified
        _discard(result.path)
        raise
    result.kpt_err_max_px, result.kpt_err_mean_px, result.kpt_oks, result.kpt_oks_candidates, result.box_iou = (
        c.max_px, c.mean_px, c.oks, c.candidates, c.box_iou)
    result.verified = True
    if result.kpt_oks < options.min_keypoint_oks or result.box_iou < options.min_box_iou:  # NaN (nobody found) never warns
        result.notes = (*result.notes, _drift_warning(result))
    return f" ({c.tolerance_used:.2g} of the fp32 allowance)" if result.precision == "fp32" else ""


def export(
    weights: Union[PathLike, nn.Module],
    formats: Union[str, Sequence[str]] = "all",
    *,
    options: Optional[ExportOptions] = None,
    int8: bool = False,
    fp16: bool = False,
    log: Optional[Callable[[str], None]] = None,
    **settings: Any,
) -> List[ExportResult]:
    """Export ``weights`` (checkpoint path, registered model name, or a ``YoloPoseModel``) to each
    of ``formats`` (registered format names such as ``"onnx"``, ``"openvino"``, ``"tflite"``, or
    ``"all"``) at each precision.

    What to do is an :class:`~yolopose.export.options.ExportOptions`: ``options``, and/or its
    fields as keywords (``imgsz=640, precisions=("fp32", "int8"), calib="data/", out="exports"``...;
    they override ``options``). ``int8=True`` / ``fp16=True`` add those precisions; fp32 is
    written when listed, or when nothing else is asked for
    (:func:`~yolopose.export.options.select_precisions`).
    ``qat=True`` requires a QAT checkpoint (``yolopose-train qat``) and takes the int8
    quantization from it. ``int8_recipe`` names the layers the int8 artifacts keep float
    (:mod:`yolopose.training.int8_recipes`): ``"mixed"`` (the default: float pose head and the
    neck layers feeding it) or ``"full"`` (every layer int8, full-integer TFLite); a QAT checkpoint
    exports with the recipe it was tuned under. ``int8_weight_bits=7`` writes the int8 ONNX/OpenVINO weights in 7 bits,
    for x86 CPUs without VNNI (where 8-bit weights saturate; the TFLite keeps 8). Every artifact
    carries :class:`~yolopose.core.metadata.ModelMetadata` and, with ``verify``, is run with its engine
    on fixed inputs and compared with torch (fp32 must agree within 1e-2 px, else
    :class:`ExportError`, and the artifact is removed); an artifact whose poses agree with torch's
    by a keypoint OKS below ``min_keypoint_oks`` or a box IoU below ``min_box_iou`` where torch sees
    people (:class:`~yolopose.export.verify.KeypointComparison`; the defaults were measured against
    the AP each int8 artifact keeps) is written with a warning in its ``notes``.
    ``trained_on`` / ``description`` go into the metadata (say what the
    weights were trained on). Returns one :class:`ExportResult` per artifact.
    """
    log = log or (lambda msg: None)
    fmt_names = _formats(formats)
    explicit = settings.pop("precisions", None if options is None else options.precisions)
    options = (options or ExportOptions()).with_values(**settings)
    options = dataclasses.replace(options, precisions=select_precisions(explicit, fp16=fp16, int8=int8))
    source = load_source(weights, imgsz=options.imgsz)
    if options.qat and source.qat_graph is None:
        raise ConfigError(f"--qat needs a QAT checkpoint (from `yolopose-train qat`); {source.label} is not one")
    options = dataclasses.replace(options, imgsz=_resolve_imgsz(options.imgsz, source))
    job = ExportJob(source, options, log)
    hw = options.imgsz
    log(f"exporting {source.label} at {hw[0]}x{hw[1]}, batch {'dynamic' if options.dynamic else options.batch}: "
        f"{', '.join(fmt_names)} x {', '.join(options.precisions)}")
    if "int8" in options.precisions:  # resolved (and a QAT mismatch refused) before anything is written
        floats = f"; float: {', '.join(job.float_layers)}" if job.float_layers else ""
        log(f"int8 recipe {job.recipe.name!r}: {job.recipe.summary}{floats}")
    results: List[ExportResult] = []
    for name in fmt_names:
        fmt = get_format(name)
        if options.dynamic and not fmt.supports_dynamic_batch:
            raise ConfigError(f"{name} export needs a fixed batch size; use --batch N instead of --dynamic")
        for precision in options.precisions:
            if precision not in fmt.precisions:
                raise ConfigError(f"{name} does not support precision {precision!r}")
            path = fmt.artifact_path(job, precision)
            t0 = time.perf_counter()
            log(f"[{name} {precision}] writing {path}")
            try:
                artifact = fmt.write(job, precision, path)
            except (ConfigError, ExportError):
                raise
            except Exception as exc:
                raise ExportError(f"{name} {precision} export of {source.label} failed: {type(exc).__name__}: {exc}") from exc
            result = ExportResult(
                format=name, precision=precision, path=artifact.path, size_bytes=tree_size(artifact.path),
                quantization=job.quantization(precision), ops=artifact.ops, float_ops=artifact.float_ops,
                int8_recipe=job.recipe.name if precision == "int8" else None,
                notes=artifact.notes,
            )
            used = _verify(job, fmt, result, options) if options.verify else ""
            for note in artifact.notes:
                log(f"[{name} {precision}] {note}")
            err = "" if result.kpt_err_max_px is None else (
                f", kpt error max {result.kpt_err_max_px:.4g} px{used}, OKS vs torch {oks_text(result)}")
            log(f"[{name} {precision}] done in {time.perf_counter() - t0:.1f}s: {result.size_mb:.2f} MiB{err}")
            results.append(result)
    return results
