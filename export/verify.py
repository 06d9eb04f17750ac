"""Verification: an artifact is run the way users run it (:class:`yolopose.PoseEstimator` over
the runtime adapters of :mod:`yolopose.runtimes`) and its decoded keypoints are compared with
torch's on the same fixed inputs."""
from __future__ import annotations

from pathlib import Path
from typing import Any, List, Sequence, Tuple

import numpy as np

from yolopose.errors import ModelError
from yolopose.metadata import OUTPUT_KINDS
from yolopose.ops import decode
from yolopose.tracking import oks_matrix

__all__ = ["keypoint_agreement", "keypoint_error", "run_artifact"]


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


def keypoint_error(
    outputs: Sequence[np.ndarray], reference: Sequence[np.ndarray], strides: Sequence[int], anchors
) -> Tuple[float, float]:
    """Max and mean absolute difference, in input pixels, of the keypoint x/y decoded from every
    anchor of every cell (no threshold, so both sides decode the same candidates)."""
    got = decode(_levels(outputs), strides, anchors, conf_threshold=0.0)
    ref = decode(_levels(reference), strides, anchors, conf_threshold=0.0)
    if any(g.keypoints.shape != r.keypoints.shape for g, r in zip(got, ref)):
        raise ModelError("artifact and torch decode to different candidate counts (NaN outputs?)")
    errs = [np.abs(g.keypoints[..., :2] - r.keypoints[..., :2]) for g, r in zip(got, ref)]
    err = np.concatenate([e.ravel() for e in errs])
    if not np.all(np.isfinite(err)):
        return float("inf"), float("inf")
    return float(err.max()), float(err.mean())


def keypoint_agreement(
    outputs: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
    strides: Sequence[int],
    anchors,
    conf: float = 0.25,
) -> Tuple[float, int]:
    """How well the artifact's keypoints agree with torch's where torch sees people: the mean OKS
    (COCO's formula, torch's box area as the scale, keypoints torch finds visible) between the two
    on every candidate torch scores at least ``conf``. Returns ``(oks, candidates)``; ``oks`` is
    NaN when torch finds nobody (an untrained model, images without people).

    The mean pixel error of :func:`keypoint_error` is dominated by empty background cells; this is
    the figure that says whether a user will see the same poses. 1.0 is identical; measured on the
    bundled 256 px model: post-training int8 (3% of the fp32 keypoint AP left) 0.58-0.68, its QAT
    int8 (88% left) 0.95-0.97."""
    got = decode(_levels(outputs), strides, anchors, conf_threshold=0.0)
    ref = decode(_levels(reference), strides, anchors, conf_threshold=0.0)
    scores = []
    for g, r in zip(got, ref):
        keep = r.scores >= conf
        if g.keypoints.shape != r.keypoints.shape or not keep.any():
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
