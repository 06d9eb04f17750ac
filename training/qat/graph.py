"""Build, calibrate and convert the quantized (PT2E) graph of a YOLO-Pose network.

The graph is traced from :class:`yolopose.training.models.raw_outputs.RawOutputs` with an NHWC input, so the
graph QAT trains is exactly the graph the int8 TFLite is converted from: the input pinned to
1/255, per-level split outputs, BN folded, SiLU explicit.
"""
from __future__ import annotations

import copy
from typing import Iterable, Sequence, Tuple, Union

import torch
from torch import nn
from torchao.quantization.pt2e import move_exported_model_to_eval, move_exported_model_to_train
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e, prepare_qat_pt2e

from ..models.raw_outputs import RawOutputs
from yolopose.core.ops import as_hw

from ._fold import int8_ready
from .quantizer import Int8Quantizer
from ..int8_recipes import DEFAULT_RECIPE, get_recipe

__all__ = ["QuantGraph", "build_quant_graph", "calibrate", "convert_to_int8", "set_training"]

_WRAPPED_PREFIX = "model."


class QuantGraph:
    """A prepared PT2E graph (observers or fake quantizers inserted) with its quantizer.

    ``module(images_nhwc)`` returns the flat NHWC outputs of :class:`RawOutputs`. ``recipe`` names
    the int8 recipe (:mod:`yolopose.training.int8_recipes`) it was built with; ``float_layers`` the network's modules
    that stay float under it.
    """

    def __init__(self, module: torch.fx.GraphModule, quantizer: Int8Quantizer, imgsz: Tuple[int, int],
                 recipe: str = DEFAULT_RECIPE, float_layers: Tuple[str, ...] = ()) -> None:
        self.module = module
        self.quantizer = quantizer
        self.imgsz = imgsz
        self.recipe = recipe
        self.float_layers = tuple(float_layers)

    @property
    def qat(self) -> bool:
        """Whether the graph holds fake quantizers (QAT) rather than calibration observers."""
        return self.quantizer.qat

    def float_state_dict(self) -> dict:
        """The float (BN-folded) weights, keyed as in :func:`int8_ready` of the network."""
        return {
            k[len(_WRAPPED_PREFIX) :]: v
            for k, v in self.module.state_dict().items()
            if k.startswith(_WRAPPED_PREFIX)
        }


def build_quant_graph(model: nn.Module, imgsz: Union[int, Sequence[int]], qat: bool = False,
                      recipe: str = DEFAULT_RECIPE) -> QuantGraph:
    """Fold and trace ``model`` (a float YOLO-Pose network) at ``imgsz`` with a dynamic batch, and
    insert observers (``qat=False``, for calibration) or fake quantizers (``qat=True``) everywhere
    but in the layers the int8 ``recipe`` keeps float."""
    h, w = as_hw(imgsz if isinstance(imgsz, int) else tuple(imgsz))
    float_layers = get_recipe(recipe).float_layers(model)
    wrapper = RawOutputs(int8_ready(model), input_layout="NHWC").eval()
    example = (torch.rand(2, h, w, 3),)
    batch = torch.export.Dim("batch", min=1, max=4096)
    traced = torch.export.export(wrapper, example, dynamic_shapes=({0: batch},)).module()
    quantizer = Int8Quantizer(qat=qat, float_modules=[_WRAPPED_PREFIX + name for name in float_layers])
    prepared = (prepare_qat_pt2e if qat else prepare_pt2e)(traced, quantizer)
    return QuantGraph(prepared, quantizer, (h, w), recipe, float_layers)


def set_training(graph: QuantGraph, mode: bool) -> None:
    """Train/eval switch of an exported graph (``.train()`` is not allowed on it)."""
    (move_exported_model_to_train if mode else move_exported_model_to_eval)(graph.module)


@torch.no_grad()
def calibrate(graph: QuantGraph, batches: Iterable[torch.Tensor]) -> int:
    """Run NHWC float batches (RGB / 255) through the observers; returns the number of images."""
    set_training(graph, False)
    n = 0
    for x in batches:
        graph.module(x)
        n += int(x.shape[0])
    return n


def convert_to_int8(graph: QuantGraph) -> torch.fx.GraphModule:
    """The Q/DQ graph (float weights with their int8 grid, ``fold_quantize=False`` as litert-torch
    expects) to hand to ``litert_torch.convert``; it also runs in torch (the int8 reference)."""
    set_training(graph, False)
    converted = convert_pt2e(copy.deepcopy(graph.module), fold_quantize=False)
    for module in converted.modules():  # exported graphs refuse .eval(); the flag is all converters read
        module.training = False
    return converted
