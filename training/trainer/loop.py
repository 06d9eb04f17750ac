"""``train(cfg)``: the run from data to best.pt, a :class:`Trainer` composed of the small pieces of this package."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from yolopose.core.errors import ConfigError
from yolopose.core.fileio import atomic_write_text

from ..loss import LossHyp, PoseLoss
from ..validator import ValidationResult, Validator
from .run_state import load_resume_checkpoint, model_for_training, save_training_checkpoint
from .config import TrainConfig
from .distributed import DistContext, init_distributed, set_threads, shutdown
from .ema import ModelEMA
from .epoch import EpochParts, train_one_epoch
from .loaders import TrainData, build_train_data
from .optim import accumulate_steps, build_optimizer, warmup_iterations
from .precision import Precision, select_precision
from .history import ResultsLog, plot_results, read_results

__all__ = ["EpochEnd", "TrainResult", "Trainer", "train"]


@dataclass
class EpochEnd:
    """Handed to callbacks after each epoch (and its checkpoint); a callback returning ``True``
    stops the run cleanly after this epoch (e.g. early stopping)."""

    epoch: int
    losses: Dict[str, float]
    metrics: Optional[Dict[str, float]]
    model: nn.Module  # the training model (unwrapped)
    ema: ModelEMA
    ctx: DistContext
    out_dir: Path


Callback = Callable[[EpochEnd], Optional[bool]]


@dataclass
class TrainResult:
    """Where the run wrote its files and how it ended."""

    out_dir: Path
    last: Path
    best: Optional[Path]
    epochs_done: int
    metrics: Dict[str, float] = field(default_factory=dict)
    best_fitness: float = 0.0
    seconds: float = 0.0
    rank: int = 0  # of the process that returns it (only rank 0 wrote the files)


def _resolve_config(cfg: TrainConfig, resume: bool,
                    resume_epochs: Optional[int] = None) -> Tuple[TrainConfig, Optional[Dict[str, Any]]]:
    """On resume, the stored configuration wins (only device and workers may change, and the
    length of the schedule with ``resume_epochs``)."""
    if not resume:
        cfg.check_model_source()
        return cfg, None
    ckpt = load_resume_checkpoint(cfg.out)
    stored = TrainConfig.from_dict(ckpt["train_args"], source=str(Path(cfg.out) / "last.pt"))
    stored = stored.replace(device=cfg.device, workers=cfg.workers, out=cfg.out)
    done = int(ckpt["epoch"]) + 1
    if resume_epochs is not None:
        if resume_epochs <= done:
            raise ConfigError(f"{Path(cfg.out) / 'last.pt'}: {done} epochs are done; a new schedule length "
                              f"(--epochs {resume_epochs}) must be longer")
        stored = stored.replace(epochs=resume_epochs)
    elif done >= stored.epochs:
        raise ConfigError(f"{Path(cfg.out) / 'last.pt'}: training already finished ({stored.epochs} epochs); nothing to resume")
    return stored, ckpt


def train(cfg: TrainConfig, resume: bool = False, callbacks: Sequence[Callback] = (),
          resume_epochs: Optional[int] = None) -> TrainResult:
    """Train (or, with ``resume``, continue ``cfg.out/last.pt``) and return where results are.

    ``resume_epochs`` makes a resumed run's schedule that many epochs long instead of the stored
    length (to shorten or extend it; the cosine learning rate and ``close_mosaic`` follow the new
    length from the epoch where the run stopped).

    Run under ``torchrun`` for several processes. Writes ``last.pt``, ``best.pt``,
    ``results.csv``, ``results.png`` and ``config.json`` into ``cfg.out`` (rank 0 only).
    """
    start_time = time.perf_counter()
    ctx = init_distributed(cfg.device)
    try:
        return Trainer(cfg, ctx, resume=resume, resume_epochs=resume_epochs, callbacks=callbacks).run(start_time)
    finally:
        shutdown(ctx)


@dataclass
class _Progress:
    """What changes from epoch to epoch besides the weights."""

    start_epoch: int = 0
    best_fitness: float = -1.0
    last_metrics: Dict[str, float] = field(default_factory=dict)
    best_path: Optional[Path] = None


class Trainer:
    """One training run: built from its configuration (the network, fresh, pretrained or resumed;
    the data; loss, optimizer, EMA and scaler; on rank 0 the output folder, ``config.json``, the
    validator and the results log), then :meth:`run` epoch after epoch.

    ``resume=True`` continues ``cfg.out/last.pt`` with its stored configuration (only device and
    workers may change, and the schedule length with ``resume_epochs``).
    """

    def __init__(self, cfg: TrainConfig, ctx: DistContext, *, resume: bool = False,
                 resume_epochs: Optional[int] = None, callbacks: Sequence[Callback] = ()) -> None:
        self.cfg, ckpt = _resolve_config(cfg, resume, resume_epochs)
        self.ctx = ctx
        self.callbacks = tuple(callbacks)
        set_threads(ctx.world_size)
        self.out = Path(self.cfg.out)
        self.batch = _per_process_batch(self.cfg, ctx)
        torch.manual_seed(self.cfg.seed)
        self.data: TrainData = build_train_data(self.cfg, ctx, self.batch)
        self.net, self.precision = self._build_model(ckpt)
        self.parts, self.progress = self._build_optimization(ckpt)
        self.validator = self._prepare_output()
        results = self.out / "results.csv"
        self.log = ResultsLog(results, read_results(results) if ckpt is not None and results.is_file() else None)
        self.group_names = [g.get("name", str(i)) for i, g in enumerate(self.parts.optimizer.param_groups)]

    # ------------------------------------------------------------------ building
    def _build_model(self, ckpt: Optional[Dict[str, Any]]) -> Tuple[nn.Module, Precision]:
        """The network (fresh, pretrained or resumed) on the device, in the precision it trains in."""
        cfg, ctx = self.cfg, self.ctx
        net = model_for_training(cfg, self.data.num_keypoints, self.data.name) if ckpt is None else _model_from_resume(ckpt)
        net = net.to(ctx.device)
        precision = select_precision(ctx.device, cfg.amp)
        if precision.channels_last:
            net = net.to(memory_format=torch.channels_last)
        return net, precision

    def _build_optimization(self, ckpt: Optional[Dict[str, Any]]) -> Tuple[EpochParts, _Progress]:
        """Loss, optimizer, EMA and loss scaler (restored on resume), the DDP wrapper, and the
        :class:`EpochParts` one epoch needs."""
        cfg, ctx, net = self.cfg, self.ctx, self.net
        hyp = LossHyp.from_mapping(cfg.hyp).scaled(len(net.strides), net.num_classes, cfg.imgsz)
        criterion = PoseLoss(net, hyp)
        optimizer = build_optimizer(net, cfg, cfg.batch)
        ema = ModelEMA(net, cfg.ema_decay, cfg.ema_tau)
        scaler = torch.amp.GradScaler("cuda", enabled=self.precision.scale_loss)
        progress = _Progress()
        if ckpt is not None:
            optimizer.load_state_dict(ckpt["optimizer"])
            ema.load_state_dict(ckpt["ema"], ckpt["ema_updates"])
            if ckpt.get("scaler"):
                scaler.load_state_dict(ckpt["scaler"])
            progress.start_epoch = int(ckpt["epoch"]) + 1
            progress.best_fitness = float(ckpt.get("best_fitness", -1.0))
            progress.last_metrics = dict(ckpt.get("metrics") or {})
        model: nn.Module = net
        if ctx.distributed:
            model = DistributedDataParallel(net, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
        parts = EpochParts(
            cfg=cfg,
            ctx=ctx,
            model=model,
            criterion=criterion,
            optimizer=optimizer,
            scaler=scaler,
            precision=self.precision,
            ema=ema,
            loader=self.data.loader,
            generator=self.data.generator,
            batch=self.batch,
            accumulate=accumulate_steps(cfg, cfg.batch),
            warmup_iters=warmup_iterations(cfg, len(self.data.loader)),
        )
        return parts, progress

    def _prepare_output(self) -> Optional[Validator]:
        """On rank 0: the output folder, ``config.json``, and the validator (when there is val data)."""
        if not self.ctx.is_main:
            return None
        cfg, data = self.cfg, self.data
        self.out.mkdir(parents=True, exist_ok=True)
        run_info = {**cfg.to_dict(), "precision": self.precision.describe()}  # what was asked, and what it ran as
        atomic_write_text(self.out / "config.json", json.dumps(run_info, indent=2, sort_keys=True))
        if data.val_dataset is None:
            return None
        return Validator(data.val_dataset, data.collate, data.val_ground_truth, batch=self.batch,
                         workers=min(cfg.num_workers, 2), device=self.ctx.device, postprocess=cfg.postprocess)

    # ------------------------------------------------------------------ running
    def run(self, start_time: Optional[float] = None) -> TrainResult:
        """Train every remaining epoch (until a callback stops the run) and say where the results are."""
        start_time = time.perf_counter() if start_time is None else start_time
        self._announce()
        self.progress.best_path = self.out / "best.pt" if (self.out / "best.pt").is_file() else None
        return self._finish(self._run_epochs(), start_time)

    def _echo(self, text: str) -> None:
        if self.ctx.is_main:
            print(text, flush=True)

    def _announce(self) -> None:
        cfg, ctx, net, data, parts = self.cfg, self.ctx, self.net, self.data, self.parts
        self._echo(
            f"training {net.name} ({sum(p.numel() for p in net.parameters()) / 1e6:.2f} M params) on {data.name}: "
            f"{data.train_images} train images, {data.val_images} val images, imgsz {cfg.imgsz}, batch {cfg.batch} "
            f"({ctx.world_size} process{'es' if ctx.world_size > 1 else ''}, {ctx.device}, {self.precision.describe()}), "
            f"epochs {self.progress.start_epoch + 1}..{cfg.epochs}, "
            f"accumulate {parts.accumulate}, warmup {parts.warmup_iters} iterations -> {self.out}",
        )

    def _run_epochs(self) -> int:
        """Train, validate, log and checkpoint epoch after epoch; returns the last epoch run."""
        epoch = self.progress.start_epoch - 1
        for epoch in range(self.progress.start_epoch, self.cfg.epochs):
            t0 = time.perf_counter()
            losses = train_one_epoch(self.parts, epoch)
            lrs = {f"lr/{n}": g["lr"] for n, g in zip(self.group_names, self.parts.optimizer.param_groups)}
            metrics = self._end_of_epoch(epoch, losses, lrs, t0) if self.ctx.is_main else None
            report = EpochEnd(epoch, losses, metrics, self.net, self.parts.ema, self.ctx, self.out)
            stop = False
            for cb in self.callbacks:
                stop = bool(cb(report)) or stop
            self.ctx.barrier()
            if stop:
                self._echo(f"stopped by a callback after epoch {epoch + 1}")
                break
        return epoch

    def _end_of_epoch(self, epoch: int, losses: Dict[str, float], lrs: Dict[str, float], t0: float) -> Optional[Dict[str, float]]:
        """Rank 0 after an epoch: validation (every ``val_interval`` epochs and the last), the results
        row, ``last.pt`` / ``best.pt`` and the plot. Returns the metrics when it validated."""
        cfg, parts, progress = self.cfg, self.parts, self.progress
        metrics: Optional[Dict[str, float]] = None
        final = epoch == cfg.epochs - 1
        improved = False
        if self.validator is not None and ((epoch + 1) % cfg.val_interval == 0 or final):
            result: ValidationResult = self.validator(parts.ema.ema)
            metrics = progress.last_metrics = result.metrics
            self._echo(result.table())
            if result.fitness > progress.best_fitness:
                progress.best_fitness, improved = result.fitness, True
        row: Dict[str, Any] = {"epoch": epoch, **{f"train/{k}": v for k, v in losses.items()}, **lrs}
        row.update({f"val/{k}": v for k, v in (metrics or {}).items()})
        row["time_s"] = time.perf_counter() - t0
        self.log.add(row)
        self.log.write(self.group_names)
        fields = dict(model=parts.model, ema=parts.ema, optimizer=parts.optimizer, scaler=parts.scaler, cfg=cfg,
                      epoch=epoch, best_fitness=progress.best_fitness)
        save_training_checkpoint(self.out / "last.pt", metrics=progress.last_metrics, **fields)
        if improved:
            progress.best_path = save_training_checkpoint(self.out / "best.pt", metrics=progress.last_metrics, **fields)
        if cfg.plots and (metrics is not None or final):  # plotting is slow on a busy CPU
            plot_results(self.log.rows, self.out / "results.png", title=f"{self.net.name} on {self.data.name}")
        return metrics

    def _finish(self, epoch: int, start_time: float) -> TrainResult:
        seconds = time.perf_counter() - start_time
        progress = self.progress
        if self.ctx.is_main and progress.last_metrics:
            self._echo(f"done: {epoch + 1} epochs in {seconds / 60:.1f} min; results in {self.out}")
        return TrainResult(
            out_dir=self.out,
            last=self.out / "last.pt",
            best=progress.best_path,
            epochs_done=epoch + 1,
            metrics=dict(progress.last_metrics),
            best_fitness=progress.best_fitness,
            seconds=seconds,
            rank=self.ctx.rank,
        )


def _per_process_batch(cfg: TrainConfig, ctx: DistContext) -> int:
    if cfg.batch % ctx.world_size:
        raise ConfigError(f"--batch {cfg.batch} is not divisible by the {ctx.world_size} processes")
    return cfg.batch // ctx.world_size


def _model_from_resume(ckpt: Dict[str, Any]) -> nn.Module:
    from ..models import ModelConfig, create_model

    net = create_model(ModelConfig.from_dict(ckpt["config"], source="last.pt"))
    net.load_state_dict(ckpt["train_model"], strict=True)
    return net.train()
