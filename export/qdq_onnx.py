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

from yolopose.core.errors import ExportError

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
    constants = _constants(graph)
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


def _narrow_weights(model, bits: int) -> int:
    """Requantize every int8 weight initializer (behind a ``DequantizeLinear``) to ``bits`` bits:
    ``q' = round(q / 2**(8 - bits))``, scale ``x 2**(8 - bits)``, so a weight moves by at most half
    a step of its new grid. With 7-bit weights the u8 x s8 products x86 CPUs without VNNI add in
    pairs into 16 bits (``vpmaddubsw``) cannot saturate: ``2 x 255 x 64 < 2**15`` (onnxruntime's
    ``reduce_range``, NNCF's overflow fix). Returns the number of weights narrowed."""
    from onnx import TensorProto, numpy_helper

    graph = model.graph
    factor = 2 ** (8 - bits)
    constants = _constants(graph)
    weights = {init.name for init in graph.initializer if init.data_type == TensorProto.INT8 and len(init.dims) > 1}
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    done = 0
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in weights or node.input[1] not in constants:
            continue
        q = constants[node.input[0]].astype(np.int32)
        narrow = np.clip(np.floor(q / factor + 0.5), lo, hi).astype(np.int8)
        scale = (constants[node.input[1]].astype(np.float64) * factor).astype(np.float32)
        names = (f"{node.input[0]}_{bits}bit", f"{node.input[1]}_{bits}bit")
        graph.initializer.extend([numpy_helper.from_array(narrow, names[0]), numpy_helper.from_array(scale, names[1])])
        node.input[0], node.input[1] = names
        done += 1
    _drop_unused_initializers(graph)
    return done


def _constants(graph) -> dict:
    """Name -> array of every initializer and ``Constant`` node output."""
    from onnx import numpy_helper

    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return constants


def _quantize_biases(model) -> int:
    """Give every ``Conv`` fed by two ``DequantizeLinear`` (activation, weight) an int32 bias
    behind its own ``DequantizeLinear`` (scale = activation scale x weight scale per output channel,
    zero point 0), as integer kernels compute it. onnxruntime fuses ``DQ -> Conv -> Q`` into
    ``QLinearConv`` only when every input of the ``Conv`` is dequantized: with the float bias the
    PT2E graph keeps, the convolutions would run in float between Q/DQ pairs, slower than fp32.
    Returns the number of biases quantized."""
    from onnx import helper, numpy_helper

    graph = model.graph
    constants = _constants(graph)
    producer = {out: node for node in graph.node for out in node.output}
    nodes: List = []
    done = 0
    for node in graph.node:
        if node.op_type == "Conv" and len(node.input) == 3 and node.input[2] in constants:
            dq = [producer.get(name) for name in node.input[:2]]
            if all(d is not None and d.op_type == "DequantizeLinear" and d.input[1] in constants for d in dq):
                x_scale = np.asarray(constants[dq[0].input[1]], np.float64).reshape(-1)
                w_scale = np.asarray(constants[dq[1].input[1]], np.float64).reshape(-1)
                bias = np.asarray(constants[node.input[2]], np.float64)
                if x_scale.size == 1 and w_scale.size in (1, bias.size):
                    scale = np.broadcast_to(x_scale * w_scale, bias.shape).astype(np.float32)
                    q = np.clip(np.rint(bias / scale), -(2**31), 2**31 - 1).astype(np.int32)
                    name = f"{node.output[0]}_bias_int32"
                    graph.initializer.extend([
                        numpy_helper.from_array(q, name),
                        numpy_helper.from_array(scale, f"{name}_scale"),
                        numpy_helper.from_array(np.zeros(bias.shape, np.int32), f"{name}_zero_point"),
                    ])
                    nodes.append(helper.make_node("DequantizeLinear", [name, f"{name}_scale", f"{name}_zero_point"],
                                                  [f"{name}_dequantized"], name=f"{name}_DequantizeLinear", axis=0))
                    node.input[2] = f"{name}_dequantized"
                    done += 1
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    _drop_unused_initializers(graph)
    return done


def _drop_unused_initializers(graph) -> None:
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    for init in [init for init in graph.initializer if init.name not in used]:
        graph.initializer.remove(init)


def _uint8_activations(model) -> int:
    """Store the activations as uint8 (zero point + 128) instead of int8: the same numbers
    (``q_u8 = q_s8 + 128`` and ``(q_u8 - zp_u8) * s == (q_s8 - zp_s8) * s``), in the layout
    onnxruntime's x86 kernels fuse. With int8 activations it leaves about half the convolutions
    as float ``Conv`` between Q/DQ pairs (slower than fp32); with uint8 every one becomes a
    ``QLinearConv`` (measured by ``benchmarks/int8_speed.py``). Weights stay int8 (per channel).
    Returns the number of Q/DQ nodes changed."""
    from onnx import TensorProto, numpy_helper

    graph = model.graph
    constants = _constants(graph)
    weights = {init.name for init in graph.initializer if init.data_type == TensorProto.INT8 and len(init.dims) > 1}
    added = {}
    changed = 0
    for node in graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear") or len(node.input) < 3:
            continue
        if node.op_type == "DequantizeLinear" and node.input[0] in weights:
            continue
        zero_point = constants.get(node.input[2])
        if zero_point is None or zero_point.dtype != np.int8:
            continue
        name = f"{node.input[2]}_uint8"
        if name not in added:
            added[name] = numpy_helper.from_array((zero_point.astype(np.int16) + 128).astype(np.uint8), name)
            graph.initializer.append(added[name])
        node.input[2] = name
        changed += 1
    _drop_unused_initializers(graph)
    del graph.value_info[:]  # inferred int8 types of the quantized tensors, now stale
    return changed


def qdq_onnx(
    converted: nn.Module,
    imgsz: Tuple[int, int],
    batch: Optional[int],
    output_names: Sequence[str],
    opset: int,
    log: Callable[[str], None] = lambda message: None,
    weight_bits: int = 8,
):
    """The QDQ ``onnx.ModelProto`` of ``converted`` (``convert_pt2e`` output taking NHWC float
    images): input ``images`` ``(B, 3, H, W)`` float32, outputs named ``output_names``; a fixed
    ``batch`` or ``None`` for a dynamic one. ``weight_bits=7`` narrows the weights to 7 bits
    (for x86 CPUs without VNNI, see :func:`_narrow_weights`). Without onnxsim the weights may stay float constants
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
    if weight_bits != 8:
        narrowed = _narrow_weights(model, weight_bits)
        if not narrowed:  # weights left as float constants (no onnxsim): nothing would be narrowed
            raise ExportError(f"int8 ONNX: no int8 weight initializers to narrow to {weight_bits} bits "
                              "(is onnxsim installed?)")
        log(f"int8 ONNX: {narrowed} weights narrowed to {weight_bits} bits")
    _quantize_biases(model)
    _uint8_activations(model)
    onnx.checker.check_model(model, full_check=True)
    return model
