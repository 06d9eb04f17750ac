"""The PT2E quantizer for int8 deployment (TFLite, and the arithmetic ONNX/OpenVINO int8 mirror).

Per-channel symmetric int8 weights (-127..127), per-tensor affine int8 activations, the sigmoid
with TFLite's fixed output range (scale 1/256, zero point -128), and the network input pinned to
scale 1/255, zero point -128, so that a uint8 pixel ``p`` becomes the int8 input ``p - 128``.

The base quantizer (``litert_torch``) annotates conv+BN patterns for QAT by tracing a pattern that
fails on this torch; our graphs have batch norm folded before quantization, so those patterns
are dropped and QAT uses the same ``conv`` patterns as PTQ with fake-quantize modules.
"""
from __future__ import annotations

from typing import List

import torch
from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
from litert_torch.quantize.quant_config import QuantConfig
from torchao.quantization.pt2e.quantizer import FixedQParamsQuantizationSpec, QuantizationAnnotation

__all__ = ["INPUT_SCALE", "INPUT_ZERO_POINT", "Int8Quantizer", "litert_quant_config"]

INPUT_SCALE = 1.0 / 255.0
INPUT_ZERO_POINT = -128

#: ops that only move data: the input range is pinned on the first op after them
_LAYOUT_OPS = {
    torch.ops.aten.permute.default,
    torch.ops.aten.view.default,
    torch.ops.aten.reshape.default,
    torch.ops.aten.slice.Tensor,
    torch.ops.aten.cat.default,
}
_BINARY_OPS = {torch.ops.aten.add.Tensor, torch.ops.aten.mul.Tensor}


class Int8Quantizer(PT2EQuantizer):
    """:class:`PT2EQuantizer` with per-channel weights, a pinned input range, and fake
    quantization (``qat=True``) or calibration observers (``qat=False``)."""

    STATIC_QAT_ONLY_OPS: List[str] = []  # BN is folded before quantization (see module docstring)

    def __init__(self, qat: bool = False) -> None:
        super().__init__()
        self.qat = qat
        self.set_global(get_symmetric_quantization_config(is_per_channel=True, is_qat=qat))

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        model = super().annotate(model)
        self._annotate_missed_binary_ops(model)
        self._pin_input(model)
        return model

    def _annotate_missed_binary_ops(self, model: torch.fx.GraphModule) -> None:
        """Residual adds (and SiLU's multiplies) that the base annotator's source-partition
        matching misses on non-strict exports would run in float between a dequantize and a
        quantize; give them int8 inputs and output like the ones it does find."""
        config = self.global_config
        for node in model.graph.nodes:
            if node.op != "call_function" or node.target not in _BINARY_OPS:
                continue
            if node.meta.get("quantization_annotation") is not None:
                continue
            inputs = [a for a in node.args[:2] if isinstance(a, torch.fx.Node)]
            if len(inputs) != 2:
                continue
            node.meta["quantization_annotation"] = QuantizationAnnotation(
                input_qspec_map={a: config.input_activation for a in inputs},
                output_qspec=config.output_activation,
                _annotated=True,
            )

    def _pin_input(self, model: torch.fx.GraphModule) -> None:
        spec = FixedQParamsQuantizationSpec(
            dtype=torch.int8,
            scale=INPUT_SCALE,
            zero_point=INPUT_ZERO_POINT,
            quant_min=-128,
            quant_max=127,
            qscheme=torch.per_tensor_affine,
        )
        for node in model.graph.nodes:
            if node.op != "placeholder":
                continue
            frontier = [node]
            seen = set()
            while frontier:
                current = frontier.pop()
                for user in current.users:
                    annotation = user.meta.get("quantization_annotation")
                    if annotation is not None and current in annotation.input_qspec_map:
                        annotation.input_qspec_map[current] = spec
                    elif user.op == "call_function" and user.target in _LAYOUT_OPS and user not in seen:
                        seen.add(user)
                        frontier.append(user)


def litert_quant_config(quantizer: Int8Quantizer) -> QuantConfig:
    """The ``quant_config`` that tells ``litert_torch.convert`` to lower the Q/DQ graph to int8."""
    return QuantConfig(pt2e_quantizer=quantizer)
