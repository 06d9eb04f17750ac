"""Datasets and data loaders of a run: train (augmented, shuffled, sharded over processes) and val."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Tuple

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from yolopose.core.errors import ConfigError, DatasetError

from .config import TrainConfig
from .distributed import DistContext

__all__ = ["TrainData", "augment_hyp", "build_train_data", "check_hyp", "build_val_data", "open_split", "num_keypoints_of"]


@dataclass
class TrainData:
    """The loaders and facts of a run's data."""

    name: str
    loader: DataLoader
    generator: torch.Generator
    collate: Callable[[Any], Any]
    num_keypoints: int
    train_images: int
    val_dataset: Optional[Dataset]
    val_ground_truth: Any
    val_images: int


def augment_hyp(hyp: Optional[Mapping[str, Any]]) -> Any:
    """The :class:`~yolopose.training.data.AugmentHyp` fields picked out of the run's ``hyp`` dict."""
    from ..data import AugmentHyp

    names = {f.name for f in dataclasses.fields(AugmentHyp)}
    try:
        return AugmentHyp(**{k: v for k, v in (hyp or {}).items() if k in names})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"--hyp: {exc}") from None


def check_hyp(hyp: Optional[Mapping[str, Any]]) -> None:
    """:class:`ConfigError` for ``hyp`` keys that are neither augmentation nor loss settings."""
    from ..data import AugmentHyp
    from ..loss import LossHyp

    known = {f.name for f in dataclasses.fields(AugmentHyp)} | {f.name for f in dataclasses.fields(LossHyp)}
    unknown = sorted(set(hyp or {}) - known)
    if unknown:
        raise ConfigError(f"--hyp: unknown keys {unknown}; known: {sorted(known)}")


def open_split(data: str, split: str, imgsz: int, augment: bool, hyp: Optional[Mapping[str, Any]] = None,
               cache_dir: Optional[str] = None) -> Tuple[Dataset, Callable, Any]:
    """``(dataset, collate_fn, COCO ground truth dict)`` of one split of ``data``."""
    from ..data import build_dataset, collate

    dataset = build_dataset(data, imgsz, augment=augment, hyp=augment_hyp(hyp), cache_dir=cache_dir, split=split)
    return dataset, collate, dataset.coco_gt


def num_keypoints_of(dataset: Dataset, name: str) -> int:
    """Keypoints per instance: the dataset's ``num_keypoints``, or read off its first labels."""
    k = getattr(dataset, "num_keypoints", None)
    if k:
        return int(k)
    for i in range(len(dataset)):  # type: ignore[arg-type]
        targets = dataset[i][1]
        if targets.numel():
            return (int(targets.shape[1]) - 6) // 3
    raise DatasetError(f"{name}: no labelled instance, cannot tell the number of keypoints")


def _seed_worker(worker_id: int) -> None:  # numpy and random are seeded by torch from the loader's generator
    torch.set_num_threads(1)


def build_train_data(cfg: TrainConfig, ctx: DistContext, batch: int) -> TrainData:
    """Training loader (``DistributedSampler`` under torchrun) and the validation split."""
    check_hyp(cfg.hyp)
    train_set, collate, _ = open_split(cfg.data, "train", cfg.imgsz, cfg.augment, cfg.hyp, cfg.cache_dir)
    if len(train_set) == 0:  # type: ignore[arg-type]
        raise DatasetError(f"{cfg.data}: the training split has no usable images")
    try:
        val_set, _, val_gt = open_split(cfg.data, "val", cfg.imgsz, False, cfg.hyp, cfg.cache_dir)
    except DatasetError as exc:
        if ctx.is_main:
            print(f"no validation: {exc}", flush=True)
        val_set, val_gt = None, None
    generator = torch.Generator()
    generator.manual_seed(cfg.seed)
    sampler = DistributedSampler(train_set, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=cfg.seed) if ctx.distributed else None
    workers = cfg.num_workers
    loader = DataLoader(
        train_set,
        batch_size=batch,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=ctx.device.type == "cuda",
        generator=generator,
        worker_init_fn=_seed_worker if workers else None,
        persistent_workers=False,  # fresh workers each epoch, seeded per epoch: exact resume
        drop_last=False,
    )
    return TrainData(
        name=str(cfg.data),
        loader=loader,
        generator=generator,
        collate=collate,
        num_keypoints=num_keypoints_of(train_set, str(cfg.data)),
        train_images=len(train_set),  # type: ignore[arg-type]
        val_dataset=val_set,
        val_ground_truth=val_gt,
        val_images=len(val_set) if val_set is not None else 0,  # type: ignore[arg-type]
    )


def build_val_data(data: str, imgsz: int) -> Tuple[Dataset, Callable, Any, str]:
    """``(dataset, collate, ground truth, name)`` of the validation split, for ``yolopose-train val``."""
    dataset, collate, gt = open_split(data, "val", imgsz, False)
    if gt is None:
        raise DatasetError(f"{data}: the validation split provides no COCO ground truth")
    return dataset, collate, gt, str(data)
