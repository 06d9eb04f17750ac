"""Verification: decoded keypoints of an artifact against torch, on the same fixed inputs."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from yolopose.errors import ModelError
from yolopose.metadata import OUTPUT_KINDS, ModelMetadata
from yolopose.ops import decode

__all__ = ["keypoint_error", "order_by_shape"]


def _levels(flat: Sequence[np.ndarray]) -> List[Tuple[np.ndarray, ...]]:
    k = len(OUTPUT_KINDS)
    return [tuple(np.asarray(t, dtype=np.float32) for t in flat[i : i + k]) for i in range(0, len(flat), k)]


def order_by_shape(outputs: Sequence[np.ndarray], meta: ModelMetadata, source: str) -> List[np.ndarray]:
    """Put an engine's outputs in metadata order ``(level, kind)``, matched by their NHWC shape
    (every (level, kind) has a distinct shape). :class:`ModelError` if one is missing."""
    batch = outputs[0].shape[0] if outputs else 1
    wanted = meta.raw_output_shapes(batch)
    by_shape = {tuple(o.shape): o for o in outputs}
    missing = [key for key, shape in wanted.items() if shape not in by_shape]
    if missing or len(by_shape) != len(wanted):
        raise ModelError(
            f"{source}: outputs {sorted(tuple(o.shape) for o in outputs)} do not match the expected raw "
            f"outputs {sorted(wanted.values())}"
        )
    return [by_shape[shape] for shape in wanted.values()]


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
