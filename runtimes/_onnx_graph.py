"""Checks of an ONNX graph's nodes that engines do not make themselves.

OpenVINO's ONNX reader dereferences a node's inputs by position without checking how many there
are: a ``Conv`` without its weights kills the process (SIGSEGV). Nodes of the standard operator
set are checked against the number of inputs the ONNX operator specification (onnx/docs/
Operators.md) requires in every opset version, before any engine sees the model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable

from yolopose.core.errors import ModelError

from ._onnx_proto import OnnxNode

__all__ = ["REQUIRED_INPUTS", "check_onnx_nodes"]

#: standard operators -> inputs required in every opset version (others: at least one, except
#: the generators below). Operators whose arity changed across versions (Pad, Slice, Reshape,
#: Resize, Split...) are held to the common minimum of one.
REQUIRED_INPUTS: Dict[str, int] = {
    **{op: 2 for op in (
        "Conv", "ConvTranspose", "ConvInteger", "MatMul", "MatMulInteger", "Gemm", "Add", "Sub", "Mul", "Div",
        "Pow", "Mod", "PRelu", "And", "Or", "Xor", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual",
        "Gather", "GatherElements", "GatherND", "Expand", "QuantizeLinear", "DequantizeLinear", "BitShift",
    )},
    "InstanceNormalization": 3,
    "Where": 3,
    "ScatterND": 3,
    "ScatterElements": 3,
    "BatchNormalization": 5,
    "QLinearMatMul": 8,
    "QLinearConv": 8,
}
_GENERATORS = {"Constant", "RandomNormal", "RandomUniform"}  # operators with no input at all
_STANDARD_DOMAINS = {"", "ai.onnx"}


def check_onnx_nodes(nodes: Iterable[OnnxNode], path: Path) -> None:
    """Refuse a standard-domain node that lacks an input the specification requires."""
    for index, node in enumerate(nodes):
        if node.domain not in _STANDARD_DOMAINS or node.op_type in _GENERATORS:
            continue
        need = REQUIRED_INPUTS.get(node.op_type, 1)
        given = [i for i, name in enumerate(node.inputs[:need]) if name]
        if len(given) < need:
            missing = next(i for i in range(need) if i >= len(node.inputs) or not node.inputs[i])
            label = f"node {index} ({node.op_type}" + (f" {node.name!r})" if node.name else ")")
            raise ModelError(f"{str(path)!r}: {label} lacks its input {missing}; {node.op_type} needs {need} inputs")
