"""Turn a trained network into the float graph that int8 arithmetic sees: batch norm folded into
the convolutions, and SiLU written as ``x * sigmoid(x)`` so that the quantizer gives the sigmoid
and the multiply int8 kernels (``aten.silu`` has no int8 kernel and falls back to float)."""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["ExplicitSiLU", "int8_ready"]


class ExplicitSiLU(nn.Module):
    """``x * sigmoid(x)``: the same function as :class:`torch.nn.SiLU`, as two quantizable ops."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


def _rewrite(module: nn.Module) -> None:
    for name, child in module.named_children():
        conv, bn = getattr(child, "conv", None), getattr(child, "bn", None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            child.conv = fuse_conv_bn_eval(conv, bn)
            child.bn = nn.Identity()
        if isinstance(child, nn.SiLU):
            setattr(module, name, ExplicitSiLU())
        else:
            _rewrite(child)


def int8_ready(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode with every ``conv -> bn`` pair folded into one conv (with
    bias) and every SiLU made explicit. Outputs equal the original's up to float rounding."""
    folded = copy.deepcopy(model).eval()
    with torch.no_grad():
        _rewrite(folded)
    return folded
