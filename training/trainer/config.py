"""The training configuration: one frozen dataclass instead of argument sprawl.

Every field has the paper's / YOLOv5's default and, where the command line offers it, its option
(``yolopose-train train``'s options are generated from these fields: a new setting is one field
here). The whole configuration is stored in each checkpoint (``train_args``) so that ``--resume``
continues with exactly the same settings.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from yolopose.core.errors import ConfigError
from yolopose.core.ops.select import EVAL_POSTPROCESS, PostprocessSettings
from yolopose.core.settings import Option, from_mapping, ints, json_object, paths, setting

__all__ = ["OPTIMIZER_NAMES", "TrainConfig", "default_workers"]

#: the optimizers of :data:`yolopose.training.trainer.optim.OPTIMIZERS` (named here without torch)
OPTIMIZER_NAMES = ("sgd", "adamw")


def default_workers() -> int:
    """Data-loader worker processes: ``min(4, cpus)``."""
    return min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; the fields with an :class:`~yolopose.core.settings.Option`
    are ``yolopose-train train``'s options (``--field-name``)."""

    data: str = setting(cli=Option("Dataset: a folder written by `yolopose-train synth`, a COCO keypoint or YOLO-pose "
                                   "folder, or a data YAML naming train/val.", metavar="DIR_OR_YAML"))
    model: Optional[str] = setting(None, cli=Option("Model to train from scratch (see `yolopose-train models`). Optional "
                                                    "with --weights.", metavar="NAME"))
    weights: Optional[str] = setting(None, cli=Option("Checkpoint to fine-tune from (its number of keypoints must match "
                                                      "the data).", type=paths(dir_okay=False)))
    imgsz: int = setting(640, cli=Option("Square training/validation input size in pixels.", type=ints(32)))
    epochs: int = setting(100, cli=Option("Epochs to train.", type=ints(1)))
    batch: int = setting(16, cli=Option("Total batch size over all processes.", type=ints(1)))
    device: str = setting("", cli=Option("cpu, cuda, cuda:N or N; under torchrun each process takes its local rank's GPU.",
                                         show_default="auto"))
    workers: Optional[int] = setting(None, cli=Option("Data-loader worker processes per process.", type=ints(0),
                                                      show_default="min(4, cpus)"))
    out: str = setting("runs/train", cli=Option("Run folder: last.pt, best.pt, results.csv, results.png.",
                                                type=paths(file_okay=False)))
    seed: int = setting(0, cli=Option("Random seed (weights, data order, augmentation).", type=int))
    # optimizer and schedule
    optimizer: str = setting("sgd", cli=Option("Nesterov SGD (the paper's), or AdamW (use --lr0 0.001; faster on short "
                                               "runs from scratch).", type=lambda: _choice(OPTIMIZER_NAMES)))
    lr0: float = setting(0.01, cli=Option("Initial learning rate.", type=float))
    lrf: float = setting(0.2, cli=Option("Final learning rate as a fraction of --lr0 (cosine schedule).", type=float))
    momentum: float = 0.937
    weight_decay: float = 5e-4
    nbs: int = setting(64, cli=Option("Nominal batch size: gradients of smaller batches are accumulated up to it (YOLOv5).",
                                      type=ints(1)))
    warmup_epochs: float = setting(3.0, cli=Option("Warmup length in epochs (at least --warmup-min-iters iterations).",
                                                   type=float))
    warmup_min_iters: int = setting(100, cli=Option("Least warmup iterations.", type=ints(0)))
    warmup_momentum: float = 0.8
    warmup_bias_lr: float = 0.1
    grad_clip: float = 10.0  # max gradient norm; 0 disables
    ema_decay: float = 0.9999
    ema_tau: float = 2000.0  # EMA decay ramp: decay * (1 - exp(-updates / tau))
    amp: bool = setting(True, cli=Option("Mixed precision: float16 on CUDA, bfloat16 on CPUs with native bf16 (AMX, "
                                         "AVX512-BF16); --no-amp trains in float32 (trainer.precision)."))
    # data
    augment: bool = setting(True, cli=Option("Augment the training images (mosaic, affine, HSV, flip)."))
    close_mosaic: int = setting(0, cli=Option("Train the last N epochs without mosaic (people at the scale validation "
                                              "sees).", type=ints(0)))
    hyp: Dict[str, Any] = setting(default_factory=dict, cli=Option(
        'Augmentation/loss overrides as JSON, e.g. \'{"mosaic": 0.5, "kpt": 0.2}\'.', type=json_object, metavar="JSON",
        show_default=False))
    cache_dir: Optional[str] = setting(None, cli=Option("Where to keep the label cache.", type=paths(file_okay=False)))
    # validation
    val_interval: int = setting(1, cli=Option("Validate every N epochs (and after the last).", type=ints(1)))
    #: how validation turns candidates into detections (the paper's evaluation settings)
    postprocess: PostprocessSettings = EVAL_POSTPROCESS
    plots: bool = True

    def __post_init__(self) -> None:
        def fail(name: str, msg: str) -> None:
            raise ConfigError(f"train option {name}: {msg}")

        if int(self.close_mosaic) < 0:
            fail("--close-mosaic", f"must be >= 0, got {self.close_mosaic!r}")
        for name in ("imgsz", "epochs", "batch", "nbs", "val_interval"):
            if int(getattr(self, name)) <= 0:
                fail(f"--{name.replace('_', '-')}", f"must be positive, got {getattr(self, name)!r}")
        if self.workers is not None and self.workers < 0:
            fail("--workers", f"must be >= 0, got {self.workers}")
        if not (0.0 < self.lr0 and 0.0 < self.lrf <= 1.0):
            fail("lr0/lrf", f"need lr0 > 0 and 0 < lrf <= 1, got {self.lr0}, {self.lrf}")
        if self.optimizer not in OPTIMIZER_NAMES:
            fail("--optimizer", f"must be {' or '.join(OPTIMIZER_NAMES)}, got {self.optimizer!r}")
        if not isinstance(self.postprocess, PostprocessSettings):
            fail("postprocess", f"must be a PostprocessSettings, got {type(self.postprocess).__name__}")

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
        """Inverse of :meth:`to_dict`; unknown keys are an error naming ``source``. Checkpoints
        written before the validation settings were one object (flat ``conf``, ``iou``,
        ``max_det``) are read too."""
        data = dict(data)
        legacy = {k: data.pop(k) for k in ("conf", "iou", "max_det") if k in data}
        if legacy:
            data["postprocess"] = {**EVAL_POSTPROCESS.to_dict(), **dict(data.get("postprocess") or {}), **legacy}
        return from_mapping(cls, data, source)

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _choice(names: Any) -> Any:
    import click

    return click.Choice(list(names))
