"""Model size figures: parameters and multiply-accumulates (MACs) of conv and linear layers."""
from __future__ import annotations

from typing import List, Sequence, Union

import torch
from torch import nn

from .network import YoloPoseModel, check_imgsz

__all__ = ["count_params", "count_macs"]


def count_params(model: nn.Module) -> int:
    """All parameters, batch-norm weights included (the convention of the paper's table)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: YoloPoseModel, imgsz: Union[int, Sequence[int]] = 640) -> int:
    """Multiply-accumulates of one forward pass at batch 1, counting ``Conv2d`` and ``Linear``
    layers only, with batch norm folded: every conv then carries a bias, counted as one
    accumulate per output value (the convention behind the paper's GMACs); activations,
    pooling, upsampling and concatenation cost nothing."""
    h, w = check_imgsz(imgsz, model.max_stride)
    total: List[int] = [0]

    def conv_hook(m: nn.Conv2d, _inp, out: torch.Tensor) -> None:
        k = m.kernel_size[0] * m.kernel_size[1]
        total[0] += out.numel() // out.shape[0] * ((m.in_channels // m.groups) * k + 1)

    def linear_hook(m: nn.Linear, _inp, out: torch.Tensor) -> None:
        total[0] += out.numel() // out.shape[0] * (m.in_features + (m.bias is not None))

    hooks = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        model.eval()
        param = next(model.parameters())
        with torch.no_grad():
            model(torch.zeros(1, 3, h, w, dtype=param.dtype, device=param.device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return total[0]
