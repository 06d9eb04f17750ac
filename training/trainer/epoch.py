"""One training epoch: warmup, mixed precision, gradient accumulation and clipping, EMA, progress."""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any, Callable, Dict

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from yolopose.core.errors import YoloPoseError

from .config import TrainConfig
from .distributed import DistContext, reduce_mean
from .ema import ModelEMA
from .loaders import augment_hyp
from .optim import apply_warmup, epoch_lr
from .precision import Precision

__all__ = ["EpochParts", "TrainingDiverged", "mosaic_off", "seed_epoch", "train_one_epoch"]


class TrainingDiverged(YoloPoseError, RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class EpochParts:
    """What an epoch works on (built once per run)."""

    cfg: TrainConfig
    ctx: DistContext
    model: nn.Module  # possibly DDP-wrapped
    criterion: Callable[[Any, torch.Tensor], Any]
    optimizer: torch.optim.Optimizer
    scaler: Any  # torch.amp.GradScaler (enabled for float16 only)
    precision: Precision
    ema: ModelEMA
    loader: DataLoader
    generator: torch.Generator  # the loader's: sampling order and worker seeds
    batch: int  # per process
    accumulate: int  # after warmup
    warmup_iters: int


def seed_epoch(parts: EpochParts, epoch: int) -> None:
    """Make ``epoch`` reproducible on its own (sampling, augmentation in the main process and in
    workers), so that a resumed run sees the same data as an uninterrupted one."""
    seed = parts.cfg.seed * 100_003 + epoch * 1_009 + parts.ctx.rank
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    parts.generator.manual_seed(seed)
    if isinstance(parts.loader.sampler, DistributedSampler):
        parts.loader.sampler.set_epoch(epoch)


def mosaic_off(cfg: TrainConfig, epoch: int) -> bool:
    """Whether ``epoch`` (0-based) is one of the last ``cfg.close_mosaic`` epochs, trained without
    mosaic so that the model ends on people at the scale and context it will see in validation."""
    return cfg.close_mosaic > 0 and epoch >= cfg.epochs - cfg.close_mosaic


def _set_mosaic(parts: EpochParts, epoch: int) -> None:
    """Give the training set the run's augmentation for ``epoch``: without mosaic in the last
    ``close_mosaic`` epochs (workers start afresh each epoch and pick the change up)."""
    dataset = parts.loader.dataset
    if not hasattr(dataset, "hyp"):
        return
    want = augment_hyp(parts.cfg.hyp)
    if mosaic_off(parts.cfg, epoch):
        want = dataclasses.replace(want, mosaic=0.0)
    if want != dataset.hyp:
        dataset.hyp = want
        if want.mosaic == 0.0 and parts.ctx.is_main:
            print(f"epoch {epoch + 1}: mosaic off for the last {parts.cfg.close_mosaic} epochs", flush=True)


def _step(parts: EpochParts) -> None:
    cfg = parts.cfg
    if cfg.grad_clip > 0:
        parts.scaler.unscale_(parts.optimizer)
        torch.nn.utils.clip_grad_norm_(parts.model.parameters(), max_norm=cfg.grad_clip)
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    parts.optimizer.zero_grad(set_to_none=True)
    parts.ema.update(parts.model)


def train_one_epoch(parts: EpochParts, epoch: int) -> Dict[str, float]:
    """Train ``epoch`` (0-based); returns the mean loss terms over all processes' batches."""
    from tqdm import tqdm

    cfg, ctx = parts.cfg, parts.ctx
    model = parts.model
    model.train()
    seed_epoch(parts, epoch)
    _set_mosaic(parts, epoch)
    epoch_lr(parts.optimizer, epoch, cfg)
    nb = len(parts.loader)
    precision = parts.precision
    # the loss names its terms (box, obj, cls, kpt, kpt_conf, ...); keep its order
    sums: Dict[str, float] = {t: 0.0 for t in getattr(parts.criterion, "TERMS", ())}
    seen = 0
    pending = 0
    parts.optimizer.zero_grad(set_to_none=True)
    bar = tqdm(
        enumerate(parts.loader),
        total=nb,
        disable=not ctx.is_main,
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        dynamic_ncols=True,
        mininterval=0.5,
    )
    for i, (images, targets, _infos) in bar:
        ni = i + nb * epoch
        accumulate = parts.accumulate
        if ni <= parts.warmup_iters:
            accumulate = apply_warmup(parts.optimizer, ni, parts.warmup_iters, epoch, cfg, parts.batch * ctx.world_size)
        x = images.to(ctx.device, non_blocking=True).float() / 255.0
        if precision.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        targets = targets.to(ctx.device)
        with torch.autocast(device_type=ctx.device.type, dtype=precision.dtype, enabled=precision.enabled):
            raw = model(x)
        loss, terms = parts.criterion(raw, targets)  # the loss works in float32
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"the loss became {float(loss)} in epoch {epoch + 1}, batch {i + 1} ({terms}); lower --lr0 or check the labels"
            )
        if ctx.distributed:
            # A batch without a matched person leaves the keypoint branch out of the graph; DDP
            # needs every parameter to get a gradient, so tie all outputs in with weight zero.
            loss = loss + 0.0 * sum(t.float().mean() for level in raw for t in level)
            loss = loss * ctx.world_size  # DDP averages gradients over processes
        parts.scaler.scale(loss).backward()
        pending += 1
        if pending >= accumulate or i == nb - 1:  # never carry gradients over an epoch boundary
            _step(parts)
            pending = 0
        for t, v in terms.items():
            sums[t] = sums.get(t, 0.0) + float(v)
        seen += 1
        if ctx.is_main:
            mean = {t: v / seen for t, v in sums.items()}
            bar.set_postfix_str(
                " ".join(f"{t}={v:.4f}" for t, v in mean.items())
                + f" n={int(targets.shape[0])} lr={parts.optimizer.param_groups[0]['lr']:.4g}",
                refresh=False,
            )
    bar.close()
    means = {t: v / max(seen, 1) for t, v in sums.items()}
    return reduce_mean(means, ctx, weight=seen)
