"""QAT checkpoints: the regular checkpoint format with ``qat=True`` and ``model`` holding the state
dict of the prepared PT2E graph (BN-folded float weights plus every fake quantizer's learned
scale, zero point and range), all plain tensors, so ``torch.load(weights_only=True)`` reads it.

The graph itself is rebuilt from ``config`` (it is deterministic), then the state is loaded.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

from torch import nn

from yolopose.core.errors import CheckpointError, ConfigError

from ..checkpoint import load_checkpoint, save_checkpoint
from ..models import ModelConfig, create_model
from ._fold import int8_ready
from .graph import QuantGraph, build_quant_graph
from ..int8_recipes import get_recipe

__all__ = ["save_qat_checkpoint", "load_qat_graph", "qat_float_model", "qat_recipe", "is_qat_checkpoint"]

PathLike = Union[str, "os.PathLike[str]"]


#: the recipe of QAT checkpoints written before recipes existed (every layer int8)
_LEGACY_RECIPE = "full"


def save_qat_checkpoint(path: PathLike, graph: QuantGraph, config: ModelConfig, **fields: Any) -> Path:
    """Write a QAT checkpoint (atomically, like every checkpoint); it records the graph's int8 recipe."""
    fields.setdefault("imgsz", list(graph.imgsz))
    return save_checkpoint(path, model=graph.module.state_dict(), config=config, qat=True,
                           int8_recipe=graph.recipe, **fields)


def qat_recipe(ckpt: Mapping[str, Any]) -> str:
    """The int8 recipe a loaded QAT checkpoint was fine-tuned under."""
    return str(ckpt.get("int8_recipe") or _LEGACY_RECIPE)


def is_qat_checkpoint(ckpt: Mapping[str, Any]) -> bool:
    """Whether a loaded checkpoint dict holds a QAT graph's state."""
    return bool(ckpt.get("qat", False))


def _config(ckpt: Mapping[str, Any], source: str) -> ModelConfig:
    try:
        return ModelConfig.from_dict(ckpt["config"], source=source)
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from None


def load_qat_graph(
    source: Union[PathLike, Mapping[str, Any]], imgsz: Optional[Union[int, Sequence[int]]] = None
) -> Tuple[QuantGraph, ModelConfig, Dict[str, Any]]:
    """Rebuild the fake-quantized graph of a QAT checkpoint at ``imgsz`` (default: the one it was
    trained at) and load its state. :class:`CheckpointError` for a non-QAT or mismatched file."""
    name = "<checkpoint dict>" if isinstance(source, Mapping) else str(source)
    ckpt = dict(source) if isinstance(source, Mapping) else load_checkpoint(source)
    if not is_qat_checkpoint(ckpt):
        raise CheckpointError(f"{name}: not a QAT checkpoint (qat=False); run `yolopose-train qat` first")
    config = _config(ckpt, name)
    size = imgsz if imgsz is not None else ckpt.get("imgsz")
    if size is None:
        raise CheckpointError(f"{name}: QAT checkpoint lacks 'imgsz'")
    try:
        recipe = get_recipe(qat_recipe(ckpt))
    except ConfigError as exc:
        raise CheckpointError(f"{name}: {exc}") from None
    graph = build_quant_graph(create_model(config), size if isinstance(size, int) else tuple(size), qat=True,
                              recipe=recipe.name)
    try:
        graph.module.load_state_dict(ckpt["model"], strict=True)
    except (RuntimeError, KeyError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{name}: QAT weights do not fit the {config.name!r} architecture ({first})"
        ) from None
    return graph, config, ckpt


def qat_float_model(graph: QuantGraph, config: ModelConfig) -> nn.Module:
    """The BN-folded float network carrying the QAT-tuned weights (for ONNX/OpenVINO export)."""
    model = int8_ready(create_model(config))
    model.load_state_dict(graph.float_state_dict(), strict=True)
    model.strides, model.anchors = tuple(config.strides), config.anchors
    return model.eval()
