"""Shared test helpers: the inverse of the YOLO-Pose decode, used wherever a test needs raw head
outputs that decode to known people (tiny constant ONNX graphs, oracle networks, loss targets).

The tiny artifacts themselves are built by ``_graphs`` (hand-decodable constants, also behind the
committed TFLite fixtures; the ``tiny_onnx`` fixture below) and ``_known_detections`` (COCO test
sets, encoded with :func:`encode`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence, Tuple

import numpy as np
import pytest

__all__ = ["encode", "logit"]


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    """The tiny constant yolopose ONNX of ``_graphs.make_raw_onnx`` (batch 1), built once; tests
    read it, never change it."""
    pytest.importorskip("onnx")
    import _graphs

    return _graphs.make_raw_onnx(tmp_path_factory.mktemp("tiny_onnx") / "tiny.onnx")


def logit(p: float, eps: float = 1e-6) -> float:
    """The inverse of the sigmoid (``p`` clamped to ``[eps, 1 - eps]``)."""
    p = min(max(float(p), eps), 1.0 - eps)
    return math.log(p / (1.0 - p))


def encode(
    box: Sequence[float], keypoints: np.ndarray, cell: Tuple[int, int], stride: float, anchor: Tuple[float, float]
) -> Tuple[np.ndarray, np.ndarray]:
    """Raw outputs of one anchor of one grid cell that decode (paper Sec. 3) to ``box`` and ``keypoints``.

    ``box`` is ``(cx, cy, w, h)`` and ``keypoints`` ``(K, 2)`` x, y, in input pixels (or in grid
    units with ``stride=1``); ``cell`` is ``(gx, gy)``, ``anchor`` ``(w, h)`` in the same units.
    Returns the box logits ``(tx, ty, tw, th)`` and the raw keypoint values ``(K, 2)``:
    ``xy = (2 sigmoid(t) - 0.5 + g) s``, ``wh = (2 sigmoid(t))^2 anchor``, ``kpt = (2 raw - 0.5 + g) s``.
    """
    cx, cy, w, h = (float(v) for v in box)
    gx, gy = cell
    aw, ah = anchor
    t = np.array([
        logit((cx / stride - gx + 0.5) / 2), logit((cy / stride - gy + 0.5) / 2),
        logit(math.sqrt(w / aw) / 2), logit(math.sqrt(h / ah) / 2),
    ])
    kp = np.asarray(keypoints, np.float64)
    raw = np.stack([(kp[:, 0] / stride - gx + 0.5) / 2, (kp[:, 1] / stride - gy + 0.5) / 2], axis=1)
    return t, raw

