"""COCO validation of a pose model: the SDK's decode and NMS, then :mod:`yolopose.core.evaluation`.

The steps are those of the SDK, so the numbers measure what users get: letterboxed batch ->
:func:`~yolopose.training.models.predict_candidates` (``yolopose.core.ops.decode``) -> per image, the
``max_nms`` best candidates -> per-class NMS -> ``max_det`` best (:func:`yolopose.core.ops.select_detections`) -> back to
original pixels with the dataset's :class:`~yolopose.core.ops.LetterboxTransform` -> COCO results ->
keypoint (OKS) AP, AP50, AP75, APm, APl, AR and box AP.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from yolopose.core import evaluation
from yolopose.core.errors import DatasetError
from yolopose.core.ops import EVAL_POSTPROCESS, Candidates, LetterboxTransform, PostprocessSettings, select_detections

from .models import predict_candidates

__all__ = ["ValidationResult", "Validator", "coco_results", "ground_truth_of"]


@dataclass
class ValidationResult:
    """Metrics (see :mod:`yolopose.core.evaluation`), the COCO result dicts, and how long it took."""

    metrics: Dict[str, float]
    results: List[Dict[str, Any]] = field(default_factory=list)
    images: int = 0
    seconds: float = 0.0

    @property
    def fitness(self) -> float:
        """What "best" checkpoints maximise: ``0.1 * AP50 + 0.9 * AP`` (keypoints)."""
        return 0.1 * max(self.metrics.get("AP50", 0.0), 0.0) + 0.9 * max(self.metrics.get("AP", 0.0), 0.0)

    def table(self) -> str:
        """The metrics as a printable table."""
        return evaluation.format_metrics(self.metrics, title=f"{self.images} images, {self.seconds:.1f} s")


def coco_results(
    det: Candidates, transform: LetterboxTransform, image_id: Any, category_ids: Sequence[int]
) -> List[Dict[str, Any]]:
    """Detections in network-input pixels -> COCO result dicts in original image pixels."""
    if len(det) == 0:
        return []
    boxes = transform.boxes_to_original(det.boxes)
    kxy = transform.to_original(det.keypoints[..., :2])
    kpts = np.concatenate([kxy, det.keypoints[..., 2:3]], axis=-1).reshape(len(det), -1)
    out = []
    for b, s, k, c in zip(boxes.tolist(), det.scores.tolist(), kpts.tolist(), det.class_ids.tolist()):
        out.append(
            {
                "image_id": image_id,
                "category_id": int(category_ids[c]),
                "bbox": [round(b[0], 3), round(b[1], 3), round(b[2] - b[0], 3), round(b[3] - b[1], 3)],
                "score": round(float(s), 5),
                "keypoints": [round(v, 3) for v in k],
            }
        )
    return out


def ground_truth_of(dataset: Dataset) -> Mapping[str, Any]:
    """The COCO ground truth of a validation dataset (its ``coco_gt``)."""
    gt = getattr(dataset, "coco_gt", None)
    if gt is None:
        raise DatasetError(f"dataset {type(dataset).__name__} provides no COCO ground truth (coco_gt) for validation")
    return gt


class Validator:
    """``Validator(dataset, collate_fn)(model) -> ValidationResult``.

    ``dataset`` yields letterboxed, un-augmented items ``(image uint8 3xHxW, targets, info)`` with
    ``info["image_id"]`` and ``info["transform"]``; ``ground_truth`` is the matching COCO ground
    truth (path or dict; default: :func:`ground_truth_of`). ``postprocess``: how candidates become
    detections (the paper's evaluation settings by default).
    """

    def __init__(
        self,
        dataset: Dataset,
        collate_fn: Any,
        ground_truth: Any = None,
        *,
        batch: int = 16,
        workers: int = 0,
        device: torch.device = torch.device("cpu"),
        postprocess: PostprocessSettings = EVAL_POSTPROCESS,
        backend: str = "auto",
        sigmas: Optional[Sequence[float]] = None,
        progress: bool = True,
    ) -> None:
        self.dataset = dataset
        self.ground_truth = evaluation.load_ground_truth(ground_truth if ground_truth is not None else ground_truth_of(dataset))
        cats = sorted(c["id"] for c in self.ground_truth["categories"])
        if not cats:
            raise DatasetError("the validation ground truth has no categories")
        self.category_ids = cats
        self.loader = DataLoader(
            dataset,
            batch_size=batch,
            shuffle=False,
            num_workers=workers,
            collate_fn=collate_fn,
            pin_memory=device.type == "cuda",
        )
        self.device = device
        self.postprocess = postprocess
        self.backend = backend
        self.sigmas = sigmas
        self.progress = progress

    def predict(self, model: nn.Module) -> List[Dict[str, Any]]:
        """COCO result dicts of ``model`` on the whole dataset."""
        from tqdm import tqdm

        was_training = model.training
        model.eval()
        results: List[Dict[str, Any]] = []
        try:
            batches = tqdm(self.loader, desc="validate", leave=False, disable=not self.progress, dynamic_ncols=True)
            for images, _targets, infos in batches:
                x = images.to(self.device, non_blocking=True).float() / 255.0
                with torch.inference_mode():
                    cands = predict_candidates(model, x, self.postprocess.conf)
                for cand, info in zip(cands, infos):
                    det = select_detections(cand, self.postprocess)
                    results.extend(coco_results(det, info["transform"], info["image_id"], self.category_ids))
        finally:
            model.train(was_training)
        return results

    def __call__(self, model: nn.Module) -> ValidationResult:
        start = time.perf_counter()
        results = self.predict(model)
        metrics = evaluation.evaluate(self.ground_truth, results, backend=self.backend, sigmas=self.sigmas)
        return ValidationResult(metrics, results, images=len(self.dataset), seconds=time.perf_counter() - start)
