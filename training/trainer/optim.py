"""The optimizer (nesterov SGD, or AdamW) with YOLOv5's three parameter groups, the cosine
schedule and the warmup.

Groups: ``bias`` (no weight decay; warms up *down* from ``warmup_bias_lr``), ``weight`` (conv and
linear weights, weight decay) and ``norm`` (normalisation weights, no weight decay). The learning
rate is a pure function of (epoch, iteration), so a resumed run sees the same schedule.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, List

import numpy as np
import torch
from torch import nn

from .config import TrainConfig

__all__ = ["OPTIMIZERS", "build_optimizer", "cosine_factor", "epoch_lr", "apply_warmup", "warmup_iterations", "accumulate_steps"]

_NORM_TYPES = tuple(v for k, v in vars(nn).items() if "Norm" in k and isinstance(v, type))

#: ``--optimizer`` name -> factory of (param groups, config). ``momentum`` is SGD's momentum or
#: Adam's beta1. AdamW (lr0 ~0.001) converges faster on short CPU runs from scratch; SGD is the
#: paper's choice for long runs.
OPTIMIZERS: Dict[str, Callable[[List[dict], TrainConfig], torch.optim.Optimizer]] = {
    "sgd": lambda groups, cfg: torch.optim.SGD(groups, lr=cfg.lr0, momentum=cfg.momentum, nesterov=True),
    "adamw": lambda groups, cfg: torch.optim.AdamW(groups, lr=cfg.lr0, betas=(cfg.momentum, 0.999)),
}


def build_optimizer(model: nn.Module, cfg: TrainConfig, batch: int) -> torch.optim.Optimizer:
    """``cfg.optimizer`` (nesterov SGD or AdamW) over the ``bias``, ``weight`` and ``norm`` groups.

    Weight decay is scaled by ``batch * accumulate / nbs`` as in YOLOv5 (``batch`` is the total
    batch over all processes).
    """
    groups: Dict[str, List[nn.Parameter]] = {"bias": [], "weight": [], "norm": []}
    seen = set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if id(p) in seen or not p.requires_grad:
                continue
            seen.add(id(p))
            if name == "bias":
                groups["bias"].append(p)
            elif isinstance(module, _NORM_TYPES):
                groups["norm"].append(p)
            else:
                groups["weight"].append(p)
    decay = cfg.weight_decay * batch * accumulate_steps(cfg, batch) / cfg.nbs
    param_groups = [
        {"params": groups["bias"], "name": "bias", "weight_decay": 0.0},
        {"params": groups["weight"], "name": "weight", "weight_decay": decay},
        {"params": groups["norm"], "name": "norm", "weight_decay": 0.0},
    ]
    param_groups = [g for g in param_groups if g["params"]]
    opt = OPTIMIZERS[cfg.optimizer](param_groups, cfg)
    for g in opt.param_groups:
        g["initial_lr"] = cfg.lr0
        # Biases (conv and norm) start high and warm *down*, with AdamW too: they settle the
        # objectness and box priors in the first few hundred steps. Warming them up from 0 under
        # AdamW left box AP at 0.003 after 2 epochs instead of 0.037 (benchmarks/train_synthetic.py).
        g["warmup_start"] = cfg.warmup_bias_lr if g["name"] == "bias" else 0.0
    return opt


def accumulate_steps(cfg: TrainConfig, batch: int) -> int:
    """Batches whose gradients are summed before one optimizer step (after warmup)."""
    return max(round(cfg.nbs / batch), 1)


def cosine_factor(epoch: float, cfg: TrainConfig) -> float:
    """Learning-rate factor: 1 at epoch 0, falling along a cosine to ``lrf`` at ``epochs``."""
    return ((1 - math.cos(epoch * math.pi / cfg.epochs)) / 2) * (cfg.lrf - 1) + 1


def epoch_lr(optimizer: torch.optim.Optimizer, epoch: int, cfg: TrainConfig) -> None:
    """Set every group's learning rate for ``epoch`` (outside warmup)."""
    f = cosine_factor(epoch, cfg)
    for g in optimizer.param_groups:
        g["lr"] = g["initial_lr"] * f


def warmup_iterations(cfg: TrainConfig, batches_per_epoch: int) -> int:
    """Warmup length: ``warmup_epochs`` epochs, at least ``warmup_min_iters`` iterations."""
    if cfg.warmup_epochs <= 0:
        return 0
    return max(round(cfg.warmup_epochs * batches_per_epoch), cfg.warmup_min_iters)


def apply_warmup(optimizer: torch.optim.Optimizer, iteration: int, warmup_iters: int, epoch: int, cfg: TrainConfig, batch: int) -> int:
    """Warm up learning rates, momentum (Adam: beta1) and accumulation at global ``iteration``;
    returns the number of batches to accumulate now. Biases start at ``warmup_bias_lr``,
    everything else at 0."""
    xi = [0, warmup_iters]
    accumulate = max(1, int(np.interp(iteration, xi, [1, cfg.nbs / batch]).round()))
    target = cosine_factor(epoch, cfg)
    for g in optimizer.param_groups:
        g["lr"] = float(np.interp(iteration, xi, [g.get("warmup_start", 0.0), g["initial_lr"] * target]))
        momentum = float(np.interp(iteration, xi, [cfg.warmup_momentum, cfg.momentum]))
        if "betas" in g:
            g["betas"] = (momentum, g["betas"][1])
        else:
            g["momentum"] = momentum
    return accumulate
