"""Shared helpers for the official-checkpoint tests: fixture paths and the official outputs as
decoded candidates in our order."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Tuple

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures" / "official"
#: fixture name -> (weights the file holds, variant)
OFFICIAL_FIXTURES: Dict[str, Tuple[str, str]] = {
    "official_s6_tiny": ("model", "standard"),  # a release file (strip_optimizer, numpy.core names)
    "official_s6_ti_lite_tiny": ("ema", "ti_lite"),  # train.py's last.pt (model + ema + optimizer)
}
STRIDES = (8, 16, 32, 64)
NUM_ANCHORS = 3


def fixture_input() -> np.ndarray:
    """The fixed 64x128 RGB uint8 image the official outputs were computed on."""
    return np.load(FIXTURES / "input_64x128.npy")


def official_candidates(name: str) -> Dict[str, np.ndarray]:
    """The official model's decoded output on :func:`fixture_input`, as xyxy boxes, scores
    (obj * cls) and keypoints, reordered from their (level, anchor, y, x) to our decode order
    (level, y, x, anchor)."""
    pred = np.load(FIXTURES / f"{name}_outputs.npz")["pred"]
    h, w = fixture_input().shape[:2]
    order = []
    start = 0
    for s in STRIDES:
        gh, gw = h // s, w // s
        idx = np.arange(NUM_ANCHORS * gh * gw).reshape(NUM_ANCHORS, gh, gw) + start
        order.append(idx.transpose(1, 2, 0).reshape(-1))
        start += NUM_ANCHORS * gh * gw
    pred = pred[np.concatenate(order)]
    xy, wh = pred[:, 0:2], pred[:, 2:4]
    return {
        "boxes": np.concatenate([xy - wh / 2, xy + wh / 2], axis=1),
        "scores": pred[:, 4] * pred[:, 5],
        "keypoints": pred[:, 6:].reshape(len(pred), -1, 3),
    }
