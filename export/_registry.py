"""The format registry: each format module registers one :class:`Format` under its name."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import numpy as np

from yolopose.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from .job import ExportJob

__all__ = ["Format", "Artifact", "register_format", "get_format", "list_formats"]

#: format name -> module that registers it (imported on first use: engines load lazily)
_MODULES: Dict[str, str] = {
    "onnx": "yolopose.export.formats.onnx",
    "openvino": "yolopose.export.formats.openvino",
    "tflite": "yolopose.export.formats.tflite",
}
_FORMATS: Dict[str, "Format"] = {}


class Artifact:
    """What a format's ``write`` returns: the final path and format-specific facts."""

    def __init__(self, path: Path, ops: Optional[Dict[str, int]] = None, float_ops: Sequence[str] = (), notes: Sequence[str] = ()) -> None:
        self.path = path
        self.ops = dict(ops or {})
        self.float_ops = tuple(float_ops)
        self.notes = tuple(notes)


class Format:
    """Base class of an export format. Subclasses set ``name`` and ``precisions`` and implement
    :meth:`write` (build the artifact atomically, metadata included) and :meth:`run` (execute it
    with its own engine on uint8 NHWC images and return float32 NHWC raw outputs in metadata order)."""

    name: str = ""
    precisions: Tuple[str, ...] = ("fp32", "fp16", "int8")
    supports_dynamic_batch: bool = True

    def artifact_path(self, job: "ExportJob", precision: str) -> Path:
        """Where the artifact of ``precision`` goes."""
        raise NotImplementedError

    def write(self, job: "ExportJob", precision: str, path: Path) -> Artifact:
        raise NotImplementedError

    def run(self, path: Path, images: np.ndarray) -> List[np.ndarray]:
        raise NotImplementedError


def register_format(cls: type) -> type:
    """Class decorator: register an instance of ``cls`` under ``cls.name``."""
    _FORMATS[cls.name] = cls()
    return cls


def list_formats() -> List[str]:
    """Names of all formats (``all`` on the command line means these)."""
    return sorted(_MODULES)


def get_format(name: str) -> Format:
    """The registered format ``name``; :class:`ConfigError` lists the known ones."""
    if name not in _MODULES:
        raise ConfigError(f"unknown export format {name!r}; known formats: {', '.join(list_formats())}")
    if name not in _FORMATS:
        importlib.import_module(_MODULES[name])
    return _FORMATS[name]
