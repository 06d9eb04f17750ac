"""Building blocks of the YOLOv5-style CSP-darknet: Conv-BN-act, C3, SPP, stems."""
from __future__ import annotations

from typing import Callable, Dict, Sequence

import torch
from torch import nn

__all__ = ["ACTIVATION_MODULES", "ConvBNAct", "DWConvBNAct", "Bottleneck", "C3", "SPP", "FocusStem", "ConvStem", "STEM_MODULES"]

#: config activation name -> module factory (inplace activations are fine here)
ACTIVATION_MODULES: Dict[str, Callable[[], nn.Module]] = {
    "silu": lambda: nn.SiLU(inplace=True),
    "relu": lambda: nn.ReLU(inplace=True),
}


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias, 'same' padding) -> BatchNorm2d -> activation."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, groups: int = 1, act: str = "silu") -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = ACTIVATION_MODULES[act]()


class DWConvBNAct(ConvBNAct):
    """Depthwise ``k x k`` ConvBNAct (``c1 == c2``, one group per channel)."""

    def __init__(self, c: int, k: int = 3, s: int = 1, act: str = "silu") -> None:
        super().__init__(c, c, k, s, groups=c, act=act)


class Bottleneck(nn.Module):
    """1x1 conv then 3x3 conv, with a residual connection when ``shortcut``."""

    def __init__(self, c: int, shortcut: bool = True, act: str = "silu") -> None:
        super().__init__()
        self.cv1 = ConvBNAct(c, c, 1, act=act)
        self.cv2 = ConvBNAct(c, c, 3, act=act)
        self.add = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    """CSP bottleneck with three convolutions: two half-width branches, ``n`` bottlenecks on one."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True, act: str = "silu") -> None:
        super().__init__()
        c_ = c2 // 2
        self.cv1 = ConvBNAct(c1, c_, 1, act=act)
        self.cv2 = ConvBNAct(c1, c_, 1, act=act)
        self.cv3 = ConvBNAct(2 * c_, c2, 1, act=act)
        self.m = nn.Sequential(*(Bottleneck(c_, shortcut, act=act) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), dim=1))


class SPP(nn.Module):
    """Spatial pyramid pooling: 1x1 conv, parallel max pools, concat, 1x1 conv."""

    def __init__(self, c1: int, c2: int, kernels: Sequence[int] = (3, 5, 7), act: str = "silu") -> None:
        super().__init__()
        c_ = c1 // 2
        self.cv1 = ConvBNAct(c1, c_, 1, act=act)
        self.cv2 = ConvBNAct(c_ * (len(kernels) + 1), c2, 1, act=act)
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        return self.cv2(torch.cat([x] + [pool(x) for pool in self.pools], dim=1))


class FocusStem(nn.Module):
    """Space-to-depth (every 2x2 pixel block into channels), then a 3x3 conv: stride 2."""

    def __init__(self, c1: int, c2: int, act: str = "silu") -> None:
        super().__init__()
        self.conv = ConvBNAct(4 * c1, c2, 3, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat((x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]), dim=1)
        return self.conv(x)


class ConvStem(nn.Module):
    """The int8-friendly stand-in for Focus: a stride-2 3x3 conv to ``4 * c1`` channels, then the
    same 3x3 conv as Focus (no strided slicing, which quantized runtimes handle poorly)."""

    def __init__(self, c1: int, c2: int, act: str = "silu") -> None:
        super().__init__()
        self.down = ConvBNAct(c1, 4 * c1, 3, 2, act=act)
        self.conv = ConvBNAct(4 * c1, c2, 3, act=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.down(x))


#: config stem name -> module class
STEM_MODULES: Dict[str, Callable[..., nn.Module]] = {"focus": FocusStem, "conv": ConvStem}
