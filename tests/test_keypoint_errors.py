"""yolopose.core.evaluation.keypoint_errors: which keypoints go wrong, on hand-made ground truth and detections."""
from __future__ import annotations

import json

import numpy as np
import pytest

from yolopose.core.evaluation import FAR_OFF, keypoint_errors
from yolopose.core.keypoints import COCO_FLIP_INDEX, COCO_KEYPOINT_NAMES


def _person(x0: float, y0: float, size: float) -> np.ndarray:
    """17 distinct, labelled keypoints inside a size x size box at (x0, y0); left/right twins 0.4 * size apart."""
    rng = np.random.default_rng(int(x0 + 7 * y0))
    kpts = np.zeros((17, 3))
    kpts[:, :2] = [x0, y0] + rng.uniform(0.05, 0.95, (17, 2)) * size
    for k, twin in enumerate(COCO_FLIP_INDEX):
        if k < twin:  # twins on either side of the middle
            kpts[k, 0], kpts[twin, 0] = x0 + 0.3 * size, x0 + 0.7 * size
    kpts[:, 2] = 2
    return kpts


def _gt(people, image_id=1):
    anns = [{"id": i + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0, "bbox": [x, y, s, s], "area": s * s,
             "keypoints": k.reshape(-1).tolist(), "num_keypoints": 17} for i, (x, y, s, k) in enumerate(people)]
    return {"images": [{"id": image_id, "file_name": "a.jpg", "width": 640, "height": 640}], "annotations": anns,
            "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_KEYPOINT_NAMES)}]}


def _det(x, y, s, kpts, score=0.9, image_id=1):
    return {"image_id": image_id, "category_id": 1, "bbox": [x, y, s, s], "score": score,
            "keypoints": kpts.reshape(-1).tolist()}


def test_exact_keypoints_have_no_error():
    k = _person(10, 10, 100)
    report = keypoint_errors(_gt([(10, 10, 100, k)]), [_det(10, 10, 100, k)])
    assert (report.people, report.matched) == (1, 1)
    for row in report.keypoints:
        assert (row.count, row.median, row.hit, row.far, row.far_large) == (1, 0.0, 1.0, 0.0, 0.0)
        assert row.count_large == 1
        assert row.swapped == 0.0 if COCO_FLIP_INDEX[COCO_KEYPOINT_NAMES.index(row.name)] != COCO_KEYPOINT_NAMES.index(row.name) \
            else np.isnan(row.swapped)


def test_a_dead_keypoint_a_swap_and_an_imprecise_one_are_told_apart():
    size = 100.0
    people = [(10 + 200 * i, 10, size, _person(10 + 200 * i, 10, size)) for i in range(3)]
    dets = []
    for x, y, s, k in people:
        pred = k.copy()
        pred[1, :2] = [x + s, y + s]  # left eye stuck in a corner: far off, not swapped
        pred[[9, 10], :2] = k[[10, 9], :2]  # wrists swapped
        pred[13, 0] += 0.1 * s  # left knee imprecise: 10% of the size away
        dets.append(_det(x, y, s, pred))
    report = keypoint_errors(_gt(people), dets)
    rows = {r.name: r for r in report.keypoints}
    assert report.matched == 3
    assert rows["left_eye"].far == 1.0 and rows["left_eye"].swapped == 0.0 and rows["left_eye"].hit == 0.0
    assert rows["left_wrist"].swapped == 1.0 and rows["right_wrist"].swapped == 1.0
    assert rows["left_knee"].far == 0.0 and rows["left_knee"].median == pytest.approx(0.1)
    assert rows["left_knee"].hit == 1.0  # exp(-0.1^2 / (2 (2 x 0.087)^2)) = 0.85 >= 0.5
    assert rows["nose"].far == 0.0 and rows["nose"].swapped != rows["nose"].swapped  # no twin: nan
    assert FAR_OFF < rows["left_eye"].median


def test_only_confident_overlapping_detections_are_matched():
    k1, k2 = _person(0, 0, 50), _person(300, 300, 50)
    gt = _gt([(0, 0, 50, k1), (300, 300, 50, k2)])
    dets = [_det(0, 0, 50, k1 + [5, 0, 0], score=0.9),  # person 1
            _det(0, 0, 50, k1, score=0.1),  # below the score: ignored, though exact
            _det(150, 150, 50, k2, score=0.95)]  # overlaps nobody
    report = keypoint_errors(gt, dets)
    assert (report.people, report.matched) == (2, 1)
    assert all(r.median == pytest.approx(0.1) for r in report.keypoints)  # 5 px of a 50 px person
    assert all(r.count_large == 0 and np.isnan(r.far_large) for r in report.keypoints)
    assert keypoint_errors(gt, dets, score=0.05).matched == 1  # the better-scored one still takes person 1
    nothing = keypoint_errors(gt, [])
    assert nothing.matched == 0 and all(r.count == 0 and np.isnan(r.median) for r in nothing.keypoints)
    json.dumps(nothing.to_dict(), allow_nan=False)  # nan written as null
    assert "0 of 2 people" in nothing.table()
