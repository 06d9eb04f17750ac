"""The bundled default model and samples: present, small, honest metadata, runnable end to end.

The samples are held-out images of the synthetic set the model was trained on (never seen in
training); their ground truth ships beside them (``sdk/assets/samples/annotations.json``). The
bundled model is an early checkpoint (see docs/results/default_model.md): a test that it finds the
drawn people with rough keypoints belongs here once a trained model is bundled.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import yolopose
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
