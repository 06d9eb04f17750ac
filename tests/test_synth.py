"""The synthetic people renderer and the ``yolopose-train synth`` dataset writer (numpy + Pillow)."""
from __future__ import annotations

import json
import math
from dataclasses import fields, replace

import numpy as np
import pytest

from yolopose.core.keypoints import COCO_KEYPOINT_NAMES, COCO_SKELETON
from yolopose.training.synth import (POSE_LIMITS, Background, PersonState, Pose, Scene, render, render_figure,
                                     render_scene, sample_person, sample_pose, sample_scene, walking_pose,
                                     write_dataset)

L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_EAR, R_EAR = 5, 6, 11, 12, 3, 4


def _person(yaw: float, x: float = 100.0, height: float = 160.0, seed: int = 0, **kw) -> PersonState:
    p = sample_person(np.random.default_rng(seed), x, 100.0, height)
    return replace(p, yaw=yaw, roll=0.0, pose=Pose(), **kw)


def _single(person: PersonState, size=(200, 200)):
    scene = Scene(size=size, background=Background("gradient", 1, 0), persons=(person,))
    image, anns = render(scene)
    return image, anns


def test_render_scene_is_deterministic_and_seed_dependent():
    a_img, a_ann = render_scene(np.random.default_rng([7, 0, 3]), 128)
    b_img, b_ann = render_scene(np.random.default_rng([7, 0, 3]), 128)
    c_img, _ = render_scene(np.random.default_rng([7, 0, 4]), 128)
    assert a_img.dtype == np.uint8 and a_img.ndim == 3 and max(a_img.shape[:2]) == 128
    assert np.array_equal(a_img, b_img)
    assert len(a_ann) == len(b_ann)
    for x, y in zip(a_ann, b_ann):
        assert np.array_equal(x["keypoints"], y["keypoints"]) and x["bbox"] == y["bbox"]
    assert not np.array_equal(a_img, c_img)


@pytest.mark.parametrize("yaw, left_on_image_right", [(0.0, True), (math.pi, False)])
def test_left_keypoints_are_the_figures_left(yaw, left_on_image_right):
    _, anns = _single(_person(yaw))
    kp = anns[0]["keypoints"]
    for left, right in ((L_SHOULDER, R_SHOULDER), (L_HIP, R_HIP), (L_EAR, R_EAR)):
        assert (kp[left, 0] > kp[right, 0]) == left_on_image_right


def test_side_view_hides_the_far_side():
    # yaw +pi/2: facing image right, seen from the figure's right side
    _, anns = _single(_person(math.pi / 2))
    kp = anns[0]["keypoints"]
    assert kp[R_EAR, 2] == 2 and kp[L_EAR, 2] == 1
    assert kp[R_SHOULDER, 2] == 2 and kp[L_SHOULDER, 2] == 1
    assert kp[0, 0] > kp[R_EAR, 0]  # the nose points where the figure faces
    # back view: the face is hidden, the ears are not
    _, anns = _single(_person(math.pi))
    kp = anns[0]["keypoints"]
    assert (kp[:3, 2] == 1).all() and (kp[3:5, 2] == 2).all()


def test_visible_keypoints_lie_on_the_body():
    image = np.zeros((220, 220, 3), np.uint8)
    for seed in range(6):
        person = replace(sample_person(np.random.default_rng(seed), 110, 110, 170), roll=0.0)
        image[:] = 0
        r = render_figure(image, person)
        x0, y0 = r.origin
        for j in range(17):
            x, y = r.keypoints[j]
            if r.self_hidden[j]:
                continue
            assert r.mask[int(y) - y0, int(x) - x0], (seed, COCO_KEYPOINT_NAMES[j])


def test_occlusion_and_truncation_flags():
    back = _person(0.0, x=100, seed=2, depth=10.0)  # the same figure, farther: completely hidden
    front = _person(0.0, x=100, seed=2, depth=0.0)  # same place, nearer: covers the back person
    partly = _person(0.0, x=104, seed=3, depth=10.0)
    scene = Scene(size=(200, 200), background=Background("noise", 3, 0), persons=(partly, front))
    _, anns = render(scene)
    by_person = {a["person"]: a for a in anns}
    assert 1 in by_person and (by_person[1]["keypoints"][:, 2] == 2).sum() >= 12
    if 0 in by_person:  # mostly hidden people may be dropped; if annotated, their joints are v=1
        assert (by_person[0]["keypoints"][5:, 2] == 1).sum() >= 8
    scene = Scene(size=(200, 200), background=Background("gradient", 3, 0), persons=(back, front))
    _, anns = render(scene)
    assert [a["person"] for a in anns] == [1]  # the fully hidden person is not annotated

    cut = _person(0.0, x=195, seed=4)  # half outside the right border
    _, anns = _single(cut)
    kp = anns[0]["keypoints"]
    outside = kp[:, 2] == 0
    assert outside.any() and (kp[outside, :2] == 0).all()
    assert (kp[~outside, 0] < 200).all()
    x, y, w, h = anns[0]["bbox"]
    assert x + w <= 200 and w > 0 and h > 0


def test_sampled_poses_respect_joint_limits():
    rng = np.random.default_rng(0)
    for _ in range(200):
        pose = sample_pose(rng)
        for f in fields(Pose):
            lo, hi = POSE_LIMITS[f.name]
            assert lo - 1e-9 <= getattr(pose, f.name) <= hi + 1e-9


def test_scene_api_supports_smooth_sequences():
    rng = np.random.default_rng(5)
    scene = sample_scene(rng, 96, num_people=2)
    frames = []
    for t in range(3):
        people = tuple(replace(p, x=p.x + 4 * t, pose=walking_pose(0.5 * t)) for p in scene.persons)
        frames.append(render(replace(scene, persons=people, effects=replace(scene.effects, noise=0.0)),
                             np.random.default_rng(0)))
    assert all(f[0].shape == frames[0][0].shape for f in frames)
    moved = [a for a in frames[2][1] if a["person"] == 0]
    first = [a for a in frames[0][1] if a["person"] == 0]
    if moved and first and moved[0]["keypoints"][11, 2] and first[0]["keypoints"][11, 2]:
        assert moved[0]["keypoints"][11, 0] == pytest.approx(first[0]["keypoints"][11, 0] + 8, abs=1.0)


def _check_coco(data: dict) -> None:
    cat = data["categories"][0]
    assert cat["name"] == "person" and cat["keypoints"] == list(COCO_KEYPOINT_NAMES)
    assert cat["skeleton"] == [[a + 1, b + 1] for a, b in COCO_SKELETON]
    sizes = {im["id"]: (im["width"], im["height"]) for im in data["images"]}
    ids = [a["id"] for a in data["annotations"]]
    assert len(ids) == len(set(ids))
    for a in data["annotations"]:
        w, h = sizes[a["image_id"]]
        kp = np.asarray(a["keypoints"], dtype=np.float64).reshape(17, 3)
        assert a["iscrowd"] == 0 and a["category_id"] == 1 and a["area"] > 0
        assert set(np.unique(kp[:, 2])) <= {0, 1, 2}
        assert a["num_keypoints"] == int((kp[:, 2] > 0).sum())
        assert (kp[kp[:, 2] == 0, :2] == 0).all()
        vis = kp[:, 2] > 0
        assert (kp[vis, 0] >= 0).all() and (kp[vis, 0] < w).all() and (kp[vis, 1] < h).all()
        bx, by, bw, bh = a["bbox"]
        assert bx >= 0 and by >= 0 and bw > 0 and bh > 0 and bx + bw <= w + 0.01 and by + bh <= h + 0.01


def test_write_dataset_layout_and_coco_format(tmp_path):
    summary = write_dataset(tmp_path / "ds", train=6, val=3, imgsz=96, seed=3, workers=1, preview=4)
    root = tmp_path / "ds"
    assert sorted(p.name for p in (root / "images" / "train").iterdir()) == [f"{i:06d}.jpg" for i in range(1, 7)]
    assert len(list((root / "images" / "val").iterdir())) == 3
    assert (root / "preview.jpg").stat().st_size > 0 and summary["preview"].endswith("preview.jpg")
    for split in ("train", "val"):
        data = json.loads((root / "annotations" / f"person_keypoints_{split}.json").read_text())
        _check_coco(data)
    yaml = pytest.importorskip("yaml")
    cfg = yaml.safe_load((root / "data.yaml").read_text())
    assert (root / cfg["train"]).is_file() and (root / cfg["val_images"]).is_dir()
    assert cfg["kpt_shape"] == [17, 3]


def test_dataset_loads_in_pycocotools(tmp_path):
    coco_mod = pytest.importorskip("pycocotools.coco")
    write_dataset(tmp_path, train=0, val=4, imgsz=96, seed=1, preview=0)
    coco = coco_mod.COCO(str(tmp_path / "annotations" / "person_keypoints_val.json"))
    assert len(coco.getImgIds()) == 4


@pytest.mark.slow
def test_output_does_not_depend_on_workers(tmp_path):
    write_dataset(tmp_path / "a", train=5, val=2, imgsz=64, seed=9, workers=1, preview=0)
    write_dataset(tmp_path / "b", train=5, val=2, imgsz=64, seed=9, workers=2, preview=0)
    for rel in ("annotations/person_keypoints_train.json", "annotations/person_keypoints_val.json",
                "images/train/000003.jpg", "images/val/000002.jpg"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_synth_command(tmp_path):
    click_testing = pytest.importorskip("click.testing")
    pytest.importorskip("tqdm")
    from yolopose.training.cli import main

    result = click_testing.CliRunner().invoke(main, ["synth", "--out", str(tmp_path / "s"), "--train", "3",
                                                      "--val", "2", "--imgsz", "64", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "preview:" in result.output
    assert (tmp_path / "s" / "data.yaml").is_file()
    assert (tmp_path / "s" / "annotations" / "person_keypoints_val.json").is_file()
