"""Verification: an artifact is run the way users run it (:class:`yolopose.PoseEstimator` over
the runtime adapters of :mod:`yolopose.runtimes`) and its decoded keypoints are compared with
torch's on the same fixed inputs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Sequence, Tuple

import numpy as np

from yolopose.errors import ModelError
from yolopose.metadata import OUTPUT_KINDS
from yolopose.ops import Candidates, decode
from yolopose.tracking import oks_matrix

__all__ = ["KeypointComparison", "compare_keypoints", "run_artifact"]


def _levels(flat: Sequence[np.ndarray]) -> List[Tuple[np.ndarray, ...]]:
    k = len(OUTPUT_KINDS)
    return [tuple(np.asarray(t, dtype=np.float32) for t in flat[i : i + k]) for i in range(0, len(flat), k)]


def run_artifact(path: Path, images: np.ndarray, **estimator_options: Any) -> List[np.ndarray]:
    """Raw float32 NHWC outputs, in metadata order, of the artifact at ``path`` on ``(B, H, W, 3)``
    uint8 images of the model's input size (``estimator_options`` go to ``PoseEstimator``)."""
    from yolopose.estimator import PoseEstimator

    with PoseEstimator(path, **estimator_options) as est:
        x, _ = est.preprocess(list(images))
        return est.infer(x)


@dataclass(frozen=True)
class KeypointComparison:
    """How an artifact's decoded keypoints compare with torch's on the same inputs.

    ``max_px`` / ``mean_px``: absolute x/y difference, in input pixels, over every anchor of every
    cell (inf when the artifact gives non-finite values). ``oks``: the mean OKS (COCO's formula,
    torch's box area as the scale, the keypoints torch finds visible) on the candidates torch
    scores at least ``conf``, NaN when torch finds nobody (an untrained model, images without
    people); ``candidates``: how many it averages. The mean pixel error is dominated by empty
    background cells; the OKS says whether a user will see the same poses. 1.0 is identical;
    measured on the bundled 256 px model: post-training int8 (3% of the fp32 keypoint AP left)
    0.52-0.68, its QAT int8 (88% left) 0.95-0.97.
    """

    max_px: float
    mean_px: float
    oks: float
    candidates: int


def compare_keypoints(
    outputs: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
    strides: Sequence[int],
    anchors,
    conf: float = 0.25,
) -> KeypointComparison:
    """Decode both sides once at every anchor (no threshold, so both give the same candidates in
    the same order) and compare them (:class:`KeypointComparison`)."""
    got = decode(_levels(outputs), strides, anchors, conf_threshold=0.0)
    ref = decode(_levels(reference), strides, anchors, conf_threshold=0.0)
    if any(g.keypoints.shape != r.keypoints.shape for g, r in zip(got, ref)):
        raise ModelError("artifact and torch decode to different candidate counts (NaN outputs?)")
    err = np.concatenate([np.abs(g.keypoints[..., :2] - r.keypoints[..., :2]).ravel() for g, r in zip(got, ref)])
    max_px, mean_px = (float(err.max()), float(err.mean())) if np.all(np.isfinite(err)) else (float("inf"), float("inf"))
    oks, candidates = _agreement(got, ref, conf)
    return KeypointComparison(max_px, mean_px, oks, candidates)


def _agreement(got: Sequence[Candidates], ref: Sequence[Candidates], conf: float) -> Tuple[float, int]:
    scores = []
    for g, r in zip(got, ref):
        keep = r.scores >= conf
        if not keep.any():
            continue
        truth, test = r.keypoints[keep], g.keypoints[keep].copy()
        test[..., 2] = truth[..., 2]  # count the keypoints torch sees, in both
        wh = r.boxes[keep, 2:] - r.boxes[keep, :2]
        oks, counted = oks_matrix(truth, test, wh[:, 0] * wh[:, 1])
        idx = np.arange(len(truth))
        scores.append(np.where(counted[idx, idx] > 0, oks[idx, idx], np.nan))
    values = np.concatenate(scores) if scores else np.zeros(0)
    values = values[np.isfinite(values)]
    return (float(values.mean()) if values.size else float("nan")), int(values.size)
