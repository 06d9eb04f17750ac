"""yolopose.evaluate and ``yolopose eval``: COCO results and metrics through the SDK."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from _known_detections import gt_annotation, known_raw, make_dataset, mixed_case, pose, pycocotools_direct, scene, write_onnx

from yolopose import Poses
from yolopose.core import evaluation
from yolopose.core.errors import BackendNotAvailableError, DatasetError
from yolopose.evaluate import coco_image_entries, evaluate_model, person_category_id, write_results_json


def _to_results(boxes, scores, kpts, image_id):
    kpts = np.asarray(kpts, np.float64)
    if kpts.shape[-1] == 2:
        kpts = np.concatenate([kpts, np.full(kpts.shape[:-1] + (1,), 0.9)], axis=-1)
    return Poses(np.asarray(boxes).reshape(-1, 4), np.asarray(scores).reshape(-1), kpts.reshape(len(scores), -1, 3)).to_coco(image_id)


def _onnx_model(path, raw):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    return write_onnx(path, raw)


# ---------------------------------------------------------------- pieces without an engine
def test_image_entries_and_errors(tmp_path):
    box, kp = pose(np.random.default_rng(0), 10, 10, 50, 80)
    data, images = make_dataset(tmp_path, [gt_annotation(1, 100, box, kp)], 2)
    gt = evaluation.load_ground_truth(data)
    entries = coco_image_entries(gt, images, source=str(data))
    assert [e["id"] for e in entries] == [100, 101] and all(Path(e["path"]).is_file() for e in entries)
    assert person_category_id(gt) == 1
    (images / "img_1.png").unlink()
    with pytest.raises(DatasetError, match="img_1.png"):
        coco_image_entries(gt, images, source=str(data))
    with pytest.raises(DatasetError, match="not found"):
        coco_image_entries(gt, tmp_path / "nope")


def test_results_json_atomic_and_loadable(tmp_path):
    res = _to_results(np.array([[1.0, 2.0, 3.0, 4.0]]), [0.5], np.ones((1, 17, 3)), 3)
    out = write_results_json(tmp_path / "dets.json", res)
    assert json.loads(out.read_text()) == res
    assert json.loads(write_results_json(tmp_path / "empty.json", []).read_text()) == []
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("metrics_backend", ["pycocotools", "numpy"])
def test_identical_detections_identical_metrics(tmp_path, metrics_backend):
    """The validator and ``yolopose eval`` both score via coco_eval: same detections, same numbers
    as pycocotools run directly, for keypoints (OKS) and boxes."""
    pytest.importorskip("pycocotools")
    rng = np.random.default_rng(1)
    anns, results = [], []
    for i in range(4):
        box, kp = pose(rng, 10 + 5 * i, 8, 60 + 10 * i, 90)
        vis = np.where(rng.uniform(size=17) < 0.2, 0, 2)
        anns.append(gt_annotation(i + 1, 100 + i % 3, box, kp, vis))
        noisy = np.concatenate([kp + rng.normal(0, 1.5 * (i + 1), kp.shape), np.full((17, 1), 0.8)], axis=1)
        results += _to_results(box[None] + rng.normal(0, 2, 4), [0.9 - 0.1 * i], noisy[None], 100 + i % 3)
    fp = np.c_[rng.uniform(70, 120, (17, 1)), rng.uniform(5, 60, (17, 1)), np.ones((17, 1))]
    results += _to_results(np.array([[70.0, 5, 120, 60]]), [0.95], fp[None], 101)  # a false positive
    data, _ = make_dataset(tmp_path, anns, 3)
    ours = evaluation.evaluate(data, results, backend=metrics_backend)
    np.testing.assert_allclose([ours[k] for k in evaluation.KEYPOINT_METRICS], pycocotools_direct(data, results, "keypoints"), atol=1e-12)
    np.testing.assert_allclose([ours[k] for k in evaluation.BOX_METRICS], pycocotools_direct(data, results, "bbox"), atol=1e-12)
    assert 0.0 < ours["AP"] < 1.0


def test_missing_metrics_backend_fails_before_running(tmp_path, monkeypatch):
    box, kp = pose(np.random.default_rng(0), 10, 10, 50, 80)
    data, images = make_dataset(tmp_path, [gt_annotation(1, 100, box, kp)], 1)
    for name in ("pycocotools", "pycocotools.coco", "pycocotools.cocoeval"):
        monkeypatch.setitem(sys.modules, name, None)  # as if pycocotools were not installed
    with pytest.raises(BackendNotAvailableError, match=r"yolopose\[eval\]"):
        evaluate_model(tmp_path / "model_never_loaded.onnx", data, images)


# ---------------------------------------------------------------- through the SDK, known detections
def test_eval_known_detections_are_perfect(tmp_path):
    """Detections equal to the ground truth: AP and box AP are exactly 1, and the written
    results are the ground truth back in original pixels."""
    pytest.importorskip("pycocotools")
    (p_box, p_kp), _, _ = scene()
    model = _onnx_model(tmp_path / "known.onnx", known_raw([(p_box, p_kp, 0.9)]))
    data, images = make_dataset(tmp_path, [gt_annotation(1, 100, p_box, p_kp), gt_annotation(2, 101, p_box, p_kp)], 2)
    out = tmp_path / "dets.json"
    result = evaluate_model(model, data, images, results_json=out)
    dets = json.loads(out.read_text())
    assert dets == result.detections and len(dets) == 2 and result.num_images == 2
    assert {d["image_id"] for d in dets} == {100, 101}
    for d in dets:
        kp = np.asarray(d["keypoints"]).reshape(17, 3)
        np.testing.assert_allclose(kp[:, :2], p_kp, atol=0.01)
        np.testing.assert_allclose(kp[:, 2], 0.9, atol=1e-3)
        np.testing.assert_allclose(d["bbox"], [p_box[0], p_box[1], p_box[2] - p_box[0], p_box[3] - p_box[1]], atol=0.01)
        assert d["score"] == pytest.approx(0.9, abs=1e-4)
    m = result.metrics
    assert m["AP"] == pytest.approx(1.0) and m["AP50"] == pytest.approx(1.0) and m["AR"] == pytest.approx(1.0)
    assert m["box_AP"] == pytest.approx(1.0)
    assert set(evaluation.KEYPOINT_METRICS + evaluation.BOX_METRICS) <= set(m)


@pytest.mark.parametrize("metrics_backend", ["pycocotools", "numpy"])
def test_eval_matches_pycocotools_direct(tmp_path, metrics_backend):
    pytest.importorskip("pycocotools")
    raw, data, images = mixed_case(tmp_path)
    model = _onnx_model(tmp_path / "known.onnx", raw)
    out = tmp_path / "dets.json"
    result = evaluate_model(model, data, images, metrics_backend=metrics_backend, results_json=out)
    dets = json.loads(out.read_text())
    assert len(dets) == 6  # two people in each of three images
    np.testing.assert_allclose([result.metrics[k] for k in evaluation.KEYPOINT_METRICS], pycocotools_direct(data, dets, "keypoints"), atol=1e-12)
    np.testing.assert_allclose([result.metrics[k] for k in evaluation.BOX_METRICS], pycocotools_direct(data, dets, "bbox"), atol=1e-12)
    assert 0.2 < result.metrics["AP"] < 1.0
    # the ground truth it scored against comes back (read once), but not into the JSON summary
    assert result.ground_truth == evaluation.load_ground_truth(data) and "ground_truth" not in result.to_dict()


def test_eval_cli(tmp_path):
    pytest.importorskip("pycocotools")
    from click.testing import CliRunner

    from yolopose.cli import main

    raw, data, images = mixed_case(tmp_path)
    model = _onnx_model(tmp_path / "known.onnx", raw)
    dets, metrics = tmp_path / "out" / "dets.json", tmp_path / "metrics.json"
    res = CliRunner().invoke(main, ["eval", str(model), "--data", str(data), "--images", str(images),
                                    "--json", str(dets), "--metrics", str(metrics), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "keypoints" in res.output and "AP50" in res.output and "3 images" in res.output
    written = json.loads(dets.read_text())
    assert len(written) == 6
    summary = json.loads(metrics.read_text())
    assert summary["metrics"] == pytest.approx(evaluation.evaluate(data, written))
    assert summary["settings"]["backend"] == "onnxruntime" and summary["settings"]["conf"] == 0.001
    assert "keypoint_errors" not in summary

    res = CliRunner().invoke(main, ["eval", str(model), "--data", str(data), "--images", str(images),
                                    "--metrics", str(metrics), "--keypoint-errors", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "left_wrist" in res.output and "swapped" in res.output
    errors = json.loads(metrics.read_text())["keypoint_errors"]
    assert [k["name"] for k in errors["keypoints"]][:2] == ["nose", "left_eye"] and errors["people"] > 0

    (images / "img_2.png").unlink()
    res = CliRunner().invoke(main, ["eval", str(model), "--data", str(data), "--images", str(images), "--no-progress"])
    assert res.exit_code != 0 and "img_2.png" in res.output and "Traceback" not in res.output
