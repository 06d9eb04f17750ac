"""Run the benchmark: load each model variant, warm up, time the three SDK steps, measure memory."""
from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, Union

import numpy as np

from ..core.errors import ConfigError, YoloPoseError
from .memory import PeakMemory, rss_bytes
from .measurements import DECODE, STAGES, BenchReport, MemoryUsage, ModelBenchmark
from .stats import summarize
from .system import system_info

__all__ = [
    "Pipeline",
    "ModelSpec",
    "parse_model_spec",
    "expand_specs",
    "TimedRuns",
    "time_pipeline",
    "benchmark_model",
    "run_benchmarks",
    "synthetic_image",
]

#: ``on_step(label, phase)`` is called after every warm-up ("warmup") and timed ("run") step.
StepCallback = Callable[[str, str], None]


class Pipeline(Protocol):
    """The three public steps of :class:`yolopose.PoseEstimator` that the benchmark times."""

    def preprocess(self, images: Any) -> Tuple[Any, Any]: ...

    def infer(self, inputs: Any) -> Any: ...

    def postprocess(self, raw: Any, transforms: Any) -> Any: ...


@dataclass(frozen=True)
class ModelSpec:
    """One model variant to benchmark: a file and, optionally, a backend and device."""

    model: str
    backend: str = "auto"
    device: Optional[str] = None

    @property
    def label(self) -> str:
        """``file`` or ``file@backend[:device]`` as the user would write it."""
        name = Path(self.model).name
        if self.backend == "auto" and not self.device:
            return name
        return f"{name}@{self.backend}" + (f":{self.device}" if self.device else "")


def parse_model_spec(text: str, backend: str = "auto", device: Optional[str] = None) -> ModelSpec:
    """Parse ``MODEL``, ``MODEL@BACKEND`` or ``MODEL@BACKEND:DEVICE``.

    A string naming an existing file is always taken as a plain path (so paths containing ``@``
    work). ``backend`` and ``device`` are the defaults for what the string does not say.
    """
    if not text:
        raise ConfigError("empty model argument")
    if os.path.exists(text) or "@" not in text:
        return ModelSpec(text, backend or "auto", device)
    path, _, suffix = text.rpartition("@")
    name, sep, dev = suffix.partition(":")
    if not path or not name:
        raise ConfigError(f"model argument {text!r}: expected MODEL@BACKEND or MODEL@BACKEND:DEVICE")
    return ModelSpec(path, name.lower(), (dev if sep else None) or device)


def expand_specs(models: Sequence[str], backends: Sequence[str] = (), device: Optional[str] = None) -> List[ModelSpec]:
    """One :class:`ModelSpec` per model and per ``--backend`` (a model's ``@backend`` wins)."""
    specs: List[ModelSpec] = []
    for text in models:
        base = parse_model_spec(text, device=device)
        if base.backend != "auto" or not backends:
            specs.append(base)
        else:
            specs.extend(ModelSpec(base.model, b.lower(), base.device) for b in backends)
    seen, unique = set(), []
    for s in specs:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


def synthetic_image(height: int = 720, width: int = 1280) -> np.ndarray:
    """A deterministic RGB test scene (gradient and a few figure-sized blocks), uint8 HxWx3."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    img = np.empty((height, width, 3), np.float32)
    img[..., 0] = 60 + 120 * x
    img[..., 1] = 80 + 100 * y
    img[..., 2] = 140 - 60 * x * y
    for i, cx in enumerate((0.2, 0.45, 0.7)):
        x0, x1 = int((cx - 0.06) * width), int((cx + 0.06) * width)
        y0, y1 = int(0.2 * height), int(0.9 * height)
        img[y0:y1, x0:x1] = (200 - 50 * i, 90 + 40 * i, 70 + 30 * i)
        hx, hy, r = (x0 + x1) // 2, y0 - int(0.06 * height), int(0.05 * height)
        img[max(hy - r, 0) : hy + r, max(hx - r, 0) : hx + r] = (230, 190, 160)
    return img.clip(0, 255).astype(np.uint8)


@dataclass
class TimedRuns:
    """Raw samples (ns) per stage, and what happened."""

    samples: Dict[str, List[int]] = field(default_factory=lambda: {s: [] for s in STAGES})
    warmup_done: int = 0
    detections: Optional[int] = None
    interrupted: bool = False


def _count(poses: Any) -> Optional[int]:
    try:
        first = poses[0] if isinstance(poses, (list, tuple)) else poses
        return int(len(first))
    except (TypeError, IndexError):
        return None


def time_pipeline(
    pipeline: Pipeline,
    image: np.ndarray,
    warmup: int,
    runs: int,
    on_step: Optional[StepCallback] = None,
    memory: Optional[PeakMemory] = None,
    label: str = "",
) -> TimedRuns:
    """Run ``warmup`` untimed then ``runs`` timed passes of preprocess -> infer -> postprocess.

    Each stage is timed with :func:`time.perf_counter_ns`; ``total`` is the sum of the three of
    the same pass. ``image`` may be an image file's path: preprocess then starts from the file
    (decoding included, as ``predict(path)`` does), and each pass also times the decode alone
    (:data:`DECODE`, a part of preprocess, not added to ``total``). ``KeyboardInterrupt`` stops the loop and is reported as ``interrupted`` with
    the samples gathered so far (a pass cut in the middle is dropped).
    """
    out = TimedRuns()
    clock = time.perf_counter_ns
    decode = _file_decoder(pipeline, image)
    if decode is not None:
        out.samples[DECODE] = []
    try:
        for i in range(warmup + runs):
            if decode is not None:  # the file's decode alone, as preprocess will do it (not in total)
                td = clock()
                decode()
                decoded = clock() - td
            t0 = clock()
            inputs, transforms = pipeline.preprocess(image)
            t1 = clock()
            raw = pipeline.infer(inputs)
            t2 = clock()
            poses = pipeline.postprocess(raw, transforms)
            t3 = clock()
            if memory is not None:
                memory.sample()
            if i < warmup:
                out.warmup_done += 1
                phase = "warmup"
            else:
                for stage, value in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
                    out.samples[stage].append(value)
                if decode is not None:
                    out.samples[DECODE].append(decoded)
                phase = "run"
            if out.detections is None:
                out.detections = _count(poses)
            if on_step is not None:
                on_step(label, phase)
    except KeyboardInterrupt:
        out.interrupted = True
    return out


def _file_decoder(pipeline: Any, image: Any) -> Optional[Callable[[], Any]]:
    """For an image path: a call that decodes it as the pipeline's preprocess does (reduced for a
    large JPEG, see :func:`yolopose.core.images.open_image_fit`); None for arrays."""
    if not isinstance(image, (str, os.PathLike)):
        return None
    from ..core.images import open_image, open_image_fit

    fit = getattr(pipeline, "input_size", None)
    if fit is None:
        return lambda: open_image(image)
    return lambda: open_image_fit(image, fit)


#: ``loader(spec, threads, imgsz) -> pipeline`` builds what is timed (default: a PoseEstimator).
Loader = Callable[[ModelSpec, Optional[int], Optional[Tuple[int, int]]], Any]


def _describe(pipeline: Any, result: ModelBenchmark) -> None:
    """Fill backend, device, precision and input size from what the loaded estimator reports."""
    result.backend = str(getattr(pipeline, "backend", "") or result.backend)
    result.device = str(getattr(pipeline, "device", "") or result.device)
    meta = getattr(pipeline, "metadata", None)
    if meta is not None:
        result.precision = str(getattr(meta, "precision", "") or "")
        imgsz = getattr(meta, "imgsz", None)
        if imgsz is not None:
            result.imgsz = (int(imgsz[0]), int(imgsz[1]))


def benchmark_model(
    spec: ModelSpec,
    image: np.ndarray,
    warmup: int = 10,
    runs: int = 100,
    threads: Optional[int] = None,
    imgsz: Optional[Tuple[int, int]] = None,
    loader: Optional[Loader] = None,
    on_step: Optional[StepCallback] = None,
) -> ModelBenchmark:
    """Load ``spec``, time it on ``image`` and measure its memory; never raises YoloPoseError.

    A model that cannot be loaded or run (a :class:`~yolopose.core.errors.YoloPoseError`) is returned
    with ``error`` set, so that one bad variant does not end a comparison.
    """
    if warmup < 0 or runs < 1:
        raise ConfigError(f"need warmup >= 0 and runs >= 1, got warmup={warmup}, runs={runs}")
    load = loader or _load_estimator
    path = Path(spec.model)
    result = ModelBenchmark(
        label=spec.label, model=str(spec.model), backend=spec.backend, device=spec.device or "",
        threads=threads, imgsz=imgsz, warmup=warmup, runs_requested=runs,
        file_size=_artifact_size(path),
    )
    gc.collect()
    mem = PeakMemory().start()
    pipeline = None
    try:
        t0 = time.perf_counter_ns()
        pipeline = load(spec, threads, imgsz)
        result.load_ms = (time.perf_counter_ns() - t0) / 1e6
        after_load = rss_bytes()
        mem.sample()
        _describe(pipeline, result)
        timed = time_pipeline(pipeline, image, warmup, runs, on_step=on_step, memory=mem, label=spec.label)
        result.stats = {s: summarize(v) for s, v in timed.samples.items()}
        result.detections = timed.detections
        result.interrupted = timed.interrupted
        result.memory = MemoryUsage(mem.start_bytes, after_load, mem.peak_bytes, mem.method)
    except KeyboardInterrupt:
        result.interrupted = True
    except YoloPoseError as exc:
        result.error = str(exc)
    finally:
        close = getattr(pipeline, "close", None)
        if callable(close):
            close()
        del pipeline
        gc.collect()
    return result


def _artifact_size(path: Path) -> int:
    """Bytes of the model file; for OpenVINO IR also its ``.bin``; for ONNX its external data.
    A folder holding one model (an OpenVINO export) counts that model's files."""
    if path.is_dir():
        from yolopose.runtimes.registry import resolve_model_path

        try:
            path = resolve_model_path(path)
        except YoloPoseError:
            return 0
    if not path.is_file():
        return 0
    size = path.stat().st_size
    if path.suffix.lower() == ".xml":
        weights = path.with_suffix(".bin")
        if weights.is_file():
            size += weights.stat().st_size
    elif path.suffix.lower() == ".onnx":
        data = path.with_name(path.name + ".data")
        if data.is_file():
            size += data.stat().st_size
    return size


def _load_estimator(spec: ModelSpec, threads: Optional[int], imgsz: Optional[Tuple[int, int]]) -> Any:
    from ..estimator import PoseEstimator

    kwargs: Dict[str, Any] = {"backend": spec.backend}
    if spec.device:
        kwargs["device"] = spec.device
    if threads is not None:
        kwargs["threads"] = threads
    if imgsz is not None:
        kwargs["imgsz"] = imgsz
    return PoseEstimator(spec.model, **kwargs)


def run_benchmarks(
    specs: Sequence[ModelSpec],
    image: Union[np.ndarray, str, "os.PathLike[str]", None] = None,
    warmup: int = 10,
    runs: int = 100,
    threads: Optional[int] = None,
    imgsz: Optional[Tuple[int, int]] = None,
    image_label: str = "",
    loader: Optional[Loader] = None,
    on_step: Optional[StepCallback] = None,
) -> BenchReport:
    """Benchmark every spec in order on the same image; stop at the first Ctrl-C.

    ``image``: an RGB array (preprocess starts from the pixels) or an image file's path
    (preprocess starts from the file and the decode is also timed alone, see :func:`time_pipeline`).
    Returns a :class:`BenchReport`; ``report.interrupted`` is true when Ctrl-C cut it short
    (the report then holds what was measured so far).
    """
    if not specs:
        raise ConfigError("no model to benchmark")
    if image is None:
        image = synthetic_image()
        image_label = image_label or "synthetic 1280x720 scene"
    if isinstance(image, (str, os.PathLike)):
        from ..core.images import open_image

        shape = open_image(image).shape  # a clear error now for an unreadable file
        image_label = image_label or os.fspath(image)
    else:
        shape = image.shape
    report = BenchReport(
        system=system_info(),
        settings={
            "warmup": warmup,
            "runs": runs,
            "threads": threads,
            "imgsz": list(imgsz) if imgsz else None,
            "image": image_label or "array",
            "image_shape": list(shape),
            "decode_timed": isinstance(image, (str, os.PathLike)),
        },
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    for spec in specs:
        try:
            result = benchmark_model(spec, image, warmup, runs, threads, imgsz, loader=loader, on_step=on_step)
        except KeyboardInterrupt:  # between two models
            report.interrupted = True
            break
        report.results.append(result)
        if result.interrupted:
            report.interrupted = True
            break
    return report
