"""The training configuration: one dataclass instead of argument sprawl.

Every field has the paper's / YOLOv5's default. The whole configuration is
stored in each checkpoint (``train_args``) so that ``--resume`` continues with exactly the same
settings.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

from yolopose.core.errors import ConfigError

__all__ = ["TrainConfig", "default_workers"]


def default_workers() -> int:
    """Data-loader worker processes: ``min(4, cpus)``."""
    return min(4, os.cpu_count() or 1)


@dataclass
class TrainConfig:
    """Everything a training run needs; see ``yolopose-train train --help`` for the CLI names."""

    data: str
    model: Optional[str] = None  # registry name; None: the architecture of ``weights``
    weights: Optional[str] = None  # checkpoint to fine-tune from
    imgsz: int = 640
    epochs: int = 100
    batch: int = 16  # total over all processes
    device: str = ""  # "" (auto), "cpu", "cuda", "cuda:1", "0"
    workers: Optional[int] = None  # per process; None: min(4, cpus)
    out: str = "runs/train"
    seed: int = 0
    # optimizer and schedule
    optimizer: str = "sgd"  # "sgd" (nesterov) or "adamw"; see trainer.optim.OPTIMIZERS
    lr0: float = 0.01
    lrf: float = 0.2  # final lr = lr0 * lrf (cosine)
    momentum: float = 0.937
    weight_decay: float = 5e-4
    nbs: int = 64  # nominal batch size: gradients are accumulated up to it
    warmup_epochs: float = 3.0
    warmup_min_iters: int = 100
    warmup_momentum: float = 0.8
    warmup_bias_lr: float = 0.1
    grad_clip: float = 10.0  # max gradient norm; 0 disables
    ema_decay: float = 0.9999
    ema_tau: float = 2000.0  # EMA decay ramp: decay * (1 - exp(-updates / tau))
    amp: bool = True  # mixed precision: float16 on CUDA, bfloat16 on CPUs with native bf16 (trainer.precision)
    # data
    augment: bool = True
    close_mosaic: int = 0  # train the last N epochs without mosaic (images at their own scale, as in validation)
    hyp: Dict[str, Any] = field(default_factory=dict)  # augmentation and loss overrides
    cache_dir: Optional[str] = None
    # validation
    val_interval: int = 1  # validate every N epochs (and after the last)
    conf: float = 0.001
    iou: float = 0.65
    max_det: int = 300
    plots: bool = True

    def __post_init__(self) -> None:
        def fail(name: str, msg: str) -> None:
            raise ConfigError(f"train option {name}: {msg}")

        if int(self.close_mosaic) < 0:
            fail("--close-mosaic", f"must be >= 0, got {self.close_mosaic!r}")
        for name in ("imgsz", "epochs", "batch", "nbs", "val_interval", "max_det"):
            if int(getattr(self, name)) <= 0:
                fail(f"--{name}", f"must be positive, got {getattr(self, name)!r}")
        if self.workers is not None and self.workers < 0:
            fail("--workers", f"must be >= 0, got {self.workers}")
        if not (0.0 < self.lr0 and 0.0 < self.lrf <= 1.0):
            fail("lr0/lrf", f"need lr0 > 0 and 0 < lrf <= 1, got {self.lr0}, {self.lrf}")
        if self.optimizer not in ("sgd", "adamw"):
            fail("--optimizer", f"must be sgd or adamw, got {self.optimizer!r}")
        if not (0.0 <= self.conf < 1.0 and 0.0 < self.iou <= 1.0):
            fail("conf/iou", f"need 0 <= conf < 1 and 0 < iou <= 1, got {self.conf}, {self.iou}")

    def check_model_source(self) -> None:
        """A new run needs ``model`` or ``weights`` (a resumed one takes them from its checkpoint)."""
        if not self.model and not self.weights:
            raise ConfigError("train option --model: give a model name (yolopose-train models lists them) or --weights")

    @property
    def num_workers(self) -> int:
        """Resolved worker count."""
        return default_workers() if self.workers is None else int(self.workers)

    def to_dict(self) -> Dict[str, Any]:
        """Plain types only (checkpoint-safe)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<train_args>") -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error naming ``source``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown training options {unknown}")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
