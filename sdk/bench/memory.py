"""Resident memory of this process, and its peak over a window of work.

Peak memory is measured per model, as follows (the method used is reported as ``method``):

- ``"vmhwm"`` (Linux): the kernel's resident high-water mark ``VmHWM`` is reset at the start of
  the window (``/proc/self/clear_refs``, Linux >= 4.0), so the peak is exact for the window and
  includes short spikes inside the inference engine;
- ``"sampled"``: the largest resident size read after every step (psutil or ``/proc``); short
  spikes inside one step can be missed;
- ``"maxrss"``: ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the peak over the whole process
  lifetime (cannot be reset: with several models, later ones include earlier peaks).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["rss_bytes", "lifetime_peak_rss_bytes", "PeakMemory"]

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_kb(key: str) -> Optional[int]:
    try:
        with open(_STATUS, "r", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_bytes() -> Optional[int]:
    """Current resident set size of this process in bytes, or ``None`` if it cannot be read."""
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb * 1024
    try:
        import psutil  # optional
    except ImportError:
        return None
    try:
        return int(psutil.Process().memory_info().rss)
    except Exception:  # psutil raises its own error types on exotic platforms
        return None


def lifetime_peak_rss_bytes() -> Optional[int]:
    """Peak resident size over the process lifetime (``ru_maxrss``), in bytes."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # macOS: bytes, Linux: KiB


def _reset_high_water_mark() -> bool:
    if not os.path.exists(_CLEAR_REFS) or _status_kb("VmHWM") is None:
        return False
    try:
        with open(_CLEAR_REFS, "w", encoding="ascii") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


@dataclass
class PeakMemory:
    """Tracks the peak resident size of this process from :meth:`start` on.

    Call :meth:`sample` after each step (cheap); read :attr:`peak_bytes` at the end.
    """

    method: str = "none"
    start_bytes: Optional[int] = None
    _sampled: int = field(default=0, repr=False)

    def start(self) -> "PeakMemory":
        """Begin a new window: reset the kernel high-water mark when possible."""
        self.method = "vmhwm" if _reset_high_water_mark() else "sampled"
        self.start_bytes = rss_bytes()
        if self.start_bytes is None:
            self.method = "maxrss" if lifetime_peak_rss_bytes() is not None else "none"
        self._sampled = self.start_bytes or 0
        return self

    def sample(self) -> None:
        """Record the current resident size."""
        if self.method in ("vmhwm", "sampled"):
            now = rss_bytes()
            if now is not None and now > self._sampled:
                self._sampled = now

    @property
    def peak_bytes(self) -> Optional[int]:
        """Peak resident bytes in the window (see the module docstring for what it means)."""
        if self.method == "vmhwm":
            hwm = _status_kb("VmHWM")
            return max(self._sampled, hwm * 1024) if hwm is not None else self._sampled
        if self.method == "sampled":
            return self._sampled
        if self.method == "maxrss":
            return lifetime_peak_rss_bytes()
        return None
