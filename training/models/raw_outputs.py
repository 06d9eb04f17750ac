"""The module every exporter and the QAT graph trace: the model's raw head outputs, flattened per level into
``det``, ``kpt_xy``, ``kpt_conf`` tensors in NHWC (each its own tensor, so each gets its own int8
range), with an NCHW (ONNX, OpenVINO) or NHWC (TFLite) image input."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import torch
from torch import nn

from yolopose.core.metadata import OUTPUT_KINDS

__all__ = ["RawOutputs", "levels_from_flat", "INPUT_LAYOUTS"]

INPUT_LAYOUTS = ("NCHW", "NHWC")


class RawOutputs(nn.Module):
    """Wrap a YOLO-Pose network: ``forward(images) -> (p3_det, p3_kpt_xy, p3_kpt_conf, p4_det, ...)``.

    ``input_layout="NHWC"`` takes ``(B, H, W, 3)`` images (the TFLite convention: an ``HxWx3``
    image goes in without a transpose); ``"NCHW"`` takes ``(B, 3, H, W)``. Outputs are always
    NHWC ``(B, H/s, W/s, C)``. Pixel values are RGB / 255 either way.
    """

    def __init__(self, model: nn.Module, input_layout: str = "NCHW") -> None:
        super().__init__()
        if input_layout not in INPUT_LAYOUTS:
            raise ValueError(f"input_layout must be one of {INPUT_LAYOUTS}, got {input_layout!r}")
        self.model = model
        self.input_layout = input_layout

    def forward(self, images: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        if self.input_layout == "NHWC":
            images = images.permute(0, 3, 1, 2)
        levels = self.model(images)
        return tuple(t.permute(0, 2, 3, 1) for level in levels for t in level)


def levels_from_flat(outputs: Sequence[torch.Tensor], nchw: bool = True) -> List[Tuple[torch.Tensor, ...]]:
    """Inverse of the flattening: ``(det, kpt_xy, kpt_conf)`` per level, NCHW when ``nchw`` (the
    layout the loss and :func:`yolopose.training.models.to_nhwc_numpy` take)."""
    k = len(OUTPUT_KINDS)
    if len(outputs) % k:
        raise ValueError(f"{len(outputs)} outputs are not a multiple of {k}")
    flat = [t.permute(0, 3, 1, 2) if nchw else t for t in outputs]
    return [tuple(flat[i : i + k]) for i in range(0, len(flat), k)]
