"""onnxruntime adapter: CPU, CUDA and TensorRT execution providers."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from yolopose.core.errors import ConfigError, DeviceNotAvailableError

from ._engine import engine_errors
from .base import Runtime, TensorInfo, split_device
from .model_checks import CheckedModel
from .registry import BackendSpec

__all__ = ["OnnxRuntime", "SPEC"]

#: onnxruntime before OpenVINO for .onnx (priority 10 < 20): lighter to start
SPEC = BackendSpec(
    name="onnxruntime",
    target="yolopose.runtimes.onnx_runtime:OnnxRuntime",
    suffixes=(".onnx",),
    modules=("onnxruntime",),
    extra="onnxruntime",
    devices=("cpu", "cuda", "tensorrt"),
    aliases=("ort", "onnx"),
    priority=10,
)

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
    ``{"trt_fp16_enable": True}``). One session serves all threads (onnxruntime's ``run`` is
    thread-safe). The model was checked before (:mod:`yolopose.runtimes.model_checks`).
    """

    name = SPEC.name

    def __init__(
        self,
        model: CheckedModel,
        device: str = "cpu",
        threads: Optional[int] = None,
        provider_options: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(model, device)
        ort = SPEC.import_engine()

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
            source = model.data if self.model_bytes is not None else str(self.path)
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
