"""Exponential moving average of model weights, with YOLOv5's decay ramp."""
from __future__ import annotations

import copy
import math
from typing import Any, Dict, Mapping

import torch
from torch import nn

__all__ = ["ModelEMA", "unwrap"]


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` / ``DataParallel`` wrapper."""
    return model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) else model


class ModelEMA:
    """``ema = decay_t * ema + (1 - decay_t) * model`` after every optimizer step, where
    ``decay_t = decay * (1 - exp(-updates / tau))`` ramps up from 0 so early weights fade fast.

    Floating-point parameters and buffers are averaged; integer buffers are copied.
    """

    def __init__(self, model: nn.Module, decay: float = 0.9999, tau: float = 2000.0, updates: int = 0) -> None:
        self.ema = copy.deepcopy(unwrap(model)).eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.decay = float(decay)
        self.tau = float(tau)
        self.updates = int(updates)

    def decay_at(self, updates: int) -> float:
        """The decay used for update number ``updates``."""
        return self.decay * (1.0 - math.exp(-updates / self.tau))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Fold the current weights of ``model`` into the average."""
        self.updates += 1
        d = self.decay_at(self.updates)
        current = unwrap(model).state_dict()
        for name, value in self.ema.state_dict().items():
            src = current[name].detach()
            if value.dtype.is_floating_point:
                value.mul_(d).add_(src.to(value.dtype), alpha=1.0 - d)
            else:
                value.copy_(src)

    def state_dict(self) -> Dict[str, torch.Tensor]:
        """The averaged weights (a model state dict)."""
        return self.ema.state_dict()

    def load_state_dict(self, state: Mapping[str, Any], updates: int) -> None:
        """Restore averaged weights and the update count (for ``--resume``)."""
        self.ema.load_state_dict(state, strict=True)
        self.updates = int(updates)
