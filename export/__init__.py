"""Export of trained YOLO-Pose models to ONNX, OpenVINO IR and TFLite (needs torch).

>>> from yolopose.export import export                                   # doctest: +SKIP
>>> results = export("runs/train/best.pt", "all", int8=True, out="exports")  # doctest: +SKIP

Every artifact ends at the raw head outputs (per level ``det``, ``kpt_xy``, ``kpt_conf``, NHWC),
carries :class:`yolopose.core.metadata.ModelMetadata`, and is verified against torch after writing.
Names are imported on first use, so ``yolopose-export --help`` does not load torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "PRECISIONS": "yolopose.export.options",
    "ExportOptions": "yolopose.export.options",
    "ExportResult": "yolopose.export.options",
    "Format": "yolopose.export._registry",
    "get_format": "yolopose.export._registry",
    "list_formats": "yolopose.export._registry",
    "register_format": "yolopose.export._registry",
    "export": "yolopose.export.api",
    "op_histograms": "yolopose.export.summary",
    "summary_table": "yolopose.export.summary",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'yolopose.export' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
