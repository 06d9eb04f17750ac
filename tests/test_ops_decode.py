"""decode / decode_flat / quantization / scaling against hand-computed values."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import _graphs as g
from yolopose.core.ops import QuantParams, decode, decode_flat, dequantize, letterbox, quantize, quantize_pixels, scale_keypoints


def _levels(consts=None):
    consts = consts or g.raw_constants()
    return [tuple(consts[(lvl, kind)] for kind in ("det", "kpt_xy", "kpt_conf")) for lvl in range(len(g.STRIDES))]


def test_decode_matches_hand_computed_people():
    (cand,) = decode(_levels(), g.STRIDES, g.ANCHORS, conf_threshold=0.01)
    expected = g.expected_people()
    order = np.argsort(-cand.scores, kind="stable")
    assert len(cand) == len(expected) == 4
    for i, exp in zip(order, expected):
        np.testing.assert_allclose(cand.boxes[i], exp["box"], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(cand.scores[i], exp["score"], rtol=1e-5)
        np.testing.assert_allclose(cand.keypoints[i], exp["keypoints"], rtol=1e-5, atol=1e-4)
    assert cand.class_ids.tolist() == [0, 0, 0, 0]


def test_decode_people_a_by_hand():
    """Person A: level 0 (stride 16), cell (1, 2), anchor (40, 50), all box logits 0."""
    (cand,) = decode(_levels(), g.STRIDES, g.ANCHORS, conf_threshold=0.8)
    assert len(cand) == 1
    np.testing.assert_allclose(cand.boxes[0], [24 - 20, 40 - 25, 24 + 20, 40 + 25], atol=1e-4)
    # keypoint 0: raw (0.25, 0.25) -> (2 * 0.25 - 0.5 + g) * 16 = g * 16
    np.testing.assert_allclose(cand.keypoints[0, 0, :2], [16.0, 32.0], atol=1e-4)
    np.testing.assert_allclose(cand.scores[0], 1 / (1 + np.exp(-3.0)) / (1 + np.exp(-2.0)), rtol=1e-6)


@pytest.mark.parametrize("conf, n", [(0.9, 0), (0.6, 2), (0.25, 3), (0.001, 4)])
def test_decode_threshold(conf, n):
    (cand,) = decode(_levels(), g.STRIDES, g.ANCHORS, conf_threshold=conf)
    assert len(cand) == n
    assert (cand.scores >= conf).all()


def test_decode_batch_splits_per_image():
    levels = _levels()
    batch = [tuple(np.concatenate([t, t, t]) for t in lvl) for lvl in levels]
    # image 1: every objectness far below threshold
    for det, _, _ in batch:
        det.reshape(det.shape[:3] + (g.NA, 6))[1, ..., 4] = -20.0
    c0, c1, c2 = decode(batch, g.STRIDES, g.ANCHORS, 0.25)
    assert len(c0) == len(c2) == 3 and len(c1) == 0
    np.testing.assert_array_equal(c0.boxes, c2.boxes)


def test_decode_no_overflow_warnings():
    levels = _levels()
    levels[0][0].reshape(1, 4, 4, g.NA, 6)[..., :4] = -1000.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decode(levels, g.STRIDES, g.ANCHORS, 0.01)


def test_decode_flat_channels_first_and_last():
    for cf in (True, False):
        pred = g.decoded_constants(channels_first=cf)
        (cand,) = decode_flat(pred, 0.5, channels_first=cf)
        assert len(cand) == 3
        np.testing.assert_allclose(cand.boxes[0], [12, 10, 28, 50])
        np.testing.assert_allclose(cand.keypoints[0, 1], [15, 14, 0.15], atol=1e-6)


def test_decode_flat_normalized_and_2d_keypoints():
    pred = g.decoded_constants(channels_first=False).copy()
    pred[..., [0, 2]] /= 64
    pred[..., [1, 3]] /= 64
    pred[..., 5::3] /= 64
    pred[..., 6::3] /= 64
    (cand,) = decode_flat(pred, 0.5, channels_first=False, input_size=(64, 64), normalized=True)
    np.testing.assert_allclose(cand.boxes[0], [12, 10, 28, 50], atol=1e-4)
    xy_only = np.concatenate([pred[..., :5], pred[..., 5:].reshape(1, -1, 17, 3)[..., :2].reshape(1, -1, 34)], -1)
    (cand2,) = decode_flat(xy_only, 0.5, kpt_dims=2, channels_first=False)
    assert cand2.keypoints.shape == (3, 17, 3) and (cand2.keypoints[..., 2] == 1).all()
    with pytest.raises(ValueError):
        decode_flat(np.zeros((1, 55, 8), np.float32))


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float32, (20,), elements=st.floats(-3, 3, width=32)),
       st.sampled_from([(1 / 255, -128, "int8"), (0.05, 3, "int8"), (0.02, 128, "uint8")]))
def test_quantize_round_trip(x, params):
    q = QuantParams(*params)
    back = dequantize(quantize(x, q), q)
    info = np.iinfo(q.dtype)
    lo, hi = (info.min - q.zero_point) * q.scale, (info.max - q.zero_point) * q.scale
    inside = (x >= lo) & (x <= hi)
    assert np.all(np.abs(back[inside] - x[inside]) <= q.scale / 2 + 1e-6)


def test_quantize_pixels_exact_for_1_over_255():
    px = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    q = QuantParams(1 / 255, -128, "int8")
    np.testing.assert_array_equal(quantize_pixels(px, q).astype(int), px.astype(int) - 128)
    np.testing.assert_array_equal(quantize_pixels(px, q), quantize(px / np.float32(255), q))
    with pytest.raises(ValueError):
        QuantParams(0.0, 0, "int8")


def test_scale_keypoints_inverts_letterbox():
    img = np.zeros((100, 200, 3), np.uint8)
    _, t = letterbox(img, 64)
    kp = np.array([[[0, 0, 0.5], [200, 100, 0.9]]], np.float32)
    net = kp.copy()
    net[..., :2] = t.to_letterbox(kp[..., :2])
    np.testing.assert_allclose(scale_keypoints(net, t), kp, atol=1e-4)


def test_encode_is_the_inverse_of_the_sdk_decode():
    """The helper the other tests rely on (``conftest.encode``), checked against the SDK's decode."""
    from conftest import encode

    from yolopose.core.ops import decode

    stride, anchor, cell = 16, (30.0, 50.0), (2, 1)
    kp = np.array([[40.0, 20.0], [33.5, 30.25]])
    t, raw = encode((41.0, 26.0, 24.0, 70.0), kp, cell, stride, anchor)
    det = np.full((1, 4, 4, 6), -20.0, np.float32)
    det[0, cell[1], cell[0]] = [*t, 5.0, 5.0]
    kxy = np.zeros((1, 4, 4, 4), np.float32)
    kxy[0, cell[1], cell[0]] = raw.ravel()
    (cand,) = decode([(det, kxy, np.zeros((1, 4, 4, 2), np.float32))], [stride], [[anchor]], 0.5)
    assert len(cand) == 1
    np.testing.assert_allclose(cand.boxes[0], [29, -9, 53, 61], atol=1e-3)
    np.testing.assert_allclose(cand.keypoints[0, :, :2], kp, atol=1e-4)
