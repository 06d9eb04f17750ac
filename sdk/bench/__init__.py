"""Latency and memory benchmarks of pose models through the SDK (numpy + Pillow, no torch).

    from yolopose.bench import expand_specs, run_benchmarks, format_report
    report = run_benchmarks(expand_specs(["s6.tflite", "s6.onnx@openvino:CPU"]), runs=50)
    print(format_report(report))

Times the public steps of :class:`yolopose.PoseEstimator` (``preprocess``, ``infer``,
``postprocess``) separately and end to end after warm-up, and records the machine it ran on.
"""
from __future__ import annotations

from .chart import render_chart, save_chart
from .memory import PeakMemory, lifetime_peak_rss_bytes, rss_bytes
from .report import format_report, format_system, format_table
from .measurements import REPORT_FORMAT, STAGES, BenchReport, MemoryUsage, ModelBenchmark
from .runner import (
    ModelSpec,
    Pipeline,
    TimedRuns,
    benchmark_model,
    expand_specs,
    parse_model_spec,
    run_benchmarks,
    synthetic_image,
    time_pipeline,
)
from .stats import TimingStats, summarize
from .system import cpu_features, cpu_model, package_versions, system_info

__all__ = [
    "REPORT_FORMAT",
    "STAGES",
    "BenchReport",
    "MemoryUsage",
    "ModelBenchmark",
    "ModelSpec",
    "PeakMemory",
    "Pipeline",
    "TimedRuns",
    "TimingStats",
    "benchmark_model",
    "cpu_features",
    "cpu_model",
    "expand_specs",
    "format_report",
    "format_system",
    "format_table",
    "lifetime_peak_rss_bytes",
    "package_versions",
    "parse_model_spec",
    "render_chart",
    "rss_bytes",
    "run_benchmarks",
    "save_chart",
    "summarize",
    "synthetic_image",
    "system_info",
    "time_pipeline",
]
