"""The int8 PT2E graph (the one the int8 TFLite is converted from) written as a QDQ ONNX model.

Every ``quantize``/``dequantize`` of the PT2E graph becomes an ONNX ``QuantizeLinear`` /
``DequantizeLinear`` with the same scale and zero point, so the int8 ONNX, the OpenVINO IR read
from it and the int8 TFLite share one set of ranges: for a QAT checkpoint, the ranges QAT
learned (onnxruntime's own calibration would replace them with MinMax ranges of the QAT-tuned
weights, which loses most of what QAT gained). Weights are stored as int8 initializers (per output
channel, symmetric) feeding a ``DequantizeLinear``, the form onnxruntime and OpenVINO fuse into
integer convolutions.
"""
from __future__ import annotations

import copy
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

__all__ = ["qdq_onnx"]

#: the torch ops of a converted PT2E graph and the ONNX op each becomes
_OPS = {
    "quantize_per_tensor": "QuantizeLinear",
    "dequantize_per_tensor": "DequantizeLinear",
    "quantize_per_channel": "QuantizeLinear",
    "dequantize_per_channel": "DequantizeLinear",
}


class _NchwInput(nn.Module):
    """The NHWC graph behind an NCHW input (the ONNX/OpenVINO convention)."""

    def __init__(self, graph: nn.Module) -> None:
        super().__init__()
        self.graph = graph

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return tuple(self.graph(images.permute(0, 2, 3, 1)))


def _symbolic(onnx_op: str, per_channel: bool):
    """A TorchScript-exporter symbolic for one ``quantized_decomposed`` op: scale as float32,
    zero point as int8 (the PT2E graph passes them as double/int64 scalars or tensors)."""
    from onnx import TensorProto
    from torch.onnx import symbolic_helper

    def symbolic(g, x, scale, zero_point, *rest):
        scale = g.op("Cast", scale, to_i=TensorProto.FLOAT)
        zero_point = g.op("Cast", zero_point, to_i=TensorProto.INT8)
        if per_channel:
            axis = symbolic_helper._get_const(rest[0], "i", "axis")
            return g.op(onnx_op, x, scale, zero_point, axis_i=axis)
        return g.op(onnx_op, x, scale, zero_point)

    return symbolic


def _register_symbolics(opset: int) -> None:
    from torch.onnx import register_custom_op_symbolic

    for name, onnx_op in _OPS.items():
        register_custom_op_symbolic(f"quantized_decomposed::{name}", _symbolic(onnx_op, "channel" in name), opset)


def _fold_weight_quantization(model) -> None:
    """Replace ``QuantizeLinear`` nodes whose inputs are all constants (the weights) by the int8
    initializer they compute."""
    from onnx import numpy_helper

    graph = model.graph
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    keep: List = []
    for node in graph.node:
        if node.op_type == "QuantizeLinear" and all(name in constants for name in node.input[:3]):
            x, scale, zero_point = (constants[name] for name in node.input[:3])
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            if scale.ndim == 1 and x.ndim > 1:
                shape = [1] * x.ndim
                shape[axis] = -1
                scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
            q = np.clip(np.rint(x / scale) + zero_point.astype(np.int32), -128, 127).astype(np.int8)
            graph.initializer.append(numpy_helper.from_array(q, node.output[0]))
        else:
            keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)


def qdq_onnx(
    converted: nn.Module,
    imgsz: Tuple[int, int],
    batch: Optional[int],
    output_names: Sequence[str],
    opset: int,
    log: Callable[[str], None] = lambda message: None,
):
    """The QDQ ``onnx.ModelProto`` of ``converted`` (``convert_pt2e`` output taking NHWC float
    images): input ``images`` ``(B, 3, H, W)`` float32, outputs named ``output_names``; a fixed
    ``batch`` or ``None`` for a dynamic one. Without onnxsim the weights may stay float constants
    behind their ``QuantizeLinear`` (same arithmetic, slower to load)."""
    import onnx
    from torchao.quantization.pt2e import allow_exported_model_train_eval

    from .formats.onnx import simplified, traced_onnx

    _register_symbolics(opset)
    converted = copy.deepcopy(converted)
    allow_exported_model_train_eval(converted)
    model = simplified(traced_onnx(_NchwInput(converted).eval(), imgsz, batch, output_names, opset), log)
    _fold_weight_quantization(model)
    model = simplified(model, log)  # drops the constants the folded weights came from
    onnx.checker.check_model(model, full_check=True)
    return model
