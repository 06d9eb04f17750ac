"""The YOLO-Pose trainer, in small pieces: :class:`TrainConfig` (all settings), :mod:`.optim`
(SGD groups, warmup, cosine), :class:`ModelEMA`, :mod:`.distributed` (torchrun/DDP),
:mod:`.epoch` (one epoch), :mod:`.history` (results.csv and plot), :mod:`.run_state`
(resume) and :func:`train`, which composes them.

>>> from yolopose.training.trainer import TrainConfig, train
>>> result = train(TrainConfig(data="synth/", model="yolov5n-pose", imgsz=320, epochs=30))  # doctest: +SKIP
"""
from __future__ import annotations

from .config import TrainConfig, default_workers
from .ema import ModelEMA, unwrap
from .loop import EpochEnd, TrainResult, train

__all__ = ["EpochEnd", "ModelEMA", "TrainConfig", "TrainResult", "default_workers", "train", "unwrap"]
