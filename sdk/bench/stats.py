"""Summary statistics of latency samples."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Sequence

import numpy as np

__all__ = ["TimingStats", "summarize"]


@dataclass(frozen=True)
class TimingStats:
    """Latency of one stage over ``count`` timed runs, in milliseconds.

    Percentiles use linear interpolation between samples. ``fps`` is the sustained rate
    ``1000 / mean_ms`` (runs per second if the stage ran back to back); it is ``0.0`` when
    nothing was measured.
    """

    count: int
    mean_ms: float
    median_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float
    std_ms: float
    fps: float

    @classmethod
    def empty(cls) -> "TimingStats":
        """Statistics of no samples (every value 0)."""
        return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def summarize(samples_ns: Sequence[int]) -> TimingStats:
    """Statistics of durations given in nanoseconds (as from :func:`time.perf_counter_ns`)."""
    if len(samples_ns) == 0:
        return TimingStats.empty()
    ms = np.asarray(samples_ns, dtype=np.float64) / 1e6
    if np.any(ms < 0) or not np.all(np.isfinite(ms)):
        raise ValueError("latency samples must be finite and non-negative")
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    mean = float(ms.mean())
    return TimingStats(
        count=int(ms.size),
        mean_ms=mean,
        median_ms=float(p50),
        p90_ms=float(p90),
        p99_ms=float(p99),
        min_ms=float(ms.min()),
        max_ms=float(ms.max()),
        std_ms=float(ms.std()),
        fps=1000.0 / mean if mean > 0 else 0.0,
    )
