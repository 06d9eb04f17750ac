"""A tiny YOLO-Pose network for export and QAT tests, with weights that give the heads real
dynamic range (fresh weights output near-constant keypoints, which would hide export errors)."""
from __future__ import annotations

import torch
from torch import nn

from yolopose.training.models import ModelConfig, create_model

_P5_ANCHORS = (
    ((10, 13), (16, 30), (33, 23)),
    ((30, 61), (62, 45), (59, 119)),
    ((116, 90), (156, 198), (373, 326)),
)


def tiny_config(activation: str = "silu") -> ModelConfig:
    """Three levels, one block per stage, one keypoint-head block: fast to convert."""
    return ModelConfig(
        name=f"tiny-test-pose-{activation}",
        depth_multiple=0.33,
        width_multiple=0.0625,
        anchors=_P5_ANCHORS,
        stages=((128, 1), (256, 1), (512, 1), (1024, 1)),
        neck_repeats=1,
        spp_kernels=(5,),
        activation=activation,
        stem="conv",
        kpt_head_blocks=1,
    )


def tiny_model(activation: str = "silu", seed: int = 0):
    """The tiny network in eval mode, BN statistics and head weights randomized."""
    torch.manual_seed(seed)
    model = create_model(tiny_config(activation)).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
        for conv in [*model.head.det, *model.head.kpt_xy, *model.head.kpt_conf]:
            conv.weight.mul_(8.0)
    return model
