"""Quantization-aware training (PT2E) for int8 deployment.

The fake-quantized graph is the one the int8 TFLite is converted from: BN folded, SiLU as
``x * sigmoid(x)``, per-channel symmetric int8 weights, per-tensor int8 activations, the input on
the 1/255 grid, and the layers an int8 recipe keeps float (:mod:`yolopose.training.int8_recipes`; ``mixed`` by default:
the pose head and the neck layers feeding it) left in float. ``yolopose-train qat`` fine-tunes it; ``yolopose-export CKPT --qat --int8`` writes
int8 artifacts from it.
"""
from __future__ import annotations

from ._fold import ExplicitSiLU, int8_ready
from ..int8_recipes import DEFAULT_RECIPE, Int8Recipe, get_recipe, list_recipes, register_recipe
from .storage import is_qat_checkpoint, load_qat_graph, qat_float_model, qat_recipe, save_qat_checkpoint
from .finetune import QATSettings, qat_finetune
from .graph import QuantGraph, build_quant_graph, calibrate, convert_to_int8, set_training
from .quantizer import INPUT_SCALE, INPUT_ZERO_POINT, ImageRangeObserver, Int8Quantizer, litert_quant_config

__all__ = [
    "DEFAULT_RECIPE",
    "ExplicitSiLU",
    "INPUT_SCALE",
    "INPUT_ZERO_POINT",
    "ImageRangeObserver",
    "Int8Quantizer",
    "Int8Recipe",
    "QATSettings",
    "QuantGraph",
    "build_quant_graph",
    "calibrate",
    "convert_to_int8",
    "get_recipe",
    "int8_ready",
    "is_qat_checkpoint",
    "list_recipes",
    "litert_quant_config",
    "load_qat_graph",
    "qat_finetune",
    "qat_float_model",
    "qat_recipe",
    "register_recipe",
    "save_qat_checkpoint",
    "set_training",
]
