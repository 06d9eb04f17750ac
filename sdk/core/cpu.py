"""What CPU this is: a readable model name and the instruction-set flags that decide int8/bf16
speed (read from ``/proc/cpuinfo`` and the device tree; no engine or torch is imported).

Shared by the benchmarks (they print the flags with every figure) and the trainer (it picks
bfloat16 only on CPUs that compute it natively).
"""
from __future__ import annotations

import platform
import subprocess
import sys
from typing import Dict, List, Optional

__all__ = ["cpu_model", "cpu_features", "int8_dot_saturates"]

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


#: x86 flags whose int8 dot-product instructions sum u8 x s8 products in 32 bits.
_X86_INT8_DOT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def int8_dot_saturates(cpuinfo: Optional[str] = None) -> bool:
    """Whether this is an x86 CPU without VNNI/AMX, where onnxruntime's and OpenVINO's int8
    convolutions (uint8 activations x int8 weights, ``vpmaddubsw``) add pairs of products in 16 bits
    with saturation: an int8 ONNX or OpenVINO model can lose accuracy there that it keeps on VNNI
    CPUs, ARM and in TFLite (XNNPACK). Measured on an AVX2-only EPYC with the tiny test network:
    12.5 px keypoint error, 1.0 px with the same weights in 7 bits (OpenVINO's documented workaround).
    """
    flags = set(cpu_features(cpuinfo))
    return "avx2" in flags and not flags.intersection(_X86_INT8_DOT_FLAGS)
