"""Quantization-aware fine-tuning: the trainer's loss and data, through the fake-quantized graph.

The graph (:mod:`.graph`) is the one the int8 TFLite is converted from, so the network learns
under the exact rounding and clamping of deployment: per-channel symmetric int8 weights, per-tensor
int8 activations (ranges follow a moving average, frozen for the last part of the run), the
sigmoid on its fixed 1/256 grid, and the input on the 1/255 grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import torch
from torch import nn
from torchao.quantization.pt2e import disable_observer

from ..models.raw_outputs import levels_from_flat

from ..loss import LossHyp, PoseLoss
from .graph import QuantGraph, set_training

__all__ = ["QATSettings", "qat_finetune"]

Batch = Tuple[torch.Tensor, torch.Tensor, object]


@dataclass
class QATSettings:
    """Fine-tuning schedule. QAT starts from trained weights, so the learning rate is small."""

    epochs: int = 10
    lr: float = 1e-4
    final_lr_factor: float = 0.1  # cosine to lr * this
    momentum: float = 0.937
    weight_decay: float = 5e-4
    grad_clip: float = 10.0
    freeze_observers_at: float = 0.75  # fraction of the run after which activation ranges stay fixed
    max_steps_per_epoch: Optional[int] = None  # for smoke runs
    hyp: Optional[LossHyp] = None
    extra: Dict[str, float] = field(default_factory=dict)


def _optimizer(module: nn.Module, s: QATSettings) -> torch.optim.SGD:
    decay: List[nn.Parameter] = []
    no_decay: List[nn.Parameter] = []
    for p in module.parameters():
        if p.requires_grad:
            (decay if p.ndim > 1 else no_decay).append(p)
    return torch.optim.SGD(
        [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=s.lr,
        momentum=s.momentum,
        nesterov=True,
    )


def qat_finetune(
    graph: QuantGraph,
    model: nn.Module,
    loader: Iterable[Batch],
    settings: QATSettings,
    on_step: Optional[Callable[[int, int, Dict[str, float]], None]] = None,
) -> Dict[str, float]:
    """Fine-tune ``graph`` (built with ``qat=True``) on ``loader`` batches ``(images uint8
    (B,3,H,W), targets, info)`` as made by ``yolopose.training.data.collate``. ``model`` is the
    float network (its strides/anchors configure the loss). Returns the last epoch's mean loss
    terms. ``on_step(epoch, step, terms)`` is called after every optimizer step."""
    if not graph.qat:
        raise ValueError("qat_finetune needs a graph built with qat=True")
    criterion = PoseLoss(model, settings.hyp)
    optimizer = _optimizer(graph.module, settings)
    try:
        steps_per_epoch = len(loader)  # type: ignore[arg-type]
    except TypeError:
        steps_per_epoch = settings.max_steps_per_epoch or 1
    if settings.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, settings.max_steps_per_epoch)
    total = max(1, settings.epochs * steps_per_epoch)
    freeze_at = int(settings.freeze_observers_at * total)
    step = 0
    means: Dict[str, float] = {}
    for epoch in range(settings.epochs):
        set_training(graph, True)
        sums: Dict[str, float] = {}
        count = 0
        for i, (images, targets, _info) in enumerate(loader):
            if settings.max_steps_per_epoch and i >= settings.max_steps_per_epoch:
                break
            if step == freeze_at:
                graph.module.apply(disable_observer)
            lr = settings.lr * (settings.final_lr_factor + (1 - settings.final_lr_factor) * 0.5 * (1 + math.cos(math.pi * step / total)))
            for group in optimizer.param_groups:
                group["lr"] = lr
            x = images.float().div_(255.0).permute(0, 2, 3, 1).contiguous()
            raw = levels_from_flat(graph.module(x))
            loss, terms = criterion(raw, targets)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"QAT loss became {loss.item()} at epoch {epoch}, step {i}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.grad_clip > 0:
                nn.utils.clip_grad_norm_(graph.module.parameters(), settings.grad_clip)
            optimizer.step()
            step += 1
            count += 1
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            if on_step is not None:
                on_step(epoch, i, terms)
        means = {k: v / max(count, 1) for k, v in sums.items()}
    set_training(graph, False)
    return means
