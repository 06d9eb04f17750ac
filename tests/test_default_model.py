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
from yolopose.core.ops import box_iou
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
    """What the fp32 model draws at the default confidence: one box per drawn person, no duplicates."""
    est = yolopose.PoseEstimator(ASSETS / "default_fp32.onnx")  # default conf
    for image, gt_boxes, _ in _ground_truth():
        poses = est.predict(image)
        assert 1 <= len(poses) <= len(gt_boxes), f"{image.name}: {len(poses)} boxes for {len(gt_boxes)} people"
        iou = box_iou(gt_boxes, poses.boxes)
        match = _one_to_one(iou)
        assert sum(iou[i, j] >= 0.4 for i, j in match.items()) == len(poses), f"{image.name}: a box matches no person"


#: the mixed-int8 QAT model's known extra box: a second box on sample 1's half-hidden person
#: (score 0.26; the fp32 model scores the same box 0.24, just under the default 0.25)
INT8_EXTRA_BOXES = 1


def test_the_default_int8_model_draws_the_people_the_fp32_model_draws():
    """What `yolopose predict` draws by default (the int8 TFLite): every person the fp32 model
    finds, every box on a drawn person, and at most INT8_EXTRA_BOXES second boxes over the samples."""
    fp32 = yolopose.PoseEstimator(ASSETS / "default_fp32.onnx")
    if not any(spec.installed() for spec in backends_for(ASSETS / "default_int8.tflite")):
        pytest.skip("no TFLite engine installed here")
    int8 = yolopose.PoseEstimator()  # the bundled default, default conf
    assert int8.metadata.precision == "int8"
    extra = 0
    for image, gt_boxes, _ in _ground_truth():
        want, got = fp32.predict(image), int8.predict(image)
        iou = box_iou(gt_boxes, got.boxes)
        assert (iou.max(0) >= 0.4).all(), f"{image.name}: a box on no drawn person (IoU {iou.max(0)})"
        found = {i for i, j in _one_to_one(box_iou(gt_boxes, want.boxes)).items()}
        matched = {i for i, j in _one_to_one(iou).items() if iou[i, j] >= 0.4}
        assert found <= matched, f"{image.name}: the int8 model misses a person the fp32 model finds"
        extra += len(got) - len(matched)
    assert extra <= INT8_EXTRA_BOXES, f"{extra} second boxes over the samples"


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


# ----------------------------------------------------------------------------- the first hour
README = Path(__file__).resolve().parents[1] / "README.md"
README_BENCH = "yolopose bench default_fp32.onnx default_int8.tflite --threads 2"


def test_info_and_bench_without_a_model_use_the_bundled_one(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from yolopose._assets import default_model_path
    from yolopose.cli import main

    monkeypatch.chdir(tmp_path)  # nothing named like a model here
    default = default_model_path()
    shown = CliRunner().invoke(main, ["info"])
    assert shown.exit_code == 0, shown.output
    mib = f"{default.stat().st_size / 2**20:.2f} MiB"
    assert str(default) in shown.output and "bundled default model" in shown.output and mib in shown.output
    assert " MB" not in shown.output
    res = CliRunner().invoke(main, ["bench", "--runs", "2", "--warmup", "0", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert default.name in res.output and "size MiB" in res.output and " MB" not in res.output
    assert f"{default.stat().st_size / 2**20:.2f}" in res.output


def test_the_readme_bench_command_runs_as_written(tmp_path, monkeypatch):
    """The bundled files are found by name from any folder (a local file of that name would win)."""
    from click.testing import CliRunner

    from yolopose.cli import main

    if not all(any(s.installed() for s in backends_for(ASSETS / a)) for a in ARTIFACTS):
        pytest.skip("needs an engine for each bundled model")
    assert README_BENCH in README.read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = README_BENCH.split()[1:] + ["--runs", "2", "--warmup", "0", "--no-progress"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "default_fp32.onnx" in res.output and "default_int8.tflite" in res.output and "does not exist" not in res.output
    res = CliRunner().invoke(main, ["bench", "default_fp32.onnx@onnxruntime", "--runs", "1", "--warmup", "0", "--no-progress"])
    assert res.exit_code == 0 and "default_fp32.onnx" in res.output and "onnxruntime:cpu" in res.output, res.output
