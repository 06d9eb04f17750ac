"""Training data: COCO / YOLO-pose loaders, label cache, augmentation, the torch dataset.

``build_dataset(source, imgsz, augment, hyp=None, cache_dir=None, split=None)`` and
``collate(batch)`` are the trainer's and validator's entry points (docs/architecture.md).
Importing this package imports torch.
"""
from __future__ import annotations

from .augment import AugmentHyp, Labels
from .dataset import PoseDataset, build_dataset, collate
from .records import ImageRecord, SkipLog
from .sources import DataSpec, resolve_source

__all__ = ["AugmentHyp", "DataSpec", "ImageRecord", "Labels", "PoseDataset", "SkipLog", "build_dataset",
           "collate", "resolve_source"]
