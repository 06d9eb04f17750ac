"""The PT2E quantizer for int8 deployment (TFLite, and the arithmetic ONNX/OpenVINO int8 mirror).

Per-channel symmetric int8 weights (-127..127), per-tensor affine int8 activations, the sigmoid
with TFLite's fixed output range (scale 1/256, zero point -128), and the network input pinned to
scale 1/255, zero point -128, so that a uint8 pixel ``p`` becomes the int8 input ``p - 128``.

``float_modules`` (an int8 recipe's float layers, :mod:`yolopose.training.int8_recipes`) are left unannotated: the
converted graph dequantizes into them and they compute in float, as do the ops that share their
quantization (the layout ops on their outputs). Post-training calibration takes each
activation's range from every calibration image's own min and max (:class:`ImageRangeObserver`).

The base quantizer (``litert_torch``) annotates conv+BN patterns for QAT by tracing a pattern that
fails on this torch; our graphs have batch norm folded before quantization, so those patterns
are dropped and QAT uses the same ``conv`` patterns as PTQ with fake-quantize modules.
"""
from __future__ import annotations

import dataclasses
from typing import List, Sequence, Set

import torch
from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
from litert_torch.quantize.quant_config import QuantConfig
from torchao.quantization.pt2e import MovingAverageMinMaxObserver
from torchao.quantization.pt2e.quantizer import (
    FixedQParamsQuantizationSpec,
    QuantizationAnnotation,
    SharedQuantizationSpec,
)

__all__ = ["INPUT_SCALE", "INPUT_ZERO_POINT", "IMAGE_RANGE_PERCENTILE", "ImageRangeObserver", "Int8Quantizer", "litert_quant_config"]

INPUT_SCALE = 1.0 / 255.0
#: :class:`ImageRangeObserver`'s percentile of the per-image extremes (measured in docs/int8.md)
IMAGE_RANGE_PERCENTILE = 90.0
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


class ImageRangeObserver(MovingAverageMinMaxObserver):
    """Activation range for post-training calibration from each image's own extremes: the
    ``percentile``-th percentile over the images seen of each image's max, and the
    ``100 - percentile``-th of their mins (dimension 0 is the batch). One global min/max over
    hundreds of images lets a few outliers widen a range until small activations vanish; the mean
    of the per-image extremes clips the large ones of many images (docs/int8.md measures both)."""

    def __init__(self, *args, percentile: float = IMAGE_RANGE_PERCENTILE, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not 50.0 <= percentile <= 100.0:
            raise ValueError(f"percentile must be in [50, 100], got {percentile}")
        self.percentile = float(percentile)
        self._mins: List[torch.Tensor] = []
        self._maxs: List[torch.Tensor] = []

    def forward(self, x_orig: torch.Tensor) -> torch.Tensor:
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach().to(torch.float32)
        if x.is_contiguous():  # a view: no copy
            flat = x.view(x.shape[0], -1)
            self._mins.append(flat.amin(1))
            self._maxs.append(flat.amax(1))
        else:  # reducing over the other dims in place is ~20x faster than copying a permuted tensor
            dims = tuple(range(1, x.dim()))
            self._mins.append(x.amin(dims))
            self._maxs.append(x.amax(dims))
        q = torch.tensor([1.0 - self.percentile / 100.0, self.percentile / 100.0])
        lo = torch.quantile(torch.cat(self._mins), q[0])
        hi = torch.quantile(torch.cat(self._maxs), q[1])
        self.min_val.resize_(()), self.max_val.resize_(())
        self.min_val.copy_(lo)
        self.max_val.copy_(hi)
        return x_orig


def _ptq_config(qat: bool):
    config = get_symmetric_quantization_config(is_per_channel=True, is_qat=qat)
    if qat:
        return config
    activation = dataclasses.replace(config.input_activation,
                                     observer_or_fake_quant_ctr=ImageRangeObserver.with_args(eps=2**-12))
    return dataclasses.replace(config, input_activation=activation, output_activation=activation)


class Int8Quantizer(PT2EQuantizer):
    """:class:`PT2EQuantizer` with per-channel weights, a pinned input range, fake quantization
    (``qat=True``) or calibration observers (``qat=False``), and ``float_modules`` (names of the
    traced graph's modules, e.g. ``model.head``) left in float."""

    STATIC_QAT_ONLY_OPS: List[str] = []  # BN is folded before quantization (see module docstring)

    def __init__(self, qat: bool = False, float_modules: Sequence[str] = ()) -> None:
        super().__init__()
        self.qat = qat
        self.float_modules = tuple(float_modules)
        self.set_global(_ptq_config(qat))

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        model = super().annotate(model)
        self._annotate_missed_binary_ops(model)
        self._leave_float(model)
        self._pin_input(model)
        return model

    def _in_float_scope(self, node: torch.fx.Node) -> bool:
        paths = [path for path, _ in (node.meta.get("nn_module_stack") or {}).values()]
        return any(path == m or path.startswith(m + ".") for path in paths for m in self.float_modules)

    def _leave_float(self, model: torch.fx.GraphModule) -> None:
        """Drop the annotations of the float modules' ops, then of every op whose quantization is
        shared with a dropped one (e.g. the permute of a float output), until none is left."""
        if not self.float_modules:
            return
        dropped: Set[torch.fx.Node] = set()
        for node in model.graph.nodes:
            if self._in_float_scope(node):
                node.meta.pop("quantization_annotation", None)
                dropped.add(node)
        changed = True
        while changed:
            changed = False
            for node in model.graph.nodes:
                annotation = node.meta.get("quantization_annotation")
                if annotation is None or node in dropped:
                    continue
                specs = [annotation.output_qspec, *annotation.input_qspec_map.values()]
                if any(_shares_with(spec, dropped) for spec in specs):
                    node.meta.pop("quantization_annotation")
                    dropped.add(node)
                    changed = True

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


def _shares_with(spec, nodes: Set[torch.fx.Node]) -> bool:
    """Whether ``spec`` shares the quantization of an edge or node touching ``nodes``."""
    if not isinstance(spec, SharedQuantizationSpec):
        return False
    target = spec.edge_or_node
    return bool(set(target if isinstance(target, tuple) else (target,)) & nodes)


def litert_quant_config(quantizer: Int8Quantizer) -> QuantConfig:
    """The ``quant_config`` that tells ``litert_torch.convert`` to lower the Q/DQ graph to int8."""
    return QuantConfig(pt2e_quantizer=quantizer)
