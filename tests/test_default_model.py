"""The bundled default model and samples: present, small, honest metadata, runnable end to end.

The samples are held-out images of the synthetic set the model was trained on (never seen in
training); their ground truth ships beside them (``sdk/assets/samples/annotations.json``). The
bundled model is far from the issue's AP target (docs/results/default_model.md), so "rough
keypoints" here means what it does reach: every drawn person found, and the median keypoint
error within a fraction of the person's height.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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
def test_bundled_artifacts_say_what_they_are_and_run_on_the_samples(name):
    est = _estimator(name)
    meta = est.metadata
    assert "synthetic" in meta.trained_on and "NOT COCO" in meta.trained_on
    assert meta.model == "yolov5n-pose-lite" and meta.imgsz == (256, 256)
    assert meta.precision == ("int8" if name.endswith(".tflite") else "fp32")
    for image, gt_boxes, _ in _ground_truth():
        poses = est.predict(image)
        assert poses.keypoints.shape[1:] == (17, 3)
        if len(poses):  # whatever it finds lies inside the image
            h, w = np.asarray(Image.open(image)).shape[:2]
            assert (poses.boxes[:, 2] <= w).all() and (poses.boxes[:, 3] <= h).all()


#: artifact -> (extra detections allowed, median keypoint error / person height allowed), at conf 0.5.
#: The int8 model's scores come in coarse steps, so a duplicate can pass NMS at the same conf.
FINDS_PEOPLE = {"default_fp32.onnx": (0, 0.15), "default_int8.tflite": (1, 0.2)}


def _one_to_one(iou: np.ndarray) -> dict:
    """Greedy one-to-one matching, highest IoU first: ground-truth row -> prediction column."""
    match: dict = {}
    for flat in np.argsort(-iou, axis=None):
        i, j = np.unravel_index(flat, iou.shape)
        if i not in match and j not in match.values():
            match[int(i)] = int(j)
    return match


@pytest.mark.parametrize("name", ARTIFACTS)
def test_the_default_model_finds_the_people_in_the_samples(name):
    """Each drawn person is detected (box IoU >= 0.4 with one prediction, one prediction per
    person) with keypoints near the generator's ground truth; no more detections than allowed."""
    extra, tolerance = FINDS_PEOPLE[name]
    est = _estimator(name)  # conf 0.5
    for image, gt_boxes, gt_kpts in _ground_truth():
        poses = est.predict(image)
        assert len(gt_boxes) <= len(poses) <= len(gt_boxes) + extra, f"{image.name}: {len(poses)} people found, {len(gt_boxes)} drawn"
        iou = box_iou(gt_boxes, poses.boxes)
        match = _one_to_one(iou)
        for i, j in sorted(match.items()):
            assert iou[i, j] >= 0.4, f"{image.name}: person {i} best box IoU {iou[i, j]:.2f}"
            visible = gt_kpts[i, :, 2] > 0
            err = np.hypot(*(poses.keypoints[j, :, :2] - gt_kpts[i, :, :2])[visible].T)
            height = gt_boxes[i, 3] - gt_boxes[i, 1]
            assert np.median(err) <= tolerance * height, f"{image.name}: person {i} median keypoint error {np.median(err):.1f} px, height {height:.0f} px"


def test_predict_cli_on_the_bundled_samples_writes_drawings_and_json(tmp_path):
    from click.testing import CliRunner

    from yolopose.cli import main

    result = CliRunner().invoke(main, ["predict", str(SAMPLES), "--save-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    stems = sorted(p.stem for p in SAMPLES.glob("*.jpg"))
    assert names == sorted([f"{s}.jpg" for s in stems] + [f"{s}.json" for s in stems])
    record = json.loads((tmp_path / f"{stems[0]}.json").read_text())
    assert record["keypoint_names"][0] == "nose" and "poses" in record
    shown = CliRunner().invoke(main, ["info", str(ASSETS / "default_fp32.onnx")])
    assert shown.exit_code == 0 and "trained on: " in shown.output and "NOT COCO" in shown.output


def test_default_estimator_uses_the_bundled_model():
    est = yolopose.PoseEstimator()
    assert est.model_path.parent == ASSETS and est.model_path.name in ARTIFACTS
