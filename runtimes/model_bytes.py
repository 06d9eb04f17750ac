"""Models held in memory (apps that keep models in encrypted storage or package resources).

ONNX and TFLite can be loaded from bytes; an OpenVINO IR cannot (it is two files). The bytes get
the same checks as a file, and bytes that reference external data are refused: there is no
folder the weights could safely come from.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

from yolopose.core.errors import ConfigError, ModelError

__all__ = ["BytesLike", "ModelBytes"]

BytesLike = Union[bytes, bytearray, memoryview]


@dataclass(frozen=True, repr=False)
class ModelBytes:
    """A model's bytes and its kind (``".onnx"`` or ``".tflite"``), found from the bytes."""

    data: bytes
    suffix: str

    @classmethod
    def from_bytes(cls, data: BytesLike) -> "ModelBytes":
        """Wrap ``data``; :class:`ModelError` when it is neither a TFLite nor an ONNX model."""
        from ._onnx_proto import inspect_onnx

        raw = bytes(data)
        size = f"{len(raw)} bytes"
        if not raw:
            raise ModelError("the model bytes are empty")
        if raw[4:8] == b"TFL3":
            return cls(raw, ".tflite")
        head = raw[:256].lstrip()
        if head.startswith((b"<?xml", b"<net")):
            raise ConfigError(
                "an OpenVINO IR cannot be loaded from bytes (its weights are a second file); "
                "pass the .xml path, or ONNX / TFLite bytes"
            )
        try:
            facts = inspect_onnx(raw, Path("<model bytes>"))
        except ModelError:
            facts = None
        if facts is None or not facts.has_graph:
            raise ModelError(f"the model bytes ({size}) are neither a TFLite flatbuffer ('TFL3') nor an ONNX model")
        return cls(raw, ".onnx")

    @property
    def label(self) -> Path:
        """The name messages and :attr:`Runtime.path` use, e.g. ``<model bytes>.onnx``."""
        return Path(f"<model bytes>{self.suffix}")

    def __repr__(self) -> str:
        return f"ModelBytes({self.suffix}, {len(self.data)} bytes)"
