"""The format registry: every export format is a :class:`Format` registered by name.

The built-in formats (``onnx``, ``openvino``, ``tflite``) register themselves when their modules
are imported, on the first lookup; another package adds its own with :func:`register_format`
and it is exported, verified and listed like the built-in ones.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from yolopose.core.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from .job import ExportJob

__all__ = ["Format", "Artifact", "register_format", "get_format", "list_formats"]

#: modules of the built-in formats (engines are imported only when a format writes)
_BUILTIN_MODULES = ("yolopose.export.formats.onnx", "yolopose.export.formats.openvino", "yolopose.export.formats.tflite")


def _import_builtins() -> None:
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


_FORMATS: "Registry[Format]" = Registry("export format", builtins=_import_builtins)


class Artifact:
    """What a format's ``write`` returns: the final path and format-specific facts."""

    def __init__(self, path: Path, ops: Optional[Dict[str, int]] = None, float_ops: Sequence[str] = (), notes: Sequence[str] = ()) -> None:
        self.path = path
        self.ops = dict(ops or {})
        self.float_ops = tuple(float_ops)
        self.notes = tuple(notes)


class Format:
    """Base class of an export format. Subclasses set ``name``, ``precisions`` and ``verify_with``
    and implement :meth:`artifact_path` and :meth:`write` (build the artifact atomically, metadata
    included). Verification runs the written artifact with :class:`yolopose.PoseEstimator`, given
    ``verify_with`` as keyword arguments (the backend, and runtime options that pin its arithmetic)."""

    name: str = ""
    precisions: Tuple[str, ...] = ("fp32", "fp16", "int8")
    supports_dynamic_batch: bool = True
    #: int8 convolutions add u8 x s8 products in 16-bit pairs on x86 without VNNI (saturating there:
    #: :func:`yolopose.core.cpu.int8_dot_saturates`)
    int8_saturates_without_vnni: bool = False
    verify_with: Mapping[str, Any] = {}

    def artifact_path(self, job: "ExportJob", precision: str) -> Path:
        """Where the artifact of ``precision`` goes."""
        raise NotImplementedError

    def write(self, job: "ExportJob", precision: str, path: Path) -> Artifact:
        """Write the artifact of ``precision`` to ``path``."""
        raise NotImplementedError


def register_format(cls: type) -> type:
    """Class decorator: register an instance of ``cls`` under ``cls.name``."""
    _FORMATS.register(cls.name, cls())
    return cls


def list_formats() -> List[str]:
    """Names of all registered formats (``all`` on the command line means these)."""
    return sorted(_FORMATS.names())


def get_format(name: str) -> Format:
    """The registered format ``name``; :class:`ConfigError` lists the known ones."""
    return _FORMATS.get(name)
