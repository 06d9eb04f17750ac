"""Training data: the dataset formats (COCO, YOLO-pose: :mod:`.formats`), label cache,
augmentation, the torch dataset.

``build_dataset(source, imgsz, augment, hyp=None, cache_dir=None, split=None)`` and
``collate(batch)`` are the trainer's and validator's entry points (docs/architecture.md).
Importing this package imports torch.
"""
from __future__ import annotations

from .augment import AugmentHyp, Labels
from .dataset import PoseDataset, build_dataset, collate
from .formats import DATASET_FORMATS, DatasetFormat, get_dataset_format, list_dataset_formats, register_dataset_format
from .records import ImageRecord, SkipLog
from .sources import DataSpec, resolve_source

__all__ = ["DATASET_FORMATS", "AugmentHyp", "DataSpec", "DatasetFormat", "ImageRecord", "Labels", "PoseDataset",
           "SkipLog", "build_dataset", "collate", "get_dataset_format", "list_dataset_formats", "register_dataset_format", "resolve_source"]
