"""NMS: exact agreement with a plain greedy reference written like torchvision's CPU kernel."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from yolopose.core.ops import PostprocessSettings, batched_nms, box_iou, nms


def reference_nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> np.ndarray:
    """torchvision's nms_kernel_impl, transcribed as a loop (element arithmetic in the box dtype)."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    areas = (x2 - x1) * (y2 - y1)
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for _i, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[_i + 1 :]:
            if suppressed[j]:
                continue
            w = max(boxes.dtype.type(0), min(x2[i], x2[j]) - max(x1[i], x1[j]))
            h = max(boxes.dtype.type(0), min(y2[i], y2[j]) - max(y1[i], y1[j]))
            inter = w * h
            with np.errstate(invalid="ignore", divide="ignore"):
                ovr = inter / (areas[i] + areas[j] - inter)
            if float(ovr) > thr:  # C++ promotes the float IoU to double for the comparison
                suppressed[j] = True
    return np.asarray(keep, dtype=np.int64)


def _boxes_from(raw: np.ndarray) -> np.ndarray:
    xy = raw[:, :2]
    wh = np.abs(raw[:, 2:])
    return np.concatenate([xy, xy + wh], axis=1)


coords = st.floats(-50, 50, allow_nan=False, width=32)
grid_coords = st.integers(0, 6).map(float)  # coarse grid: many identical boxes, ties, touching edges


@st.composite
def nms_cases(draw):
    n = draw(st.integers(0, 60))
    elements = draw(st.sampled_from([coords, grid_coords]))
    raw = draw(hnp.arrays(np.float32, (n, 4), elements=elements))
    boxes = _boxes_from(raw).astype(np.float32)
    if n and draw(st.booleans()):  # duplicate some boxes exactly
        idx = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, n - 1)))
        boxes = boxes[idx]
    score_elems = draw(st.sampled_from([st.floats(0, 1, width=32), st.sampled_from([0.1, 0.5, 0.9]).map(float)]))
    scores = draw(hnp.arrays(np.float32, (n,), elements=score_elems))
    thr = draw(st.sampled_from([0.0, 0.3, 0.45, 0.5, 0.65, 0.7, 1.0 / 3.0, 0.999]))
    block = draw(st.sampled_from([1, 3, 7, 256]))
    return boxes, scores, thr, block


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nms_cases())
def test_nms_matches_reference(case):
    boxes, scores, thr, block = case
    expected = reference_nms(boxes, scores, thr)
    got = nms(boxes, scores, thr, block_size=block)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
    for k in (1, 2, 5):
        np.testing.assert_array_equal(nms(boxes, scores, thr, max_output=k, block_size=block), expected[:k])


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.floats(0.05, 0.95))
def test_nms_chain_of_overlaps(n, thr):
    """Each box overlaps only its neighbour: the worst case for the fixed-point iteration."""
    x = np.arange(n, dtype=np.float32) * 0.5
    boxes = np.stack([x, np.zeros_like(x), x + 1, np.ones_like(x)], axis=1)
    scores = np.linspace(1, 0.1, n).astype(np.float32)
    np.testing.assert_array_equal(nms(boxes, scores, thr, block_size=4), reference_nms(boxes, scores, thr))


def test_nms_edge_cases():
    z = np.zeros((0, 4), np.float32)
    assert nms(z, np.zeros(0, np.float32), 0.5).shape == (0,)
    # identical boxes, equal scores: the lowest index wins
    boxes = np.tile(np.array([[0, 0, 10, 10]], np.float32), (4, 1))
    assert nms(boxes, np.ones(4, np.float32), 0.5).tolist() == [0]
    # zero-area boxes never suppress (0/0 is NaN, and NaN > t is false)
    boxes = np.array([[5, 5, 5, 5]] * 3, np.float32)
    assert nms(boxes, np.array([0.3, 0.9, 0.5], np.float32), 0.1).tolist() == [1, 2, 0]
    # IoU exactly at the threshold is kept (strict >)
    boxes = np.array([[0, 0, 2, 1], [1, 0, 3, 1]], np.float32)  # IoU 1/3
    assert nms(boxes, np.array([1.0, 0.5], np.float32), 0.5).tolist() == [0, 1]
    boxes = np.array([[0, 0, 4, 1], [0, 0, 2, 1]], np.float32)  # IoU exactly 0.5
    assert nms(boxes, np.array([1.0, 0.5], np.float32), 0.5).tolist() == [0, 1]
    assert nms(boxes, np.array([1.0, 0.5], np.float32), 0.4999).tolist() == [0]


def test_nms_large_input_bounded():
    rng = np.random.default_rng(0)
    n = 30000
    xy = rng.uniform(0, 1280, (n, 2)).astype(np.float32)
    wh = rng.uniform(4, 200, (n, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + wh], 1)
    scores = rng.random(n).astype(np.float32)
    got = nms(boxes, scores, 0.65, max_output=300)
    assert len(got) == 300
    # the prefix property: the same as the full run's first 300 on a subset the reference can do
    sub = np.argsort(-scores, kind="stable")[:600]
    ref = reference_nms(boxes[sub], scores[sub], 0.65)
    np.testing.assert_array_equal(got[: min(300, len(ref))], sub[ref][:300])


def test_batched_nms_keeps_classes_apart():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert batched_nms(boxes, scores, np.array([0, 1, 0]), 0.5).tolist() == [0, 1]
    assert batched_nms(boxes, scores, np.array([0, 0, 0]), 0.5).tolist() == [0]


def test_box_iou_values():
    a = np.array([[0, 0, 2, 2]], np.float32)
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]], np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7, 1.0, 0.0]], rtol=1e-6)


@pytest.mark.parametrize("bad", [np.zeros((3, 3)), np.zeros(4)])
def test_nms_rejects_bad_shapes(bad):
    with pytest.raises(ValueError):
        nms(bad, np.zeros(len(bad)), 0.5)


def _cands(boxes, scores, class_ids=None):
    from yolopose.core.ops import Candidates

    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    n = len(boxes)
    kp = np.repeat(boxes[:, None, :3], 17, axis=1)  # any keypoints: they ride along with their box
    ids = np.zeros(n, np.int64) if class_ids is None else np.asarray(class_ids, np.int64)
    return Candidates(boxes, np.asarray(scores, np.float32), kp, ids)


def test_select_detections_caps_candidates_and_results():
    from yolopose.core.ops import select_detections

    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [100, 100, 120, 120], [200, 0, 210, 5]]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    det = select_detections(_cands(boxes, scores), PostprocessSettings(iou=0.65, max_det=300, max_nms=30000))
    assert det.scores.tolist() == pytest.approx([0.9, 0.7, 0.6, 0.5])  # box 1 suppressed by box 0
    assert np.array_equal(det.keypoints[:, 0, :3], det.boxes[:, :3])
    assert len(select_detections(_cands(boxes, scores), PostprocessSettings(iou=0.65, max_det=2, max_nms=30000))) == 2
    capped = select_detections(_cands(boxes, scores), PostprocessSettings(iou=0.65, max_det=300, max_nms=3))  # only the 3 best enter NMS
    assert capped.scores.tolist() == pytest.approx([0.9, 0.7])
    assert len(select_detections(_cands(np.zeros((0, 4)), []), PostprocessSettings())) == 0


def test_select_detections_is_per_class_and_cuts_ties_at_the_lower_index():
    from yolopose.core.ops import select_detections

    same = [[0, 0, 10, 10]] * 2
    assert len(select_detections(_cands(same, [0.9, 0.8], [0, 1]), PostprocessSettings(iou=0.5))) == 2  # other class: no suppression
    assert len(select_detections(_cands(same, [0.9, 0.8], [0, 0]), PostprocessSettings(iou=0.5))) == 1
    far = [[100.0 * i, 0, 100.0 * i + 10, 10] for i in range(5)]
    det = select_detections(_cands(far, [0.5, 0.7, 0.5, 0.5, 0.9]), PostprocessSettings(iou=0.5, max_nms=3))
    assert det.boxes[:, 0].tolist() == [400, 100, 0]  # 0.9, 0.7, then the first of the tied 0.5s
