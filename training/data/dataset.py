"""The torch dataset of the trainer and validator: ``build_dataset`` and ``collate``.

Items are ``(image, targets, info)``: ``image`` a ``3xHxW`` uint8 tensor (RGB, letterboxed or
augmented to ``imgsz``), ``targets`` a float32 ``(n, 6 + 3K)`` tensor ``0, class, cx, cy, w, h,
x1, y1, v1, ...`` normalised by the network input size, and ``info`` a dict with ``path``,
``image_id``, ``orig_shape`` (h, w) and ``transform`` (the :class:`~yolopose.core.ops.LetterboxTransform`
from original pixels to network input; identity for augmented training items).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch.utils.data import Dataset

from yolopose.core.errors import DatasetError, ImageError
from yolopose.core.ops import LetterboxTransform

from ._images import read_image
from .augment import (AugmentHyp, Labels, augment_hsv, flip_lr, letterbox_with_labels, mosaic4, random_affine,
                      resize_long_side)
from .formats import get_dataset_format
from .records import ImageRecord, SkipLog
from .sources import DataSpec, default_flip_index, load_records, resolve_source

__all__ = ["PoseDataset", "build_dataset", "collate"]

logger = logging.getLogger("yolopose.training.data")
PathLike = Union[str, Path]


class PoseDataset(Dataset):
    """Multi-person keypoint dataset over :class:`ImageRecord` s (see the module docstring)."""

    def __init__(self, records: Sequence[ImageRecord], imgsz: int, augment: bool, hyp: Optional[AugmentHyp] = None,
                 num_keypoints: int = 17, flip_index: Optional[Sequence[int]] = None,
                 spec: Optional[DataSpec] = None, skips: Optional[SkipLog] = None) -> None:
        if not records:
            where = f"{spec.labels}" if spec is not None else "dataset"
            raise DatasetError(f"{where}: no usable images")
        self.records = list(records)
        self.imgsz = int(imgsz)
        self.augment = bool(augment)
        self.hyp = hyp or AugmentHyp()
        self.num_keypoints = int(num_keypoints)
        self.flip_index = tuple(flip_index) if flip_index is not None else None
        self.spec = spec
        self.skips = skips or SkipLog()
        self._coco_gt: Optional[Dict[str, Any]] = None
        self._rng: Optional[np.random.Generator] = None
        self._rng_seed: Optional[int] = None

    # ------------------------------------------------------------------ metadata
    def __len__(self) -> int:
        return len(self.records)

    @property
    def image_ids(self) -> List[int]:
        return [r.image_id for r in self.records]

    @property
    def skipped(self) -> List[str]:
        """Messages of every sample skipped so far (label problems and undecodable images)."""
        return list(self.skips.messages)

    @property
    def coco_gt(self) -> Dict[str, Any]:
        """COCO keypoint ground truth (dict) of the images in this dataset, in original pixels.

        Its dataset format makes it (:meth:`~yolopose.training.data.formats.DatasetFormat.ground_truth`):
        for a COCO source the JSON itself (crowd annotations included) restricted to the usable
        images; for YOLO txt labels an equivalent dict built from the records.
        """
        if self._coco_gt is None:
            # records given without a source: their own COCO dict, as the yolo format builds it
            fmt = self.spec.dataset_format if self.spec is not None else get_dataset_format("yolo")
            self._coco_gt = fmt.ground_truth(self.spec, self.records, self.num_keypoints)  # type: ignore[arg-type]
        return self._coco_gt

    # ------------------------------------------------------------------ sampling
    def _generator(self) -> np.random.Generator:
        seed = int(torch.initial_seed()) % (2**63)
        if self._rng is None or self._rng_seed != seed:
            self._rng = np.random.default_rng(seed)  # torch seeds each worker differently
            self._rng_seed = seed
        return self._rng

    def _load(self, index: int) -> Tuple[np.ndarray, Labels]:
        r = self.records[index]
        image = read_image(Path(r.path))
        if image.shape[:2] != (r.height, r.width):
            raise ImageError(f"{r.path}: image is {image.shape[1]}x{image.shape[0]}, labels say {r.width}x{r.height}")
        return image, Labels.make(r.boxes, r.keypoints)

    def _load_resized(self, index: int) -> Tuple[np.ndarray, Labels]:
        image, labels = self._load(index)
        return resize_long_side(image, labels, self.imgsz)

    def _load_or_substitute(self, index: int, rng: np.random.Generator) -> Tuple[int, np.ndarray, Labels]:
        for attempt in range(20):
            try:
                return (index,) + self._load_resized(index)
            except ImageError as exc:
                self.skips.replay(f"{exc}; skipped")
                if len(self.skips) % 10 == 1:
                    logger.warning("%d sample(s) skipped so far", len(self.skips))
                index = int(rng.integers(len(self.records)))
        raise DatasetError("20 images in a row failed to decode; see the warnings above")

    def _train_item(self, index: int) -> Tuple[np.ndarray, Labels, int]:
        rng = self._generator()
        s, hyp, k = self.imgsz, self.hyp, self.num_keypoints
        index, image, labels = self._load_or_substitute(index, rng)
        if rng.random() < hyp.mosaic:
            tiles = [(image, labels)]
            for j in rng.integers(0, len(self.records), size=3):
                _, img_j, lab_j = self._load_or_substitute(int(j), rng)
                tiles.append((img_j, lab_j))
            canvas, labels = mosaic4(tiles, s, rng, k)
            image, labels = random_affine(canvas, labels, s, hyp, rng, src_center=(s, s))
        else:
            boxed, labels, _ = letterbox_with_labels(image, labels, s)
            image, labels = random_affine(boxed, labels, s, hyp, rng, src_center=(s / 2, s / 2))
        image = augment_hsv(image, hyp, rng)
        if self.flip_index is not None and rng.random() < hyp.fliplr:
            image, labels = flip_lr(image, labels, self.flip_index)
        return image, labels, index

    def _targets(self, labels: Labels) -> torch.Tensor:
        s = float(self.imgsz)
        n, k = len(labels), self.num_keypoints
        t = np.zeros((n, 6 + 3 * k), dtype=np.float32)
        if n:
            b = labels.boxes
            t[:, 2] = (b[:, 0] + b[:, 2]) / 2 / s
            t[:, 3] = (b[:, 1] + b[:, 3]) / 2 / s
            t[:, 4] = (b[:, 2] - b[:, 0]) / s
            t[:, 5] = (b[:, 3] - b[:, 1]) / s
            kp = labels.keypoints.copy()
            kp[..., 0] /= s
            kp[..., 1] /= s
            t[:, 6:] = kp.reshape(n, 3 * k)
        return torch.from_numpy(t)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, torch.Tensor, Dict[str, Any]]:
        r = self.records[index]
        if self.augment:
            image, labels, index = self._train_item(index)
            r = self.records[index]
            s = self.imgsz
            transform = LetterboxTransform(1.0, 0.0, 0.0, (s, s), (s, s))
        else:
            try:
                image, labels = self._load(index)
            except ImageError as exc:  # validation images were decoded once at build time
                raise DatasetError(f"{r.path}: validation image no longer readable ({exc})") from None
            image, labels, transform = letterbox_with_labels(image, labels, self.imgsz)
        tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
        info = {"path": r.path, "image_id": r.image_id, "orig_shape": (r.height, r.width), "transform": transform}
        return tensor, self._targets(labels), info


def collate(batch: Sequence[Tuple[torch.Tensor, torch.Tensor, Dict[str, Any]]]
            ) -> Tuple[torch.Tensor, torch.Tensor, List[Dict[str, Any]]]:
    """Stack images (``B x 3 x H x W`` uint8), concatenate targets with column 0 = index in batch."""
    images = torch.stack([b[0] for b in batch], 0)
    targets = []
    for i, (_, t, _) in enumerate(batch):
        t = t.clone()
        t[:, 0] = i
        targets.append(t)
    return images, torch.cat(targets, 0), [b[2] for b in batch]


def build_dataset(source: PathLike, imgsz: int, augment: bool, hyp: Optional[AugmentHyp] = None,
                  cache_dir: Optional[PathLike] = None, split: Optional[str] = None) -> PoseDataset:
    """The dataset of ``source`` for the trainer (``augment=True``) or the validator (``False``).

    ``source``: a COCO keypoint JSON (image folder found next to it), a YOLO-pose image folder
    (labels in the sibling ``labels/`` folder) or ``.txt`` image list, a folder written by
    ``yolopose-train synth``, or a data YAML (``train``/``val``, optional ``path``,
    ``<split>_images``, ``kpt_shape``, ``flip_idx``). ``split`` picks the YAML/folder entry
    (default: "train" when augmenting, else "val"). Bad samples are reported once and skipped;
    validation images are fully decoded once (then cached) so that the validator never meets a
    broken one.
    """
    split = split or ("train" if augment else "val")
    spec = resolve_source(source, split)
    log = SkipLog()
    records, k = load_records(spec, log, cache_dir=cache_dir, decode=not augment)
    if len(log):
        logger.warning("%s (%s): %d sample(s) skipped, %d images usable", spec.labels, split, len(log), len(records))
    flip = default_flip_index(spec, k)
    return PoseDataset(records, imgsz, augment, hyp=hyp, num_keypoints=k, flip_index=flip, spec=spec, skips=log)
