"""Augmentation keeps every keypoint on its body part: images carry a distinctly coloured marker
under each keypoint; after each transform the colour under each transformed keypoint must be that
keypoint's (or, after a flip, its mirror partner's)."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from yolopose.core.keypoints import COCO_FLIP_INDEX  # noqa: E402
from yolopose.core.ops import letterbox  # noqa: E402
from yolopose.training.data import build_dataset  # noqa: E402
from yolopose.training.data.augment import (AugmentHyp, Labels, augment_hsv, flip_lr,  # noqa: E402
                                            letterbox_with_labels, mosaic4, random_affine, resize_long_side)

K = 17
PALETTE = np.array([(r, g, b) for r in (0, 128, 255) for g in (0, 128, 255) for b in (0, 128, 255)
                    if not (r == g == b)][:K], dtype=np.int32)
BACKGROUND = np.array([30, 30, 30])
R = 5  # marker radius


def marker_image(rng, w=96, h=96):
    """An image with one marker per keypoint; returns it and its Labels (one person)."""
    img = Image.new("RGB", (w, h), tuple(int(c) for c in BACKGROUND))
    d = ImageDraw.Draw(img)
    cols, rows = 5, 4  # one marker per cell of a jittered grid, so markers never touch
    cw, ch = w / cols, h / rows
    cells = rng.permutation(cols * rows)[:K]
    pts = []
    for c in cells:
        cx = (c % cols + 0.5) * cw + rng.uniform(-1, 1) * max(0.0, cw / 2 - R - 1)
        cy = (c // cols + 0.5) * ch + rng.uniform(-1, 1) * max(0.0, ch / 2 - R - 1)
        pts.append((int(cx), int(cy)))
    kp = np.zeros((1, K, 3), np.float32)
    for j, (x, y) in enumerate(pts):
        d.ellipse([x - R, y - R, x + R, y + R], fill=tuple(int(v) for v in PALETTE[j]))
        kp[0, j] = (x + 0.5, y + 0.5, 2)  # centre of the drawn disc in continuous coordinates
    xs, ys = kp[0, :, 0], kp[0, :, 1]
    box = np.array([[xs.min() - R, ys.min() - R, xs.max() + R, ys.max() + R]], np.float32)
    return np.asarray(img), Labels.make(box, kp)


def colour_index(image, x, y):
    px = image[int(math.floor(y)), int(math.floor(x))].astype(np.int32)
    choices = np.concatenate([PALETTE, BACKGROUND[None], np.array([[114, 114, 114]])], 0)
    return int(np.argmin(((choices - px) ** 2).sum(1)))


def assert_on_markers(image, labels, expected=None):
    n = 0
    for person in labels.keypoints:
        for j, (x, y, v) in enumerate(person):
            if v == 0:
                assert x == 0 and y == 0
                continue
            want = j if expected is None else expected[j]
            assert colour_index(image, x, y) == want, (j, x, y)
            n += 1
    return n


def test_letterbox_keeps_keypoints_on_markers():
    img, lab = marker_image(np.random.default_rng(0), 96, 64)
    out, moved, t = letterbox_with_labels(img, lab, 128)
    ref, _ = letterbox(img, 128)
    assert np.array_equal(out, ref)  # the SDK's letterbox, bit for bit
    assert assert_on_markers(out, moved) == K


@pytest.mark.parametrize("seed", range(4))
def test_random_affine_keeps_keypoints_on_markers(seed):
    rng = np.random.default_rng(seed)
    img, lab = marker_image(rng)
    hyp = AugmentHyp(degrees=25, translate=0.2, scale=0.5, shear=8)
    out, moved = random_affine(img, lab, 96, hyp, rng)
    assert out.shape == (96, 96, 3)
    if len(moved):
        assert_on_markers(out, moved)


def test_keypoints_pushed_outside_get_v0():
    img, lab = marker_image(np.random.default_rng(3))
    m = np.array([[1.0, 0, 40.0], [0, 1.0, 0], [0, 0, 1]])  # shift right by 40 px
    out, moved = random_affine(img, lab, 96, AugmentHyp(), np.random.default_rng(0), matrix=m)
    gone = lab.keypoints[0, :, 0] + 40 >= 96
    assert gone.any() and len(moved) == 1
    assert (moved.keypoints[0, gone] == 0).all()
    assert (moved.keypoints[0, ~gone, 2] == 2).all()
    assert_on_markers(out, moved)


@pytest.mark.parametrize("seed", range(3))
def test_mosaic_then_affine_keeps_keypoints_on_markers(seed):
    rng = np.random.default_rng(seed)
    tiles = [resize_long_side(*marker_image(rng, int(rng.integers(64, 112)), int(rng.integers(64, 112))), 96)
             for _ in range(4)]
    canvas, lab = mosaic4(tiles, 96, rng, K)
    assert canvas.shape == (192, 192, 3)
    assert assert_on_markers(canvas, lab) > 0
    out, moved = random_affine(canvas, lab, 96, AugmentHyp(), rng, src_center=(96, 96))
    assert_on_markers(out, moved)


def test_flip_swaps_left_and_right():
    img, lab = marker_image(np.random.default_rng(5))
    out, flipped = flip_lr(img, lab, COCO_FLIP_INDEX)
    assert np.array_equal(out, img[:, ::-1])
    # the slot "left wrist" now holds the mirrored right wrist (the figure's left in the mirror)
    assert assert_on_markers(out, flipped, expected=COCO_FLIP_INDEX) == K


def test_flip_keeps_left_keypoints_on_the_figures_left():
    from yolopose.training.synth import Background, Pose, Scene, render, sample_person

    person = replace(sample_person(np.random.default_rng(2), 60, 60, 100), yaw=0.0, roll=0.0, pose=Pose())
    image, anns = render(Scene(size=(120, 120), background=Background("gradient", 0, 0), persons=(person,)))
    kp = anns[0]["keypoints"][None]
    box = np.array([[anns[0]["bbox"][0], anns[0]["bbox"][1], anns[0]["bbox"][0] + anns[0]["bbox"][2],
                     anns[0]["bbox"][1] + anns[0]["bbox"][3]]], np.float32)
    _, flipped = flip_lr(image, Labels.make(box, kp), COCO_FLIP_INDEX)
    # a mirrored person facing the camera still faces it: left keypoints stay on the image right
    assert flipped.keypoints[0, 5, 0] > flipped.keypoints[0, 6, 0]
    assert flipped.keypoints[0, 11, 0] > flipped.keypoints[0, 12, 0]


def test_hsv_changes_colours_not_geometry():
    rng = np.random.default_rng(1)
    img, _ = marker_image(rng)
    assert np.array_equal(augment_hsv(img, AugmentHyp(hsv_h=0, hsv_s=0, hsv_v=0), rng), img)
    out = augment_hsv(img, AugmentHyp(hsv_h=0.5, hsv_s=0.7, hsv_v=0.4), np.random.default_rng(2))
    assert out.shape == img.shape and not np.array_equal(out, img)
    marker = (np.abs(img.astype(int) - BACKGROUND).sum(-1) > 0)
    changed_bg = np.abs(out.astype(int) - out[0, 0].astype(int)).sum(-1) > 6
    assert (marker == changed_bg).mean() > 0.97  # the markers are where they were


def _marker_dataset(root: Path, n: int = 4) -> Path:
    rng = np.random.default_rng(11)
    (root / "images").mkdir(parents=True)
    images, anns = [], []
    for i in range(n):
        img, lab = marker_image(rng, int(rng.integers(72, 120)), int(rng.integers(72, 120)))
        Image.fromarray(img).save(root / "images" / f"{i}.png")
        h, w = img.shape[:2]
        images.append({"id": i + 1, "file_name": f"{i}.png", "width": w, "height": h})
        b = lab.boxes[0]
        anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
                     "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                     "area": float((b[2] - b[0]) * (b[3] - b[1])),
                     "keypoints": [float(v) for v in lab.keypoints[0].ravel()], "num_keypoints": K})
    path = root / "person_keypoints_markers.json"
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": 1, "name": "person", "keypoints": [f"k{j}" for j in range(K)]}]}))
    return path


def test_full_training_pipeline_keeps_keypoints_on_markers(tmp_path):
    path = _marker_dataset(tmp_path)
    hyp = AugmentHyp(hsv_h=0.0, hsv_s=0.0, hsv_v=0.0)  # colours must stay comparable
    ds = build_dataset(path, 96, augment=True, hyp=hyp, cache_dir=tmp_path / "c")
    assert ds.flip_index == COCO_FLIP_INDEX
    seen_flip = seen_plain = 0
    for seed in range(8):
        torch.manual_seed(seed)
        image, targets, _ = ds[seed % len(ds)]
        img = image.permute(1, 2, 0).numpy()
        kp = targets[:, 6:].reshape(-1, K, 3).numpy().copy()
        kp[..., :2] *= 96
        lab = Labels(targets[:, 2:6].numpy(), kp, np.zeros(len(kp), np.float32))
        try:
            assert_on_markers(img, lab)
            seen_plain += 1
        except AssertionError:
            assert_on_markers(img, lab, expected=COCO_FLIP_INDEX)
            seen_flip += 1
    assert seen_plain and seen_flip


def test_hyp_validation():
    with pytest.raises(ValueError, match="mosaic"):
        AugmentHyp(mosaic=1.5)
