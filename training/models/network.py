"""The YOLO-Pose network: CSP-darknet backbone, PANet neck and the pose head, built from a
:class:`~yolopose.training.models.config.ModelConfig`.

``model(x)`` returns, per output level, ``(det, kpt_xy, kpt_conf)`` NCHW tensors (raw logits /
offsets, channels anchor-major) in training, validation and export alike; decoding lives in
:mod:`yolopose.core.ops.decode` (see :func:`yolopose.training.models.predict_candidates`).
"""
from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple, Union

import torch
from torch import nn

from yolopose.core.errors import ConfigError

from ._layers import C3, SPP, STEM_MODULES, ConvBNAct, DWConvBNAct
from .config import ModelConfig

__all__ = [
    "YoloPoseModel",
    "PoseHead",
    "TwoSourceConv",
    "LevelOutput",
    "check_imgsz",
    "official_channel_sources",
    "official_channel_split",
]

LevelOutput = Tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def check_imgsz(imgsz: Union[int, Sequence[int]], max_stride: int, name: str = "imgsz") -> Tuple[int, int]:
    """Return ``(h, w)``; :class:`ConfigError` unless both are positive multiples of ``max_stride``."""
    hw = (int(imgsz), int(imgsz)) if isinstance(imgsz, (int, float)) else tuple(int(v) for v in imgsz)
    if len(hw) != 2 or any(v <= 0 or v % max_stride for v in hw):
        raise ConfigError(
            f"{name} {imgsz!r} does not work with this model: height and width must be positive "
            f"multiples of its largest stride {max_stride} (e.g. {max_stride * max(1, round(max(hw) / max_stride))})"
        )
    return hw  # type: ignore[return-value]


class Backbone(nn.Module):
    """Stem, then per stage a stride-2 conv and a C3 block (SPP before the last C3).

    Returns the outputs of the stages at strides 8, 16, ... (one per output level).
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        act = cfg.activation
        c_prev = cfg.channels(cfg.stem_channels)
        self.stem = STEM_MODULES[cfg.stem](3, c_prev, act=act)
        stages = []
        last = len(cfg.stages) - 1
        for i, (c, n) in enumerate(cfg.stages):
            c = cfg.channels(c)
            layers: List[nn.Module] = [ConvBNAct(c_prev, c, 3, 2, act=act)]
            if i == last:
                layers.append(SPP(c, c, cfg.spp_kernels, act=cfg.spp_activation or act))
            layers.append(C3(c, c, cfg.repeats(n), shortcut=i != last, act=act))
            stages.append(nn.Sequential(*layers))
            c_prev = c
        self.stages = nn.ModuleList(stages)
        self.out_channels = [cfg.channels(c) for c, _ in cfg.stages[1:]]

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i > 0:
                outs.append(x)
        return outs


class PANet(nn.Module):
    """Top-down path (1x1 lateral conv, upsample, concat, C3) then bottom-up path (stride-2 conv,
    concat with the lateral, C3), as in YOLOv5. Output channels equal the backbone's per level."""

    def __init__(self, cfg: ModelConfig, channels: Sequence[int]) -> None:
        super().__init__()
        act, n = cfg.activation, cfg.repeats(cfg.neck_repeats)
        levels = len(channels)
        self.lateral = nn.ModuleList()  # lateral[i]: on the path into level i (from level i + 1)
        self.top_down = nn.ModuleList()
        c_prev = channels[-1]
        for i in range(levels - 2, -1, -1):
            self.lateral.insert(0, ConvBNAct(c_prev, channels[i], 1, act=act))
            self.top_down.insert(0, C3(2 * channels[i], channels[i], n, shortcut=False, act=act))
            c_prev = channels[i]
        self.down = nn.ModuleList(ConvBNAct(channels[i], channels[i], 3, 2, act=act) for i in range(levels - 1))
        self.bottom_up = nn.ModuleList(
            C3(2 * channels[i], channels[i + 1], n, shortcut=False, act=act) for i in range(levels - 1)
        )
        self.upsample = nn.Upsample(scale_factor=2.0, mode="nearest")

    def output_layers(self) -> List[str]:
        """The names (relative to the neck) of the layers that compute its outputs, one per level:
        the last conv of the C3 block each level's output comes from (see :meth:`forward`)."""
        return ["top_down.0.cv3"] + [f"bottom_up.{i}.cv3" for i in range(len(self.bottom_up))]

    def forward(self, feats: List[torch.Tensor]) -> List[torch.Tensor]:
        levels = len(feats)
        x = feats[-1]
        laterals: List[torch.Tensor] = [x] * (levels - 1)
        for i in range(levels - 2, -1, -1):
            lat = self.lateral[i](x)
            laterals[i] = lat
            x = self.top_down[i](torch.cat((self.upsample(lat), feats[i]), dim=1))
        outs = [x]
        for i in range(levels - 1):
            x = self.bottom_up[i](torch.cat((self.down[i](x), laterals[i]), dim=1))
            outs.append(x)
        return outs


class PoseHead(nn.Module):
    """Per level: a 1x1 conv for box/obj/cls, and a keypoint branch of depthwise-separable blocks
    (DW 3x3 + 1x1, ``kpt_head_blocks`` times) then a DW 3x3 conv and two 1x1 convs: keypoint
    x, y (``na * 2K``) and keypoint confidence (``na * K``). Split this way, each exported tensor
    gets its own int8 range; the parameter count equals the official single ``na * 3K`` conv.

    With ``kpt_head_convs > 0`` the branch is that many full 3x3 ConvBNAct layers of
    ``channels(kpt_head_width)`` channels instead (the ``-dense`` models).
    With ``kpt_head_depthwise=False`` (and no dense convs) the keypoint branch is empty (the 1x1 keypoint convs read the
    level feature). With ``head_layout="official"`` each output is a :class:`TwoSourceConv`
    (see there); the outputs are the same three tensors per level in both layouts."""

    def __init__(self, cfg: ModelConfig, channels: Sequence[int]) -> None:
        super().__init__()
        na, k, nc = cfg.num_anchors, cfg.num_keypoints, cfg.num_classes
        act = cfg.kpt_head_activation or cfg.activation
        self.layout = cfg.head_layout
        branches, kpt_channels = [], []
        width = cfg.channels(cfg.kpt_head_width)
        for c in channels:
            layers: List[nn.Module] = []
            if cfg.kpt_head_convs:
                for i in range(cfg.kpt_head_convs):
                    layers.append(ConvBNAct(c if i == 0 else width, width, 3, act=act))
            elif cfg.kpt_head_depthwise:
                for _ in range(cfg.kpt_head_blocks):
                    layers += [DWConvBNAct(c, 3, act=act), ConvBNAct(c, c, 1, act=act)]
                layers.append(DWConvBNAct(c, 3, act=act))
            branches.append(nn.Sequential(*layers))
            kpt_channels.append(width if cfg.kpt_head_convs else c)
        self.kpt = nn.ModuleList(branches)
        if self.layout == "official":
            split = official_channel_split(na, nc, k)
            self.det = nn.ModuleList(TwoSourceConv(c, *split["det"]) for c in channels)
            self.kpt_xy = nn.ModuleList(TwoSourceConv(c, *split["kpt_xy"]) for c in channels)
            self.kpt_conf = nn.ModuleList(TwoSourceConv(c, *split["kpt_conf"]) for c in channels)
        else:
            self.det = nn.ModuleList(nn.Conv2d(c, na * (5 + nc), 1) for c in channels)
            self.kpt_xy = nn.ModuleList(nn.Conv2d(c, na * 2 * k, 1) for c in kpt_channels)
            self.kpt_conf = nn.ModuleList(nn.Conv2d(c, na * k, 1) for c in kpt_channels)

    def forward(self, feats: List[torch.Tensor]) -> List[LevelOutput]:
        outs = []
        for x, det, kpt, kpt_xy, kpt_conf in zip(feats, self.det, self.kpt, self.kpt_xy, self.kpt_conf):
            y = kpt(x)
            if self.layout == "official":
                outs.append((det(x, y), kpt_xy(x, y), kpt_conf(x, y)))
            else:
                outs.append((det(x), kpt_xy(y), kpt_conf(y)))
        return outs

    def det_bias(self, level: int) -> torch.Tensor:
        """The bias of level ``level``'s ``det`` output (a copy in the official layout)."""
        det = self.det[level]
        return det.full_bias() if isinstance(det, TwoSourceConv) else det.bias.detach().clone()

    def set_det_bias(self, level: int, bias: torch.Tensor) -> None:
        """Write the whole ``det`` output bias of level ``level``."""
        det = self.det[level]
        with torch.no_grad():
            if isinstance(det, TwoSourceConv):
                det.set_full_bias(bias)
            else:
                det.bias.copy_(bias)


def official_channel_split(na: int, nc: int, k: int) -> Dict[str, Tuple[int, int]]:
    """How many channels of each output come from the level feature and from the keypoint branch
    in the authors' layout.

    Their head concatenates a conv on the level feature (``na * (5 + nc)`` channels) and the
    keypoint branch's last conv (``na * 3K``), then reads channel ``c`` as anchor ``c // no``,
    field ``c % no`` (``no = 5 + nc + 3K``, keypoints as x, y, conf triplets). Channel ``c`` comes
    from the level feature when ``c < na * (5 + nc)``: a prefix. Each of our outputs lists its
    channels in increasing ``c``, so it is a prefix from the level feature followed by the rest
    from the keypoint branch. Returns ``{output: (from_feature, from_branch)}``.
    """
    split = {}
    for name, channels in official_channel_sources(na, nc, k).items():
        n_feature = sum(1 for c in channels if c < na * (5 + nc))
        split[name] = (n_feature, len(channels) - n_feature)
    return split


def official_channel_sources(na: int, nc: int, k: int) -> Dict[str, List[int]]:
    """For each of our outputs (``det``, ``kpt_xy``, ``kpt_conf``, channels anchor-major), the
    channel of the authors' concatenated head output it holds (see :func:`official_channel_split`)."""
    no = 5 + nc + 3 * k
    return {
        "det": [a * no + j for a in range(na) for j in range(5 + nc)],
        "kpt_xy": [a * no + 5 + nc + 3 * i + d for a in range(na) for i in range(k) for d in range(2)],
        "kpt_conf": [a * no + 5 + nc + 3 * i + 2 for a in range(na) for i in range(k)],
    }


class TwoSourceConv(nn.Module):
    """1x1 convs on two inputs, concatenated on channels: ``from_feature`` on the level feature
    (``n_feature`` channels) then ``from_branch`` on the keypoint branch (``n_branch``). A side
    with no channels has no conv (``None``). Used by the official head layout."""

    def __init__(self, c: int, n_feature: int, n_branch: int) -> None:
        super().__init__()
        self.from_feature = nn.Conv2d(c, n_feature, 1) if n_feature else None
        self.from_branch = nn.Conv2d(c, n_branch, 1) if n_branch else None

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.from_feature is None:
            return self.from_branch(y)
        if self.from_branch is None:
            return self.from_feature(x)
        return torch.cat((self.from_feature(x), self.from_branch(y)), dim=1)

    def _parts(self) -> List[nn.Conv2d]:
        return [conv for conv in (self.from_feature, self.from_branch) if conv is not None]

    def full_bias(self) -> torch.Tensor:
        """The concatenated bias (a copy)."""
        return torch.cat([conv.bias.detach() for conv in self._parts()])

    def set_full_bias(self, bias: torch.Tensor) -> None:
        """Write the concatenated bias."""
        start = 0
        with torch.no_grad():
            for conv in self._parts():
                n = conv.out_channels
                conv.bias.copy_(bias[start : start + n])
                start += n


class YoloPoseModel(nn.Module):
    """A YOLO-Pose network. Input ``(B, 3, H, W)`` RGB in [0, 1], ``H`` and ``W`` multiples of
    :attr:`max_stride`. Output: per level ``(det, kpt_xy, kpt_conf)`` (see module docstring)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.strides: Tuple[int, ...] = config.strides
        self.anchors: Tuple[Tuple[Tuple[float, float], ...], ...] = config.anchors
        self.num_keypoints = config.num_keypoints
        self.num_classes = config.num_classes
        self.num_anchors = config.num_anchors
        self.backbone = Backbone(config)
        channels = self.backbone.out_channels
        self.neck = PANet(config, channels)
        self.head = PoseHead(config, channels)
        self._initialize_biases()

    @property
    def name(self) -> str:
        """The registry name of the configuration."""
        return self.config.name

    @property
    def max_stride(self) -> int:
        """Largest output stride; input sizes must be multiples of it."""
        return self.strides[-1]

    def head_and_its_inputs(self) -> Tuple[str, ...]:
        """Module names of the pose head and of the neck layers computing its input features: what
        the ``mixed`` int8 recipe keeps in float (:mod:`yolopose.training.int8_recipes`)."""
        return ("head", *(f"neck.{name}" for name in self.neck.output_layers()))

    def _initialize_biases(self) -> None:
        """YOLOv5 priors: objectness ~ 8 objects per 640x640 image, class ~ 0.6 / num_classes."""
        na, no = self.num_anchors, 5 + self.num_classes
        for level, stride in enumerate(self.strides):
            b = self.head.det_bias(level).view(na, no)
            b[:, 4] += math.log(8 / (640 / stride) ** 2)
            b[:, 5:] += math.log(0.6 / (self.num_classes - 0.99))
            self.head.set_det_bias(level, b.view(-1))

    def check_input(self, x: torch.Tensor) -> None:
        """:class:`ConfigError` unless ``x`` is ``(B, 3, H, W)`` with sizes multiple of the max stride."""
        if x.dim() != 4 or x.shape[1] != 3:
            raise ConfigError(f"model {self.name!r} expects input (B, 3, H, W), got {tuple(x.shape)}")
        check_imgsz((int(x.shape[2]), int(x.shape[3])), self.max_stride, name="input size (H, W)")

    def forward(self, x: torch.Tensor) -> List[LevelOutput]:
        if not (torch.jit.is_tracing() or torch.compiler.is_compiling()):
            self.check_input(x)
        return self.head(self.neck(self.backbone(x)))
