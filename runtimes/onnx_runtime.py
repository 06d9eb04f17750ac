"""onnxruntime adapter: CPU, CUDA and TensorRT execution providers."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from yolopose.core.errors import ConfigError, DeviceNotAvailableError

from ._engine import engine_errors, import_engine, model_data
from ._onnx_graph import check_onnx_nodes
from ._onnx_proto import inspect_onnx
from ._weights import check_external_data, refuse_external_data
from .base import Runtime, TensorInfo, split_device

__all__ = ["OnnxRuntime"]

# device family -> execution providers, first is the one asked for, the rest are fallbacks
_PROVIDERS: Dict[str, Tuple[str, ...]] = {
    "cpu": ("CPUExecutionProvider",),
    "cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}
_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
}


def _shape(dims) -> Tuple[Optional[int], ...]:
    return tuple(d if isinstance(d, int) and d >= 0 else None for d in dims)


class OnnxRuntime(Runtime):
    """An ONNX model on onnxruntime. ``device``: ``"cpu"``, ``"cuda[:N]"`` or ``"tensorrt[:N]"``.

    Options: ``provider_options`` (dict merged into the chosen provider's options, e.g.
    ``{"trt_fp16_enable": True}``); ``allow_weights_outside`` (``True`` to trust external-data
    files that resolve outside the model's folder). One session serves all threads
    (onnxruntime's ``run`` is thread-safe).
    """

    name = "onnxruntime"

    def __init__(
        self,
        path: Path,
        device: str = "cpu",
        threads: Optional[int] = None,
        provider_options: Optional[Mapping[str, Any]] = None,
        allow_weights_outside: bool = False,
    ) -> None:
        super().__init__(path, device)
        ort = import_engine(("onnxruntime",), self.name, "onnxruntime")
        data = model_data(self)
        facts = inspect_onnx(data, self.path)
        check_onnx_nodes(facts.nodes, self.path)
        if self.model_bytes is not None:
            refuse_external_data(facts.external, str(self.path))
        else:
            check_external_data(self.path, facts.external, allow_weights_outside)
        self.properties = dict(facts.metadata_props)

        family, index = split_device(device)
        if family not in _PROVIDERS:
            raise DeviceNotAvailableError(
                f"onnxruntime has no device {device!r}; available here: {', '.join(self.available_devices())}"
            )
        wanted = _PROVIDERS[family]
        available = ort.get_available_providers()
        if wanted[0] not in available:
            raise DeviceNotAvailableError(
                f"onnxruntime cannot use device {device!r} ({wanted[0]} is not available); "
                f"available here: {', '.join(self.available_devices())}"
                + ("" if family == "cpu" else ' (GPU support needs: pip install "yolopose[gpu]")')
            )
        providers: List[Any] = []
        for name in wanted:
            if name not in available:
                continue
            opts: Dict[str, Any] = {}
            if name != "CPUExecutionProvider" and index is not None:
                if not index.isdigit():
                    raise ConfigError(f"device {device!r}: the index after ':' must be a number")
                opts["device_id"] = int(index)
            if name == wanted[0] and provider_options:
                opts.update(provider_options)
            providers.append((name, opts))

        so = ort.SessionOptions()
        so.log_severity_level = 3
        if threads:
            so.intra_op_num_threads = int(threads)
        with engine_errors(self.path, "loading the ONNX model with onnxruntime"):
            source = data if self.model_bytes is not None else str(self.path)
            self._session = ort.InferenceSession(source, sess_options=so, providers=providers)
        if self._session.get_providers()[0] != wanted[0]:
            raise DeviceNotAvailableError(
                f"onnxruntime could not start {wanted[0]} for {str(self.path)!r} (it fell back to "
                f"{self._session.get_providers()[0]}); check the CUDA/TensorRT installation"
            )
        self.inputs = tuple(TensorInfo(i.name, _shape(i.shape), _DTYPES.get(i.type, i.type)) for i in self._session.get_inputs())
        self.outputs = tuple(TensorInfo(o.name, _shape(o.shape), _DTYPES.get(o.type, o.type)) for o in self._session.get_outputs())
        if len(self.inputs) != 1:
            raise ConfigError(f"{str(self.path)!r} has {len(self.inputs)} inputs; pose models have exactly one")
        self._input_name = self.inputs[0].name
        self._output_names = [o.name for o in self.outputs]

    @classmethod
    def available_devices(cls) -> List[str]:
        import onnxruntime as ort

        providers = set(ort.get_available_providers())
        return [family for family, wanted in _PROVIDERS.items() if wanted[0] in providers]

    def run(self, x: np.ndarray) -> List[np.ndarray]:
        with engine_errors(self.path, "onnxruntime inference"):
            return list(self._session.run(self._output_names, {self._input_name: x}))

    def close(self) -> None:
        self._session = None
