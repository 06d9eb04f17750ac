"""TFLite adapter (backend ``tflite``): runs ``.tflite`` models with the LiteRT interpreter
(``ai-edge-litert``, the ``litert`` extra; TFLite's new name) or the older ``tflite-runtime``;
XNNPACK or an external delegate."""
from __future__ import annotations

import os
import threading
from typing import Any, List, Mapping, Optional, Tuple

import numpy as np

from yolopose.core.errors import ConfigError, DeviceNotAvailableError, ModelError
from yolopose.core.ops.quant import QuantParams

from ._engine import engine_errors
from .base import Runtime, TensorInfo, split_device
from .model_checks import CheckedModel
from .registry import BackendSpec

__all__ = ["SPEC", "TfliteRuntime"]

SPEC = BackendSpec(
    name="tflite",
    target="yolopose.runtimes.tflite_runtime:TfliteRuntime",
    suffixes=(".tflite",),
    modules=("ai_edge_litert.interpreter", "tflite_runtime.interpreter"),
    extra="litert",
    devices=("cpu", "npu", "gpu", "edgetpu", "delegate"),
    aliases=("litert", "tflite-runtime", "ai-edge-litert"),
    priority=30,
)


def _tensor_info(detail: Mapping[str, Any]) -> TensorInfo:
    dtype = np.dtype(detail["dtype"]).name
    sig = detail.get("shape_signature")
    dims = sig if sig is not None and len(sig) else detail["shape"]
    shape: Tuple[Optional[int], ...] = tuple(int(d) if d >= 0 else None for d in dims)
    scale, zero_point = detail.get("quantization", (0.0, 0))
    quant = None
    if scale and np.dtype(dtype).kind in "iu":
        quant = QuantParams(float(scale), int(zero_point), dtype)
    return TensorInfo(detail["name"], shape, dtype, quant)


class TfliteRuntime(Runtime):
    """A ``.tflite`` model. ``device="cpu"`` runs on the CPU (XNNPACK by default); any other
    device (``"npu"``, ``"edgetpu"``, ...) needs ``delegate="path/to/delegate.so"``.

    Options: ``delegate`` (external delegate library), ``delegate_options`` (dict of strings),
    ``xnnpack`` (``False`` to use the plain built-in kernels). The interpreter is not thread-safe:
    calls are serialised with a lock.
    """

    name = SPEC.name

    def __init__(
        self,
        model: CheckedModel,
        device: str = "cpu",
        threads: Optional[int] = None,
        delegate: Optional[str] = None,
        delegate_options: Optional[Mapping[str, Any]] = None,
        xnnpack: bool = True,
    ) -> None:
        super().__init__(model, device)
        mod = SPEC.import_engine()
        data = model.data
        family, _ = split_device(device)
        if family != "cpu" and not delegate:
            raise DeviceNotAvailableError(
                f"TFLite runs on 'cpu' here; device {device!r} needs an external delegate library "
                f"(runtime option delegate='/path/to/libdelegate.so'). Available here: cpu"
            )
        delegates = []
        if delegate:
            if os.sep in str(delegate) and not os.path.isfile(delegate):
                raise DeviceNotAvailableError(f"TFLite delegate library {str(delegate)!r} for device {device!r} does not exist")
            try:
                delegates.append(mod.load_delegate(str(delegate), {k: str(v) for k, v in (delegate_options or {}).items()}))
            except (ValueError, OSError, RuntimeError) as exc:
                raise DeviceNotAvailableError(f"cannot load the TFLite delegate {str(delegate)!r} for device {device!r}: {exc}") from None
        kwargs: dict = {"model_content": data, "experimental_delegates": delegates or None}
        if threads:
            kwargs["num_threads"] = int(threads)
        if not xnnpack:
            kwargs["experimental_op_resolver_type"] = mod.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        with engine_errors(self.path, "loading the TFLite model"):
            self._interp = mod.Interpreter(**kwargs)
            self._interp.allocate_tensors()
        in_details = self._interp.get_input_details()
        if len(in_details) != 1:
            raise ModelError(f"{str(self.path)!r} has {len(in_details)} inputs; pose models have exactly one")
        self._in = in_details[0]
        self._out = self._interp.get_output_details()
        self.inputs = (_tensor_info(self._in),)
        self.outputs = tuple(_tensor_info(d) for d in self._out)
        self._batch = int(self._in["shape"][0])
        self._lock = threading.Lock()

    def run(self, x: np.ndarray) -> List[np.ndarray]:
        x = np.ascontiguousarray(x)
        if x.dtype != np.dtype(self._in["dtype"]):
            raise ConfigError(f"{str(self.path)!r} expects {np.dtype(self._in['dtype']).name} input, got {x.dtype}")
        with self._lock, engine_errors(self.path, "TFLite inference"):
            if x.shape[0] != self._batch:  # dynamic batch: resize once per new batch size
                self._interp.resize_tensor_input(self._in["index"], list(x.shape), strict=True)
                self._interp.allocate_tensors()
                self._batch = int(x.shape[0])
            self._interp.set_tensor(self._in["index"], x)
            self._interp.invoke()
            return [self._interp.get_tensor(d["index"]) for d in self._out]

    def close(self) -> None:
        self._interp = None
