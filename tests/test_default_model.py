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
    assert meta.model == "yolov5n-pose" and meta.imgsz == (256, 256)
    assert meta.precision == ("int8" if name.endswith(".tflite") else "fp32")
    for image, gt_boxes, _ in _ground_truth():
        poses = est.predict(image)
        assert poses.keypoints.shape[1:] == (17, 3)
        if len(poses):  # whatever it finds lies inside the image
            h, w = np.asarray(Image.open(image)).shape[:2]
            assert (poses.boxes[:, 2] <= w).all() and (poses.boxes[:, 3] <= h).all()


#: artifact -> (median keypoint error / person height allowed), at conf 0.5. Measured with the
#: bundled yolov5n-pose (keypoint AP 0.16 on synthetic validation splits): 0.02-0.19 in fp32,
#: 0.03-0.17 in int8.
FINDS_PEOPLE = {"default_fp32.onnx": 0.2, "default_int8.tflite": 0.2}
#: drawn people the model may miss over all samples (sample 3's second person stands half hidden
#: behind the first)
MISSES_ALLOWED = 1


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
    """Every detection is a distinct drawn person (box IoU >= 0.4, one detection per person: no
    duplicates), keypoints near the generator's ground truth, and at most MISSES_ALLOWED drawn
    people missed over all samples."""
    tolerance = FINDS_PEOPLE[name]
    est = _estimator(name)  # conf 0.5
    missed = 0
    for image, gt_boxes, gt_kpts in _ground_truth():
        poses = est.predict(image)
        assert len(poses) <= len(gt_boxes), f"{image.name}: {len(poses)} detections for {len(gt_boxes)} drawn people"
        iou = box_iou(gt_boxes, poses.boxes) if len(poses) else np.zeros((len(gt_boxes), 0))
        match = _one_to_one(iou) if len(poses) else {}
        good = {i: j for i, j in match.items() if iou[i, j] >= 0.4}
        assert len(good) == len(poses), f"{image.name}: a detection matches no drawn person (IoU {iou.max(0)})"
        missed += len(gt_boxes) - len(good)
        for i, j in sorted(good.items()):
            visible = gt_kpts[i, :, 2] > 0
            err = np.hypot(*(poses.keypoints[j, :, :2] - gt_kpts[i, :, :2])[visible].T)
            height = gt_boxes[i, 3] - gt_boxes[i, 1]
            assert np.median(err) <= tolerance * height, f"{image.name}: person {i} median keypoint error {np.median(err):.1f} px, height {height:.0f} px"
    assert missed <= MISSES_ALLOWED, f"{missed} drawn people missed over the samples"


def test_one_box_per_person_at_the_default_confidence():
    """What `yolopose predict` draws by default: no duplicate boxes on the samples."""
    est = yolopose.PoseEstimator()  # default conf
    for image, gt_boxes, _ in _ground_truth():
        poses = est.predict(image)
        assert 1 <= len(poses) <= len(gt_boxes), f"{image.name}: {len(poses)} boxes for {len(gt_boxes)} people"
        iou = box_iou(gt_boxes, poses.boxes)
        match = _one_to_one(iou)
        assert sum(iou[i, j] >= 0.4 for i, j in match.items()) == len(poses), f"{image.name}: a box matches no person"


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
