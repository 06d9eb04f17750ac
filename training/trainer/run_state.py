"""What a training checkpoint holds beyond the model, and how a run is restored from it.

Fields written (docs/architecture.md, plus the trainer's own): ``model`` = the EMA weights (what
inference uses), ``ema`` = the same EMA state, ``ema_updates``, ``train_model`` = the raw
training weights, ``optimizer``, ``scaler`` (AMP), ``epoch`` (last finished, 0-based),
``best_fitness``, ``train_args`` (the :class:`TrainConfig`), ``metrics`` (last validation),
``imgsz``, ``qat=False``. Together they make ``--resume`` continue exactly.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

import torch

from yolopose.core.errors import CheckpointError, ConfigError

from ..checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from ..models import ModelConfig, YoloPoseModel, create_model
from .config import TrainConfig
from .ema import ModelEMA, unwrap

__all__ = ["save_training_checkpoint", "load_resume_checkpoint", "model_for_training"]


def save_training_checkpoint(
    path: Union[str, Path],
    *,
    model: torch.nn.Module,
    ema: ModelEMA,
    optimizer: torch.optim.Optimizer,
    scaler: Any,
    cfg: TrainConfig,
    epoch: int,
    best_fitness: float,
    metrics: Optional[Mapping[str, float]],
) -> Path:
    """Write everything needed to use the model and to resume training, atomically."""
    net = unwrap(model)
    ema_state = ema.state_dict()
    return save_checkpoint(
        path,
        model=ema_state,
        config=net.config,
        ema=ema_state,
        ema_updates=ema.updates,
        train_model=net.state_dict(),
        optimizer=optimizer.state_dict(),
        scaler=scaler.state_dict(),
        imgsz=int(cfg.imgsz),
        epoch=int(epoch),
        best_fitness=float(best_fitness),
        train_args=cfg.to_dict(),
        metrics=dict(metrics or {}),
        qat=False,
    )


def load_resume_checkpoint(out_dir: Union[str, Path]) -> Dict[str, Any]:
    """The ``last.pt`` of a run folder, checked to hold a resumable state."""
    path = Path(out_dir) / "last.pt"
    if not path.is_file():
        raise CheckpointError(f"{path}: nothing to resume (no last.pt in {Path(out_dir)})")
    ckpt = load_checkpoint(path)
    for key in ("train_model", "optimizer", "ema", "train_args"):
        if not ckpt.get(key):
            raise CheckpointError(f"{path}: lacks {key!r}; it was not written by yolopose-train train and cannot be resumed")
    return ckpt


def model_for_training(cfg: TrainConfig, num_keypoints: int, data_name: str) -> YoloPoseModel:
    """A fresh model (``cfg.model``) or one fine-tuned from ``cfg.weights``.

    Fine-tuning starts from the checkpoint's ``model`` (EMA) weights and refuses a checkpoint
    made for another number of keypoints, or of another architecture than ``cfg.model``.
    """
    if not cfg.weights:
        return create_model(cfg.model, num_keypoints=num_keypoints)  # type: ignore[arg-type]
    ckpt = load_checkpoint(cfg.weights)
    try:
        config = ModelConfig.from_dict(ckpt["config"], source=str(cfg.weights))
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from None
    if config.num_keypoints != num_keypoints:
        raise ConfigError(
            f"--weights {cfg.weights}: the checkpoint's model has {config.num_keypoints} keypoints but the dataset "
            f"{data_name} has {num_keypoints}; fine-tuning needs the same keypoints (train from --model instead)"
        )
    if cfg.model and cfg.model != config.name:
        raise ConfigError(
            f"--weights {cfg.weights} holds a {config.name!r} model but --model is {cfg.model!r}; drop --model or make them agree"
        )
    model, _ = model_from_checkpoint(ckpt, num_keypoints=num_keypoints)
    return model
