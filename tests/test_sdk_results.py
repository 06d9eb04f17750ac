"""Poses: validation, container behaviour, COCO/JSON export, drawing."""
from __future__ import annotations

import json

import numpy as np
import pytest

from yolopose import Poses
from yolopose.core.draw import confidence_color
from yolopose.core.errors import ConfigError


def _poses(n=3, k=17):
    rng = np.random.default_rng(n)
    xy = rng.uniform(10, 50, (n, 2))
    boxes = np.concatenate([xy, xy + 30], 1)
    kpts = np.concatenate([rng.uniform(10, 80, (n, k, 2)), rng.uniform(0, 1, (n, k, 1))], 2)
    return Poses(boxes, np.linspace(0.9, 0.5, n), kpts)


def test_validation_and_immutability():
    p = _poses()
    assert p.boxes.dtype == np.float32 and not p.boxes.flags.writeable
    with pytest.raises(ValueError):
        p.boxes[0, 0] = 1
    with pytest.raises(AttributeError):
        p.boxes = np.zeros((3, 4))
    bad = [
        dict(boxes=np.zeros((3, 5)), scores=np.zeros(3), keypoints=np.zeros((3, 17, 3))),
        dict(boxes=np.zeros((2, 4)), scores=np.zeros(3), keypoints=np.zeros((3, 17, 3))),
        dict(boxes=np.zeros((3, 4)), scores=np.zeros(3), keypoints=np.zeros((3, 17, 2))),
        dict(boxes=np.zeros((3, 4)), scores=np.zeros((3, 1)), keypoints=np.zeros((3, 17, 3))),
        dict(boxes=np.zeros((3, 4)), scores=np.zeros(3), keypoints=np.zeros((3, 17, 3)), skeleton=((0, 17),)),
        dict(boxes=np.zeros((3, 4)), scores=np.zeros(3), keypoints=np.zeros((3, 5, 3)), keypoint_names=("a",)),
    ]
    for kw in bad:
        with pytest.raises(ConfigError):
            Poses(**kw)
    five = Poses(np.zeros((1, 4)), np.zeros(1), np.zeros((1, 5, 3)))
    assert five.keypoint_names == tuple(f"kpt_{i}" for i in range(5)) and five.skeleton == ()


def test_len_index_slice_mask_iter():
    p = _poses(4)
    assert len(p) == 4 and len(Poses.empty()) == 0 and Poses.empty().keypoints.shape == (0, 17, 3)
    assert len(p[1]) == 1 and p[-1].scores[0] == pytest.approx(0.5)
    assert len(p[1:3]) == 2 and len(p[p.scores > 0.6]) == 3 and len(p[[0, 2]]) == 2
    assert [len(x) for x in p] == [1, 1, 1, 1]
    with pytest.raises(IndexError):
        p[4]
    with pytest.raises(IndexError):
        p[np.array([True, False])]
    assert "4 people" in repr(p)


def test_to_coco_and_json():
    p = _poses(2)
    coco = p.to_coco(image_id=7)
    assert len(coco) == 2 and coco[0]["image_id"] == 7 and coco[0]["category_id"] == 1
    x1, y1, x2, y2 = p.boxes[0]
    assert coco[0]["bbox"] == pytest.approx([x1, y1, x2 - x1, y2 - y1], abs=1e-3)
    assert len(coco[0]["keypoints"]) == 51 and coco[0]["keypoints"][:2] == pytest.approx(p.keypoints[0, 0, :2].tolist(), abs=1e-3)
    data = json.loads(p.to_json())
    assert len(data["poses"]) == 2 and len(data["keypoint_names"]) == 17 and len(data["poses"][0]["keypoints"]) == 17
    assert json.loads(Poses.empty().to_json())["poses"] == []


def test_draw(tmp_path):
    p = _poses(2)
    img = np.zeros((100, 120, 3), np.uint8)
    out = p.draw(img, labels=True, kpt_threshold=0.0)
    assert out.size == (120, 100) and out.mode == "RGB"
    arr = np.asarray(out)
    assert arr.any() and not img.any()  # drew on a copy
    assert np.asarray(Poses.empty().draw(img)).sum() == 0
    assert np.asarray(p.draw(img, boxes=False, kpt_threshold=1.1)).sum() == 0  # nothing visible, no boxes
    assert confidence_color(0.0) == (255, 0, 0) and confidence_color(1.0) == (0, 255, 0) and confidence_color(0.5)[1] == 255
