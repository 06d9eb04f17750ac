"""What is being exported: a checkpoint (plain or QAT) or a registered architecture with fresh
weights. Bad files give a :class:`CheckpointError` that names the file and the problem."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from torch import nn

from yolopose.core.errors import CheckpointError, ConfigError
from yolopose.core.ops import as_hw

__all__ = ["ModelSource", "load_source"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class ModelSource:
    """A float network to export (eval mode), where it came from, and, for a QAT checkpoint, the
    fake-quantized graph holding the learned int8 ranges."""

    model: nn.Module  # YoloPoseModel, or its BN-folded twin with QAT weights
    name: str  # architecture name (registry name)
    label: str  # file path or "name (fresh weights)"
    checkpoint: Optional[Dict[str, Any]] = None
    qat_graph: Any = None  # yolopose.training.qat.QuantGraph or None
    imgsz: Optional[Tuple[int, int]] = None  # the size it was trained at, if known

    @property
    def fresh(self) -> bool:
        """True for a registry name exported with untrained weights."""
        return self.checkpoint is None

    @property
    def strides(self) -> Tuple[int, ...]:
        return tuple(int(s) for s in self.model.strides)

    @property
    def anchors(self):
        return self.model.anchors


def _trained_imgsz(ckpt: Dict[str, Any]) -> Optional[Tuple[int, int]]:
    return as_hw(ckpt["imgsz"]) if ckpt.get("imgsz") is not None else None


def _read_checkpoint(path: Path) -> Dict[str, Any]:
    """A yolopose checkpoint, or an official YOLO-Pose one converted in memory."""
    from yolopose.training.checkpoint import load_checkpoint

    try:
        return load_checkpoint(path)
    except CheckpointError:
        from yolopose.training.official import convert_official, is_official_checkpoint

        if not is_official_checkpoint(path):
            raise
        return convert_official(path)


def load_source(weights: Union[PathLike, nn.Module], imgsz: Optional[Tuple[int, int]] = None) -> ModelSource:
    """Load ``weights``: a checkpoint path, a registered model name, or a ``YoloPoseModel``."""
    from yolopose.training.checkpoint import model_from_checkpoint
    from yolopose.training.models import YoloPoseModel, create_model, list_models

    if isinstance(weights, YoloPoseModel):
        return ModelSource(weights.eval(), weights.config.name, f"{weights.config.name} (in-memory model)")
    text = os.fspath(weights)
    path = Path(text)
    if path.is_file():
        ckpt = _read_checkpoint(path)
        try:
            if ckpt.get("qat"):
                from yolopose.training.qat import load_qat_graph, qat_float_model

                graph, config, ckpt = load_qat_graph(ckpt, imgsz=imgsz)
                model = qat_float_model(graph, config)
                return ModelSource(model, config.name, str(path), ckpt, graph, _trained_imgsz(ckpt))
            model, ckpt = model_from_checkpoint(ckpt)
        except CheckpointError as exc:  # name the file, not the in-memory dict
            raise CheckpointError(str(exc).replace("<checkpoint dict>", str(path))) from None
        return ModelSource(model.eval(), model.config.name, str(path), ckpt, None, _trained_imgsz(ckpt))
    if text in list_models():
        return ModelSource(create_model(text).eval(), text, f"{text} (fresh weights)")
    if path.suffix in (".pt", ".pth", ".ckpt") or os.sep in text:
        raise CheckpointError(f"{path}: checkpoint file not found")
    raise ConfigError(f"{text!r} is neither a checkpoint file nor a registered model; known models: {', '.join(list_models())}")
