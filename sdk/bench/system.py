"""What a benchmark ran on: CPU, OS, Python and engine versions (no engine is imported)."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any, Dict, List, Optional

__all__ = ["system_info", "package_versions", "cpu_model", "cpu_features"]

#: distributions whose versions a benchmark report records (read from package metadata only).
PACKAGES = (
    "yolopose",
    "numpy",
    "pillow",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "ai-edge-litert",
    "tflite-runtime",
    "psutil",
)

#: CPU flags that decide int8/fp16 speed (x86: AVX/VNNI/AMX; ARM: dot product, i8mm, fp16).
_INTERESTING_FLAGS = (
    "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16",
    "amx_tile", "amx_int8", "amx_bf16",
    "neon", "asimd", "asimddp", "asimdhp", "i8mm", "sve", "sve2", "bf16",
)


def _read(path: str) -> Optional[str]:
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _cpuinfo_fields(text: Optional[str] = None) -> Dict[str, str]:
    text = text if text is not None else (_read("/proc/cpuinfo") or "")
    out: Dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key and key not in out:
            out[key] = value.strip()
    return out


#: Arm Ltd. (implementer 0x41) core part numbers -> names, for ARM boards whose /proc/cpuinfo has no model name.
_ARM_PARTS = {
    "0xd03": "Cortex-A53", "0xd04": "Cortex-A35", "0xd05": "Cortex-A55", "0xd07": "Cortex-A57",
    "0xd08": "Cortex-A72", "0xd09": "Cortex-A73", "0xd0a": "Cortex-A75", "0xd0b": "Cortex-A76",
    "0xd0d": "Cortex-A77", "0xd41": "Cortex-A78", "0xd44": "Cortex-X1", "0xd46": "Cortex-A510",
    "0xd47": "Cortex-A710", "0xd48": "Cortex-X2", "0xd4d": "Cortex-A715", "0xd4e": "Cortex-X3",
    "0xd80": "Cortex-A520", "0xd81": "Cortex-A720", "0xd82": "Cortex-X4",
}


def _arm_core(info: Dict[str, str]) -> str:
    if info.get("cpu implementer", "").lower() != "0x41":
        return ""
    return _ARM_PARTS.get(info.get("cpu part", "").lower(), "")


def cpu_model(cpuinfo: Optional[str] = None, board: Optional[str] = None) -> str:
    """A human-readable CPU (and board) name, best effort on Linux, macOS, Windows.

    ``cpuinfo`` and ``board`` default to ``/proc/cpuinfo`` and ``/proc/device-tree/model``.
    """
    info = _cpuinfo_fields(cpuinfo)
    name = info.get("model name") or info.get("cpu model") or _arm_core(info) or info.get("hardware") or ""
    board = (board if board is not None else _read("/proc/device-tree/model") or "").strip("\x00\n ")
    if board and board not in name:  # e.g. "Raspberry Pi 5 Model B Rev 1.0"
        name = f"{name} ({board})" if name else board
    if not name and sys.platform == "darwin":
        try:
            name = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5, check=False
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            name = ""
    return name or platform.processor() or platform.machine() or "unknown"


def cpu_features(cpuinfo: Optional[str] = None) -> List[str]:
    """The CPU flags among :data:`_INTERESTING_FLAGS` (Linux only; empty elsewhere)."""
    info = _cpuinfo_fields(cpuinfo)
    flags = set((info.get("flags") or info.get("features") or "").split())
    return [f for f in _INTERESTING_FLAGS if f in flags]


def _cores() -> Dict[str, Optional[int]]:
    logical = os.cpu_count()
    usable: Optional[int] = None
    if hasattr(os, "sched_getaffinity"):
        try:
            usable = len(os.sched_getaffinity(0))
        except OSError:
            usable = None
    physical: Optional[int] = None
    try:
        import psutil  # optional

        physical = psutil.cpu_count(logical=False)
    except ImportError:
        pass
    return {"logical": logical, "physical": physical, "usable": usable if usable is not None else logical}


def package_versions(names: Any = PACKAGES) -> Dict[str, Optional[str]]:
    """Installed version of each distribution, ``None`` when it is not installed."""
    from importlib import metadata

    out: Dict[str, Optional[str]] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def system_info() -> Dict[str, Any]:
    """A JSON-ready description of this machine and its software."""
    return {
        "cpu": cpu_model(),
        "cpu_features": cpu_features(),
        "cores": _cores(),
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": package_versions(),
        "env_threads": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS") if k in os.environ},
    }
