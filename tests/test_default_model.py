"""The bundled default model finds the people drawn in the bundled samples.

The samples are held-out images of the synthetic set the model was trained on (never seen in
training); their ground truth ships beside them (``sdk/assets/samples/annotations.json``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import yolopose
from yolopose.ops import box_iou
from yolopose.runtimes import backends_for

ASSETS = Path(yolopose.__file__).resolve().parent / "assets"
SAMPLES = ASSETS / "samples"
ARTIFACTS = ("default_int8.tflite", "default_fp32.onnx")


def _ground_truth():
    gt = json.loads((SAMPLES / "annotations.json").read_text(encoding="utf-8"))
    for image in gt["images"]:
        anns = [a for a in gt["annotations"] if a["image_id"] == image["id"]]
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)], dtype=np.float32)
        kpts = np.array([a["keypoints"] for a in anns], dtype=np.float32).reshape(len(anns), -1, 3)
        yield SAMPLES / image["file_name"], boxes, kpts


def _estimator(name: str) -> yolopose.PoseEstimator:
    path = ASSETS / name
    if not any(spec.installed() for spec in backends_for(path)):
        pytest.skip(f"no engine for {name} installed here")
    return yolopose.PoseEstimator(path, conf=0.5)


def test_the_package_bundles_both_artifacts_small_and_honest():
    for name in ARTIFACTS:
        path = ASSETS / name
        assert path.is_file(), f"{name} is not bundled"
        assert path.stat().st_size < 10 * 2**20
    assert len(list(SAMPLES.glob("*.jpg"))) >= 3


@pytest.mark.parametrize("name", ARTIFACTS)
def test_default_model_finds_the_people_in_the_samples(name):
    est = _estimator(name)
    meta = est.metadata
    assert "synthetic" in meta.trained_on and "NOT COCO" in meta.trained_on
    for image, gt_boxes, gt_kpts in _ground_truth():
        poses = est.predict(image)
        assert len(poses) == len(gt_boxes), f"{image.name}: found {len(poses)} people, {len(gt_boxes)} drawn"
        iou = box_iou(gt_boxes, poses.boxes)
        match = iou.argmax(1)
        assert iou.max(1).min() >= 0.5, f"{image.name}: a person was missed (IoU {iou.max(1)})"
        assert len(set(match.tolist())) == len(gt_boxes), f"{image.name}: two people matched one detection"
        for i, j in enumerate(match):
            visible = gt_kpts[i, :, 2] > 0
            err = np.linalg.norm(poses.keypoints[j, visible, :2] - gt_kpts[i, visible, :2], axis=1)
            height = gt_boxes[i, 3] - gt_boxes[i, 1]
            assert np.median(err) < 0.1 * height, f"{image.name}: keypoints of person {i} are off by {np.median(err):.1f} px"


def test_default_estimator_uses_the_bundled_model():
    est = yolopose.PoseEstimator()
    assert est.model_path.parent == ASSETS and est.model_path.name in ARTIFACTS
