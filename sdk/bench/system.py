"""What a benchmark ran on: CPU, OS, Python and engine versions (no engine is imported)."""
from __future__ import annotations

import os
import platform
from typing import Any, Dict, Optional

from ..core.cpu import cpu_features, cpu_model

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
