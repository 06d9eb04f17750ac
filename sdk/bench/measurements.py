"""What a benchmark measured: one :class:`ModelBenchmark` per model variant, one :class:`BenchReport`."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .stats import TimingStats

__all__ = ["DECODE", "STAGES", "MemoryUsage", "ModelBenchmark", "BenchReport", "REPORT_FORMAT"]

#: the timed stages; ``total`` is preprocess + inference + postprocess of the same run.
STAGES = ("preprocess", "inference", "postprocess", "total")
#: timed too when the benchmark runs from an image file: its decode alone (a part of preprocess).
DECODE = "decode"
REPORT_FORMAT = "yolopose-bench/1"
_MB = 1024.0 * 1024.0


@dataclass(frozen=True)
class MemoryUsage:
    """Resident memory (bytes) of the process around one model; ``method`` says how peak was read.

    ``before_load``: resident size before the model was loaded (the process with nothing of this
    model in it); ``after_load``: right after loading; ``peak``: highest resident size from the
    start of loading to the end of the timed runs. ``load_delta`` and ``peak_delta`` are both
    relative to ``before_load``: what loading and running this model added to the process
    (including the engine's shared libraries the first time that engine is used; memory freed
    by models benchmarked earlier in the same process may be reused and then not counted).
    """

    before_load: Optional[int] = None
    after_load: Optional[int] = None
    peak: Optional[int] = None
    method: str = "none"

    @property
    def load_delta(self) -> Optional[int]:
        if self.before_load is None or self.after_load is None:
            return None
        return self.after_load - self.before_load

    @property
    def peak_delta(self) -> Optional[int]:
        if self.before_load is None or self.peak is None:
            return None
        return self.peak - self.before_load

    def to_dict(self) -> Dict[str, Any]:
        def mb(v: Optional[int]) -> Optional[float]:
            return None if v is None else round(v / _MB, 3)

        return {
            "before_load_mb": mb(self.before_load),
            "after_load_mb": mb(self.after_load),
            "load_delta_mb": mb(self.load_delta),
            "peak_mb": mb(self.peak),
            "peak_delta_mb": mb(self.peak_delta),
            "method": self.method,
        }


@dataclass
class ModelBenchmark:
    """Measurements of one model file run with one backend on one device."""

    label: str
    model: str
    backend: str = ""
    device: str = ""
    threads: Optional[int] = None
    imgsz: Optional[Tuple[int, int]] = None
    precision: str = ""
    file_size: int = 0
    load_ms: Optional[float] = None
    warmup: int = 0
    runs_requested: int = 0
    stats: Dict[str, TimingStats] = field(default_factory=dict)
    memory: MemoryUsage = field(default_factory=MemoryUsage)
    detections: Optional[int] = None
    interrupted: bool = False
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        """True when at least one timed run was measured."""
        return self.error is None and self.stats.get("total", TimingStats.empty()).count > 0

    def to_dict(self) -> Dict[str, Any]:
        return {
            "label": self.label,
            "model": self.model,
            "backend": self.backend,
            "device": self.device,
            "threads": self.threads,
            "imgsz": list(self.imgsz) if self.imgsz else None,
            "precision": self.precision,
            "file_size_bytes": self.file_size,
            "load_ms": self.load_ms,
            "warmup": self.warmup,
            "runs_requested": self.runs_requested,
            "runs": self.stats["total"].count if "total" in self.stats else 0,
            "stages": {name: self.stats[name].to_dict() for name in STAGES + (DECODE,) if name in self.stats},
            "memory": self.memory.to_dict(),
            "detections": self.detections,
            "interrupted": self.interrupted,
            "error": self.error,
        }


def _ratio(value: Optional[float], base: Optional[float]) -> Optional[float]:
    if value is None or base is None or base <= 0:
        return None
    return value / base


@dataclass
class BenchReport:
    """A whole ``yolopose bench`` run: the machine, the settings and one entry per model variant."""

    system: Dict[str, Any]
    settings: Dict[str, Any]
    results: List[ModelBenchmark] = field(default_factory=list)
    interrupted: bool = False
    created: str = ""

    @property
    def baseline(self) -> Optional[ModelBenchmark]:
        """The first variant that measured anything: ratios are relative to it."""
        return next((r for r in self.results if r.ok), None)

    def ratios(self, result: ModelBenchmark) -> Dict[str, Optional[float]]:
        """``result`` / baseline for every stage median, file size, load time and peak memory delta."""
        base = self.baseline
        if base is None or not result.ok:
            return {}
        out: Dict[str, Optional[float]] = {
            f"{s}_median": _ratio(result.stats[s].median_ms, base.stats[s].median_ms) for s in STAGES
        }
        out["fps"] = _ratio(result.stats["total"].fps, base.stats["total"].fps)
        out["file_size"] = _ratio(float(result.file_size), float(base.file_size))
        out["load_ms"] = _ratio(result.load_ms, base.load_ms)
        pd, bd = result.memory.peak_delta, base.memory.peak_delta
        out["peak_delta_memory"] = _ratio(None if pd is None else float(pd), None if bd is None else float(bd))
        return out

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict (format ``yolopose-bench/1``)."""
        base = self.baseline
        results = []
        for r in self.results:
            d = r.to_dict()
            d["ratios_vs_baseline"] = self.ratios(r)
            results.append(d)
        return {
            "format": REPORT_FORMAT,
            "created": self.created,
            "interrupted": self.interrupted,
            "baseline": base.label if base else None,
            "system": self.system,
            "settings": self.settings,
            "results": results,
        }

    def to_json(self, indent: int = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)
