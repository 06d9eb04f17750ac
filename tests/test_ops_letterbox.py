"""Letterbox: shapes, padding, and exact round trips of the point transform."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yolopose.core.errors import ImageError
from yolopose.core.ops import letterbox


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.sampled_from([64, 96, (64, 128), (128, 64)]), st.booleans())
def test_letterbox_round_trip(h, w, size, scaleup):
    img = np.full((h, w, 3), 7, np.uint8)
    out, t = letterbox(img, size, scaleup=scaleup)
    nh, nw = (size, size) if isinstance(size, int) else size
    assert out.shape == (nh, nw, 3) and out.dtype == np.uint8
    pts = np.array([[0, 0], [w, h], [w / 3, h / 2]], np.float32)
    back = t.to_original(t.to_letterbox(pts))
    np.testing.assert_allclose(back, pts, rtol=1e-4, atol=1e-3)
    # the image's corners land inside the canvas; the content is where the transform says
    x0, y0 = t.to_letterbox(np.array([0, 0], np.float32))
    assert 0 <= x0 <= nw and 0 <= y0 <= nh
    cx, cy = t.to_letterbox(np.array([w / 2, h / 2], np.float32))
    assert out[min(nh - 1, int(cy)), min(nw - 1, int(cx))].tolist() == [7, 7, 7]
    if not scaleup:
        assert t.scale <= 1.0


def test_letterbox_pads_centred_with_114():
    img = np.zeros((50, 100, 3), np.uint8)
    out, t = letterbox(img, 100)
    assert (t.pad_x, t.pad_y, t.scale) == (0.0, 25.0, 1.0)
    assert (out[:25] == 114).all() and (out[75:] == 114).all() and (out[25:75] == 0).all()


def test_boxes_to_original_clips():
    img = np.zeros((50, 100, 3), np.uint8)
    _, t = letterbox(img, 100)
    boxes = t.boxes_to_original(np.array([[-10, 0, 110, 100]], np.float32))
    np.testing.assert_allclose(boxes, [[0, 0, 100, 50]])


@pytest.mark.parametrize("bad", [np.zeros((0, 5, 3), np.uint8), np.zeros((5, 5), np.uint8), np.zeros((5, 5, 3), np.float32)])
def test_letterbox_rejects(bad):
    with pytest.raises(ImageError):
        letterbox(bad, 64)
