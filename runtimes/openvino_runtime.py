"""OpenVINO adapter: CPU, GPU, NPU and AUTO devices; reads IR (``.xml`` + ``.bin``) and ONNX."""
from __future__ import annotations

import threading
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np

from yolopose.core.errors import DeviceNotAvailableError, ModelError
from yolopose.core.limits import check_input_size, check_tensor_size
from yolopose.core.metadata import METADATA_KEY

from ._engine import engine_errors
from .base import Runtime, TensorInfo, split_device
from .model_checks import CheckedModel
from .registry import BackendSpec

__all__ = ["OpenVinoRuntime", "SPEC"]

SPEC = BackendSpec(
    name="openvino",
    target="yolopose.runtimes.openvino_runtime:OpenVinoRuntime",
    suffixes=(".xml", ".onnx"),
    modules=("openvino",),
    extra="openvino",
    devices=("cpu", "gpu", "npu", "auto"),
    aliases=("ov",),
    priority=20,
)

_VIRTUAL = ("AUTO", "MULTI", "HETERO")


def _rt_info_text(model, keys) -> Optional[str]:
    if model.has_rt_info(keys):
        return str(model.get_rt_info(keys).astype(str))
    return None


def _shape(partial) -> Tuple[Optional[int], ...]:
    return tuple(d.get_length() if d.is_static else None for d in partial)


def _check_limits(model: Any, source: str) -> None:
    """Refuse inputs and outputs beyond :mod:`yolopose.core.limits` from the model's static shapes,
    before OpenVINO is asked to compile (and allocate) them."""
    inp = _shape(model.inputs[0].get_partial_shape()) if model.inputs[0].get_partial_shape().rank.is_static else ()
    if len(inp) == 4:
        nchw = inp[1] == 3 and inp[3] != 3
        h, w = (inp[2], inp[3]) if nchw else (inp[1], inp[2])
        check_input_size(source, inp[0], 1 if h is None else h, 1 if w is None else w)
    for kind, ports in (("input", model.inputs), ("output", model.outputs)):
        for i, port in enumerate(ports):
            pshape = port.get_partial_shape()
            if pshape.rank.is_static:
                names = port.get_names()
                check_tensor_size(source, f"{kind} {sorted(names)[0] if names else i!r}", _shape(pshape))


class OpenVinoRuntime(Runtime):
    """A model on OpenVINO. ``device``: ``"cpu"``, ``"gpu[.N]"``, ``"npu"`` or ``"auto"``.

    Options: ``config`` (dict of OpenVINO properties, e.g. ``{"PERFORMANCE_HINT": "LATENCY"}``).
    The model (an IR and its ``.bin``, or ONNX) was checked before (:mod:`yolopose.runtimes.model_checks`).
    fp32 artifacts, and int8 ones with float layers (metadata ``extra.float_layers``), run with
    ``INFERENCE_PRECISION_HINT=f32`` on CPU unless ``config`` says otherwise.
    Each thread gets its own infer request from the shared compiled model.
    """

    name = SPEC.name

    def __init__(
        self,
        model: CheckedModel,
        device: str = "cpu",
        threads: Optional[int] = None,
        config: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(model, device)
        ov = SPEC.import_engine()
        source: Any = model.data if self.model_bytes is not None else str(self.path)
        self._core = ov.Core()
        with engine_errors(self.path, "reading the model with OpenVINO"):
            model = self._core.read_model(source)
            for keys in ([METADATA_KEY], ["framework", METADATA_KEY]):
                text = _rt_info_text(model, keys)
                if text is not None:
                    self.properties[METADATA_KEY] = text
                    break
        if len(model.inputs) != 1:
            raise ModelError(f"{str(self.path)!r} has {len(model.inputs)} inputs; pose models have exactly one")
        _check_limits(model, str(self.path))  # before compiling: a 10**12 batch ended in std::bad_alloc there

        family, index = split_device(device)
        ov_device = family.upper() + (f".{index}" if index is not None else "")
        available = list(self._core.available_devices)
        if family.upper() not in _VIRTUAL and ov_device not in available and family.upper() not in available:
            raise DeviceNotAvailableError(
                f"OpenVINO cannot see device {device!r}; available here: {', '.join(self.available_devices())}"
            )
        meta = self.metadata
        pshape = model.inputs[0].get_partial_shape()
        static_only = family == "npu"  # NPU compiles static shapes only; other devices take dynamic ones
        if static_only and meta is not None and pshape.rank.is_static and pshape.rank.get_length() == 4 and not pshape.is_static:
            h, w = meta.imgsz
            dims = [1, 3, h, w] if meta.input_layout == "NCHW" else [1, h, w, 3]
            with engine_errors(self.path, "reshaping the OpenVINO model"):
                model.reshape({model.inputs[0]: ov.PartialShape(dims)})
        props: Dict[str, Any] = dict(config or {})
        if threads:
            props.setdefault("INFERENCE_NUM_THREADS", int(threads))
        if family == "cpu" and meta is not None and (meta.precision == "fp32" or meta.extra.get("float_layers")):
            # On CPUs with AMX/AVX512-BF16 OpenVINO runs fp32 models in bf16 unless told not to,
            # which moves keypoints by ~0.5 px: an fp32 artifact runs in fp32, and so do the layers an
            # int8 recipe kept float for accuracy (its int8 layers stay int8). Pass
            # config={"INFERENCE_PRECISION_HINT": "bf16"} (or export --fp16) for the faster path.
            props.setdefault("INFERENCE_PRECISION_HINT", "f32")
        with engine_errors(self.path, f"compiling the model for OpenVINO {ov_device}"):
            self._compiled = self._core.compile_model(model, ov_device, props)
        self.inputs = tuple(
            TensorInfo(p.get_any_name(), _shape(p.get_partial_shape()), p.get_element_type().to_dtype().name)
            for p in self._compiled.inputs
        )
        self.outputs = tuple(
            TensorInfo(p.get_any_name(), _shape(p.get_partial_shape()), p.get_element_type().to_dtype().name)
            for p in self._compiled.outputs
        )
        self._local = threading.local()

    @classmethod
    def available_devices(cls) -> List[str]:
        import openvino as ov

        found = [d.lower() for d in ov.Core().available_devices]
        return found + ["auto"]

    def _request(self):
        req = getattr(self._local, "request", None)
        if req is None:
            req = self._local.request = self._compiled.create_infer_request()
        return req

    def run(self, x: np.ndarray) -> List[np.ndarray]:
        with engine_errors(self.path, "OpenVINO inference"):
            result = self._request().infer({0: x}, share_inputs=False, share_outputs=False)
            return [np.asarray(result[port]) for port in self._compiled.outputs]

    def close(self) -> None:
        self._compiled = None
        self._local = threading.local()
