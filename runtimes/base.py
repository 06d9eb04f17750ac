"""The protocol every inference engine adapter implements, and the tensor description it reports."""
from __future__ import annotations

import abc
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from yolopose.core.errors import ConfigError, MetadataError
from yolopose.core.metadata import METADATA_KEY, ModelMetadata
from yolopose.core.ops.quant import QuantParams

from .model_checks import CheckedModel, check_model
from .model_bytes import ModelBytes

__all__ = ["TensorInfo", "Runtime", "split_device"]


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output as the engine describes it.

    ``shape`` holds ``None`` for dynamic dimensions; ``dtype`` is a numpy dtype name;
    ``quant`` is set for integer tensors of quantized models (``real = scale * (q - zero_point)``).
    """

    name: str
    shape: Tuple[Optional[int], ...]
    dtype: str
    quant: Optional[QuantParams] = None

    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}
        if self.quant is not None:
            d["quantization"] = {"scale": self.quant.scale, "zero_point": self.quant.zero_point}
        return d


def split_device(device: str) -> Tuple[str, Optional[str]]:
    """``"cuda:1" -> ("cuda", "1")``, ``"GPU.1" -> ("gpu", "1")``, ``"cpu" -> ("cpu", None)``."""
    text = str(device).strip()
    for sep in (":", "."):
        if sep in text:
            family, index = text.split(sep, 1)
            return family.lower(), index
    return text.lower(), None


class Runtime(abc.ABC):
    """An inference engine holding one loaded model.

    Subclasses set :attr:`name`, fill :attr:`inputs` and :attr:`outputs` (and add to
    :attr:`properties` what their engine reads) in ``__init__(model, device="cpu", threads=None,
    **options)`` and implement :meth:`run`. ``model`` is a
    :class:`~yolopose.runtimes.model_checks.CheckedModel`: the file (or in-memory bytes, then
    :attr:`model_bytes` holds them and :attr:`path` is a label such as ``<model bytes>.onnx``)
    after the checks of its file type, so an adapter never checks the file itself.
    :meth:`run` is safe to call from several threads at once (each engine ensures it: a shared
    session, one infer request per thread, or a lock).
    """

    #: registry name, e.g. ``"onnxruntime"``
    name: ClassVar[str] = ""

    def __init__(self, model: CheckedModel, device: str = "cpu") -> None:
        if not isinstance(model, CheckedModel):
            raise ConfigError(f"{type(self).__name__} takes a CheckedModel (runtimes.model_checks.check_model); "
                            f"use load_runtime(path) or {type(self).__name__}.load(path)")
        #: the model as it passed its checks (the bytes read, when the check read them)
        self.checked = model
        #: the model when it was given as bytes, else ``None``
        self.model_bytes: Optional[ModelBytes] = model.model_bytes
        self.path = model.path
        self.device = device
        self.inputs: Tuple[TensorInfo, ...] = ()
        self.outputs: Tuple[TensorInfo, ...] = ()
        #: raw key/value metadata found in the artifact (yolopose's own under ``"yolopose"``)
        self.properties: Dict[str, str] = dict(model.properties)

    # ------------------------------------------------------------------ protocol
    @classmethod
    def load(cls, path: Union[Path, ModelBytes, CheckedModel], device: str = "cpu", threads: Optional[int] = None,
             allow_weights_outside: bool = False, **options: Any) -> "Runtime":
        """Check ``path`` (:func:`~yolopose.runtimes.model_checks.check_model`) and load it on
        ``device`` with this adapter."""
        model = path if isinstance(path, CheckedModel) else check_model(path, allow_weights_outside)
        return cls(model, device=device, threads=threads, **options)  # type: ignore[call-arg]

    @abc.abstractmethod
    def run(self, x: np.ndarray) -> List[np.ndarray]:
        """Run the model on its single input ``x`` (engine dtype and layout); outputs in engine order."""

    @classmethod
    def available_devices(cls) -> List[str]:
        """Devices this engine can use on this machine (lower-case names)."""
        return ["cpu"]

    def close(self) -> None:
        """Release engine resources (the runtime is unusable afterwards)."""

    # ------------------------------------------------------------------ shared helpers
    @property
    def metadata(self) -> Optional[ModelMetadata]:
        """yolopose metadata embedded in the artifact, or ``None`` for other tools' models."""
        text = self.properties.get(METADATA_KEY)
        if text is None:
            return None
        return ModelMetadata.from_json(text, source=str(self.path))

    @property
    def quantization(self) -> Dict[str, QuantParams]:
        """Quantization parameters of the quantized inputs and outputs, by tensor name."""
        return {t.name: t.quant for t in (*self.inputs, *self.outputs) if t.quant is not None}

    def describe(self) -> Dict[str, Any]:
        """A JSON-ready description: backend, device, inputs, outputs, properties."""
        props: Mapping[str, Any] = {}
        try:
            meta = self.metadata
        except MetadataError as exc:
            meta, props = None, {"metadata_error": str(exc)}
        return {
            "path": str(self.path),
            "backend": self.name,
            "device": self.device,
            "inputs": [t.to_dict() for t in self.inputs],
            "outputs": [t.to_dict() for t in self.outputs],
            "metadata": json.loads(meta.to_json()) if meta else None,
            "properties": {k: v for k, v in self.properties.items() if k != METADATA_KEY},
            **props,
        }

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, device={self.device!r})"
