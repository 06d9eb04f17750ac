"""The YOLO-Pose trainer, in small pieces: :class:`TrainConfig` (all settings), :mod:`.optim`
(SGD groups, warmup, cosine), :class:`ModelEMA`, :mod:`.distributed` (torchrun/DDP),
:mod:`.epoch` (one epoch), :mod:`.history` (results.csv and plot), :mod:`.run_state`
(resume) and :class:`~yolopose.training.trainer.loop.Trainer` behind :func:`train`, which
composes them.

>>> from yolopose.training.trainer import TrainConfig, train
>>> result = train(TrainConfig(data="synth/", model="yolov5n-pose", imgsz=320, epochs=30))  # doctest: +SKIP

Names are imported on first use: :class:`TrainConfig` (and ``yolopose-train train --help``,
whose options are its fields) loads without torch.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "TrainConfig": "yolopose.training.trainer.config",
    "default_workers": "yolopose.training.trainer.config",
    "ModelEMA": "yolopose.training.trainer.ema",
    "unwrap": "yolopose.training.trainer.ema",
    "EpochEnd": "yolopose.training.trainer.loop",
    "TrainResult": "yolopose.training.trainer.loop",
    "Trainer": "yolopose.training.trainer.loop",
    "train": "yolopose.training.trainer.loop",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'yolopose.training.trainer' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(list(globals()) + list(_LAZY))
