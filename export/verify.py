"""Verification: an artifact is run the way users run it (:class:`yolopose.PoseEstimator` over
the runtime adapters of :mod:`yolopose.runtimes`) and its decoded keypoints are compared with
torch's on the same fixed inputs."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Sequence, Tuple

import numpy as np

from yolopose.core.errors import ModelError
from yolopose.core.metadata import OUTPUT_KINDS
from yolopose.core.ops import Candidates, box_iou_pairs, decode
from yolopose.core.oks import oks_pairs

__all__ = ["FP32_TOLERANCE_PX", "FP32_TOLERANCE_REL", "MIN_BOX_IOU", "MIN_KEYPOINT_OKS", "KeypointComparison",
           "compare_keypoints", "run_artifact"]

#: An fp32 artifact's keypoints may differ from torch's by this many pixels ...
FP32_TOLERANCE_PX = 1e-2
#: ... plus this fraction of the reach of their output channel: the largest offset from its cell
#: that torch gives that keypoint coordinate on the verification images. Keypoints are linear in
#: the raw outputs, and float32 rounding (other kernels, fused batch norm) is relative to the size
#: of the terms a channel sums: background cells of a trained model put keypoints thousands of
#: pixels away, where 1e-7 relative rounding is a tenth of a pixel.
FP32_TOLERANCE_REL = 1e-4

#: Below this keypoint agreement, or this box agreement, an artifact's poses drift from torch's
#: enough to cost AP. Measured on two models (benchmarks/int8_speed.py, docs/int8.md; 8 held-out
#: verification images, AP on 1,000 validation images): every artifact keeping >= 98% of the fp32
#: keypoint AP agrees at OKS >= 0.994 (the bundled yolov5n-pose: 0.995-0.998 in every format, mixed
#: PTQ and QAT; yolov5n-pose-lite mixed ONNX/TFLite: 0.994); every one losing more is below 0.992
#: (lite: OpenVINO mixed 89%, OKS 0.989; full int8 90-96%, 0.985-0.990; bundled full int8 76-90%,
#: 0.935-0.965) or below the box line (int8 box outputs, box AP 97%: IoU 0.949-0.954).
MIN_KEYPOINT_OKS = 0.992
MIN_BOX_IOU = 0.96


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
    people); ``candidates``: how many it averages; ``box_iou``: the mean IoU of the same
    candidates' boxes with torch's. The mean pixel error is dominated by empty background cells;
    the agreements say whether a user will see the same poses. 1.0 is identical; see
    :data:`MIN_KEYPOINT_OKS` for what they were measured at.

    ``tolerance_used``: the largest ratio of a keypoint coordinate's error to its allowance,
    ``tolerance_px + tolerance_rel * reach`` (``reach``: the largest offset from its cell, in
    pixels, that torch gives that output channel on these inputs); below 1 the artifact agrees
    with torch to float32 rounding. ``worst_px`` / ``worst_reach_px``: that coordinate's error and
    its channel's reach.
    """

    max_px: float
    mean_px: float
    oks: float
    candidates: int
    box_iou: float
    tolerance_used: float
    worst_px: float
    worst_reach_px: float

    @property
    def allowance_px(self) -> float:
        """The error allowed at the worst coordinate (``worst_px / tolerance_used``)."""
        return self.worst_px / self.tolerance_used if self.tolerance_used > 0 else float("nan")


def compare_keypoints(
    outputs: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
    strides: Sequence[int],
    anchors,
    conf: float = 0.25,
    tolerance_px: float = FP32_TOLERANCE_PX,
    tolerance_rel: float = FP32_TOLERANCE_REL,
) -> KeypointComparison:
    """Decode both sides once at every anchor (no threshold, so both give the same candidates in
    the same order) and compare them (:class:`KeypointComparison`; ``tolerance_px`` and
    ``tolerance_rel`` set the allowance behind its ``tolerance_used``)."""
    got = decode(_levels(outputs), strides, anchors, conf_threshold=0.0)
    ref = decode(_levels(reference), strides, anchors, conf_threshold=0.0)
    if any(g.keypoints.shape != r.keypoints.shape for g, r in zip(got, ref)):
        raise ModelError("artifact and torch decode to different candidate counts (NaN outputs?)")
    err = np.concatenate([np.abs(g.keypoints[..., :2] - r.keypoints[..., :2]).ravel() for g, r in zip(got, ref)])
    oks, candidates, iou = _agreement(got, ref, conf)
    if not np.all(np.isfinite(err)):
        inf = float("inf")
        return KeypointComparison(inf, inf, oks, candidates, iou, inf, inf, float("nan"))
    used, worst_px, worst_reach = _tolerance_used(outputs, reference, strides, tolerance_px, tolerance_rel)
    return KeypointComparison(float(err.max()), float(err.mean()), oks, candidates, iou, used, worst_px, worst_reach)


def _tolerance_used(outputs, reference, strides, tolerance_px: float, tolerance_rel: float) -> Tuple[float, float, float]:
    """``(tolerance_used, worst_px, worst_reach_px)`` of :class:`KeypointComparison`, from the raw
    keypoint outputs (a keypoint moves ``2 * stride`` pixels per unit of its raw output)."""
    best = (0.0, 0.0, 0.0)
    for (_, kxy, _), (_, ref_kxy, _), stride in zip(_levels(outputs), _levels(reference), strides):
        err = 2.0 * stride * np.abs(kxy.astype(np.float64) - ref_kxy)
        reach = 2.0 * stride * np.abs(ref_kxy).max(axis=(0, 1, 2))  # per channel
        used = err / (tolerance_px + tolerance_rel * reach)
        if used.size and used.max() > best[0]:
            i = np.unravel_index(int(used.argmax()), used.shape)
            best = (float(used[i]), float(err[i]), float(reach[i[-1]]))
    return best


def _agreement(got: Sequence[Candidates], ref: Sequence[Candidates], conf: float) -> Tuple[float, int, float]:
    """``(keypoint OKS, candidates, box IoU)``: means over the candidates torch scores >= ``conf``."""
    scores, ious = [], []
    for g, r in zip(got, ref):
        keep = r.scores >= conf
        if not keep.any():
            continue
        truth, test = r.keypoints[keep], g.keypoints[keep].copy()
        test[..., 2] = truth[..., 2]  # count the keypoints torch sees, in both
        wh = r.boxes[keep, 2:] - r.boxes[keep, :2]
        oks, counted = oks_pairs(truth, test, wh[:, 0] * wh[:, 1])  # candidate i against itself: linear memory
        scores.append(np.where(counted > 0, oks, np.nan))
        ious.append(box_iou_pairs(g.boxes[keep], r.boxes[keep]))
    values = np.concatenate(scores) if scores else np.zeros(0)
    values = values[np.isfinite(values)]
    iou = np.concatenate(ious) if ious else np.zeros(0)
    iou = iou[np.isfinite(iou)]
    mean = lambda v: float(v.mean()) if v.size else float("nan")  # noqa: E731
    return mean(values), int(values.size), mean(iou)
