"""Output layouts (yolopose.layouts): one contract for every registered layout, run through a real
engine on the tiny model each layout describes (``example()``), plus the end-to-end layout of
Ultralytics YOLO26-pose exports through every CLI command.

A layout added to the registry is tested here without editing this file."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pytest

from yolopose import PoseEstimator
from yolopose.core.errors import MetadataError, ModelError
from yolopose.layouts import LAYOUTS, LayoutExample, ModelFacts

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

NAMES = LAYOUTS.names()


def model_onnx(path: Path, outputs, props: Dict[str, str], imgsz, dynamic: bool = False) -> Path:
    """Input ``images (B, 3, H, W)``; each output is its constant whatever the image, repeated
    over the batch when its first dimension is 1 and it has 3+ dimensions (``dynamic``: batch,
    size and every output dimension symbolic, as in a ``dynamic=True`` export)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("ReduceMean", ["images"], ["m_all"], keepdims=0)]  # a scalar
    inits = [numpy_helper.from_array(np.asarray(0.0, np.float32), "zero"),
             numpy_helper.from_array(np.asarray([1, 2, 3], np.int64), "axes"),
             numpy_helper.from_array(np.asarray([-1, 1, 1], np.int64), "shape3")]
    nodes += [helper.make_node("Mul", ["m_all", "zero"], ["scalar0"]),
              helper.make_node("ReduceMean", ["images", "axes"], ["m_b"], keepdims=1),  # (B, 1, 1, 1)
              helper.make_node("Reshape", ["m_b", "shape3"], ["m_b3"]),
              helper.make_node("Mul", ["m_b3", "zero"], ["batch0"])]  # (B, 1, 1) zeros
    outs = []
    for name, value in outputs:
        value = np.ascontiguousarray(value, np.float32)
        inits.append(numpy_helper.from_array(value, f"c_{name}"))
        per_image = value.ndim == 3 and value.shape[0] == 1
        nodes.append(helper.make_node("Add", [f"c_{name}", "batch0" if per_image else "scalar0"], [name]))
        dims = [f"{name}_d{i}" for i in range(value.ndim)] if dynamic else list(value.shape)
        if per_image and not dynamic:
            dims[0] = 1
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
    shape = ["batch", 3, "height", "width"] if dynamic else [1, 3, *imgsz]
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, shape)
    model = helper.make_model(helper.make_graph(nodes, "layout_example", [inp], outs, inits),
                              opset_imports=[helper.make_opsetid("", 18)], producer_name="yolopose-tests")
    model.ir_version = 8
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def example_model(tmp_path: Path, name: str) -> tuple:
    ex: LayoutExample = LAYOUTS.get(name).example()
    return model_onnx(tmp_path / f"{name}.onnx", ex.outputs, dict(ex.properties), ex.imgsz), ex


def by_score(boxes, scores, keypoints):
    order = np.argsort(-np.asarray(scores), kind="stable")
    return np.asarray(boxes)[order], np.asarray(scores)[order], np.asarray(keypoints)[order]


# ----------------------------------------------------------------------------- the contract
def test_builtin_layouts_are_registered_in_order():
    assert [n for n in NAMES if n in ("raw", "decoded", "official", "end2end")] == ["raw", "decoded", "official", "end2end"]
    for name in NAMES:
        assert LAYOUTS.get(name).name == name


@pytest.mark.parametrize("name", NAMES)
def test_layout_is_chosen_for_its_example_and_only_it_matches(tmp_path, name):
    path, _ = example_model(tmp_path, name)
    est = PoseEstimator(str(path))
    assert type(est.plan.output_layout) is LAYOUTS.get(name)
    facts = ModelFacts.from_runtime(est.runtime)
    others = [other for other in NAMES if other != name and LAYOUTS.get(other).match(facts) is not None]
    assert others == [], f"the {name} example is also claimed by {others}"


@pytest.mark.parametrize("name", NAMES)
def test_layout_decodes_its_example_exactly(tmp_path, name):
    path, ex = example_model(tmp_path, name)
    est = PoseEstimator(str(path))
    layout = est.plan.output_layout
    x, _ = est.preprocess(np.zeros((*ex.imgsz, 3), np.uint8))
    arrays = est.infer(x)
    assert all(a.dtype == np.float32 and a.shape[0] == 1 for a in arrays)
    (cand,) = layout.decode(arrays, ex.conf)
    k = ex.keypoints.shape[1]
    assert cand.boxes.shape == (len(ex.scores), 4) and cand.keypoints.shape == (len(ex.scores), k, 3)
    got, want = by_score(cand.boxes, cand.scores, cand.keypoints), by_score(ex.boxes, ex.scores, ex.keypoints)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-4)
    assert cand.class_ids.dtype == np.int64 and len(cand.class_ids) == len(ex.scores)
    (none,) = layout.decode(arrays, float(np.nextafter(np.float32(ex.scores.max()), np.float32(2))))
    assert len(none) == 0 and none.keypoints.shape == (0, k, 3) and none.boxes.shape == (0, 4)
    assert est.metadata.num_keypoints == k and est.metadata.imgsz == tuple(ex.imgsz)


@pytest.mark.parametrize("name", NAMES)
def test_layout_through_predict_conf_max_det_and_batches(tmp_path, name):
    path, ex = example_model(tmp_path, name)
    est = PoseEstimator(str(path), conf=ex.conf)
    image = np.full((*ex.imgsz, 3), 90, np.uint8)  # the input size: the letterbox changes nothing
    poses = est.predict(image)
    h, w = ex.imgsz
    boxes, scores, _ = by_score(np.clip(ex.boxes, 0, [w, h, w, h]), ex.scores, ex.keypoints)
    assert 1 <= len(poses) <= len(scores)
    if not est.plan.output_layout.nms:
        assert len(poses) == len(scores)  # nothing is suppressed
    assert np.all(np.diff(poses.scores) <= 0)
    for box, score in zip(poses.boxes, poses.scores):
        i = int(np.argmin(np.abs(scores - score)))
        np.testing.assert_allclose(box, boxes[i], atol=1e-3)
    top = est.postprocess(est.infer(est.preprocess(image)[0]), est.preprocess(image)[1], max_det=1)[0]
    assert len(top) == 1 and top.scores[0] == pytest.approx(scores[0], abs=1e-5)
    high = est.predict(image, conf=float(scores[0]) + 1e-3)
    assert len(high) == 0 and high.keypoints.shape[1:] == (ex.keypoints.shape[1], 3)
    batch = est.predict_batch([image, image[::-1].copy(), image])
    assert len(batch) == 3 and all(np.array_equal(b.boxes, poses.boxes) for b in batch)


def test_no_layout_fits_is_a_metadata_error_naming_the_outputs(tmp_path):
    path = model_onnx(tmp_path / "odd.onnx", [("output0", np.zeros((1, 300, 58), np.float32))], {}, (64, 64))
    with pytest.raises(MetadataError, match=r"no known output layout fits.*output0 \(1, 300, 58\)"):
        PoseEstimator(str(path))
    # a detection model (task 'detect') is not read as a pose model
    path = model_onnx(tmp_path / "det.onnx", [("output0", np.zeros((1, 84, 64), np.float32))],
                      {"task": "detect", "names": str({i: str(i) for i in range(80)}), "imgsz": "[64, 64]"}, (64, 64))
    with pytest.raises(MetadataError, match="no known output layout fits"):
        PoseEstimator(str(path))


def test_a_layout_registered_from_outside_is_chosen(tmp_path):
    """The next layout is one class and one register call: here rows of x, y, w, h (top-left
    corner), score, keypoints, recognised by a property of its own."""
    from yolopose.layouts import OutputLayout, register_layout
    from yolopose.layouts.end2end import EndToEndLayout
    from yolopose.core.metadata import ModelMetadata
    from yolopose.core.ops import Candidates

    class CornerRows(OutputLayout):
        name = "corner-rows-test"
        nms = False

        @classmethod
        def match(cls, model):
            if model.properties.get("layout") != "corner-rows":
                return None
            return cls(ModelMetadata(model="corner", imgsz=(64, 64), output_format="decoded", extra={"kpt_dims": 3}), [0])

        def decode(self, arrays, conf):
            rows = arrays[0][0]
            rows = rows[rows[:, 4] >= conf]
            boxes = np.concatenate([rows[:, :2], rows[:, :2] + rows[:, 2:4]], axis=1)
            return [Candidates(boxes, rows[:, 4].copy(), rows[:, 5:].reshape(len(rows), 17, 3).copy(), np.zeros(len(rows), np.int64))]

        @classmethod
        def example(cls):
            return EndToEndLayout.example()  # not used here

    rows = np.zeros((1, 4, 5 + 51), np.float32)
    rows[0, 0, :5] = [10, 12, 20, 30, 0.8]
    path = model_onnx(tmp_path / "corner.onnx", [("out", rows)], {"layout": "corner-rows"}, (64, 64))
    register_layout(CornerRows)
    try:
        est = PoseEstimator(str(path))
        assert est.plan.output_layout.name == "corner-rows-test"
        np.testing.assert_allclose(est.predict(np.zeros((64, 64, 3), np.uint8)).boxes, [[10, 12, 30, 42]])
    finally:
        LAYOUTS.unregister(CornerRows.name)


# ----------------------------------------------------------------------------- end-to-end (YOLO26-pose)
#: the metadata_props a YOLO26n-pose export (end2end) writes, as Ultralytics 8.4.190 wrote them on
#: a one-class model (keys and value syntax checked on a real export; dates and docs left out)
YOLO26_PROPS = {
    "description": "Ultralytics YOLO26n-pose model ",
    "author": "Ultralytics",
    "version": "8.4.190",
    "license": "AGPL-3.0 License (https://ultralytics.com/license)",
    "stride": "32",
    "task": "pose",
    "head": "Pose26",
    "batch": "1",
    "imgsz": "[64, 64]",
    "names": "{0: 'person'}",
    "args": "{'data': None, 'batch': 1, 'fraction': 1.0, 'quantize': None, 'nms': False, 'dynamic': False}",
    "channels": "3",
    "end2end": "True",
    "kpt_shape": "[17, 3]",
}


def e2e_rows(poses, n: int = 300, vis: float = 0.95) -> np.ndarray:
    """``(1, n, 57)``: one row per ``(box xyxy, keypoints (17, 2), score)`` in input pixels, by
    decreasing score, then zero padding (score 0), as the one-to-one head writes them."""
    rows = np.zeros((1, n, 57), np.float32)
    for r, (box, kpts, score) in enumerate(sorted(poses, key=lambda p: -p[2])):
        rows[0, r, :6] = [*box, score, 0]
        rows[0, r, 6:] = np.concatenate([np.asarray(kpts, np.float32), np.full((17, 1), vis, np.float32)], axis=1).reshape(-1)
    return rows


def known_e2e(tmp_path: Path, poses, props: Optional[Dict[str, str]] = None, dynamic: bool = False, name: str = "yolo26n-pose"):
    """An end-to-end ONNX detecting ``poses`` (original pixels of the 128x96 test images, see
    ``_known_detections``) in every image."""
    from _known_detections import to_network

    net = [(to_network(np.reshape(b, (2, 2))).ravel(), to_network(k), s) for b, k, s in poses]
    return model_onnx(tmp_path / f"{name}.onnx", [("output0", e2e_rows(net))], YOLO26_PROPS if props is None else props,
                      (64, 64), dynamic=dynamic)


def _scene_poses():
    from _known_detections import scene

    (p_box, p_kp), (r_box, r_kp), (q_box, q_kp) = scene()
    return [(p_box, p_kp, 0.9), (r_box, r_kp, 0.6), (q_box, q_kp, 0.05)]


@pytest.mark.parametrize("dynamic", [False, True])
def test_yolo26_end2end_export_runs_without_nms(tmp_path, dynamic):
    poses = _scene_poses()
    p_box, p_kp, _ = poses[0]
    poses.append((p_box + 1.0, p_kp + 1.0, 0.7))  # a near-duplicate of P: NMS would drop it, this layout keeps it
    est = PoseEstimator(str(known_e2e(tmp_path, poses, dynamic=dynamic)), iou=0.1)
    assert est.plan.output_layout.name == "end2end" and est.metadata.output_format == "end2end"
    assert est.metadata.imgsz == (64, 64) and est.metadata.num_keypoints == 17
    assert est.metadata.extra["source_properties"]["head"] == "Pose26"
    image = np.zeros((96, 128, 3), np.uint8)
    found = est.predict(image)
    np.testing.assert_allclose(found.scores, [0.9, 0.7, 0.6], atol=1e-6)  # conf 0.25 drops 0.05 and the padding
    np.testing.assert_allclose(found.boxes[0], p_box, atol=1e-3)  # back in original pixels
    np.testing.assert_allclose(found.keypoints[0, :, :2], p_kp, atol=1e-3)
    np.testing.assert_allclose(found.keypoints[0, :, 2], 0.95, atol=1e-6)
    assert len(est.predict(image, conf=0.01)) == 4
    capped = PoseEstimator(str(known_e2e(tmp_path, poses, dynamic=dynamic, name="capped")), max_det=2).predict(image)
    np.testing.assert_allclose(capped.scores, [0.9, 0.7], atol=1e-6)
    if dynamic:  # a dynamic export runs a whole batch in one call
        x, _ = est.preprocess([image] * 3)
        assert est.infer(x)[0].shape == (3, 300, 57)


def test_end2end_is_read_from_the_models_own_metadata(tmp_path):
    poses = _scene_poses()
    # the same output with end2end=False is not read as end-to-end: 57 columns fit no decoded layout
    props = {**YOLO26_PROPS, "end2end": "False"}
    with pytest.raises(MetadataError):
        PoseEstimator(str(known_e2e(tmp_path, poses, props=props, name="not_e2e")))
    # no metadata at all: one (1, N, 6 + 3K) output is read as end-to-end
    bare = PoseEstimator(str(known_e2e(tmp_path, poses, props={}, name="bare")))
    assert bare.plan.output_layout.name == "end2end" and bare.metadata.num_keypoints == 17
    # yolopose metadata saying end2end
    from yolopose.core.metadata import METADATA_KEY, ModelMetadata

    meta = ModelMetadata(model="ours-e2e", imgsz=(64, 64), output_format="end2end")
    ours = PoseEstimator(str(known_e2e(tmp_path, poses, props={METADATA_KEY: meta.to_json()}, name="ours")))
    assert ours.plan.output_layout.name == "end2end" and ours.metadata.model == "ours-e2e"
    np.testing.assert_allclose(ours.predict(np.zeros((96, 128, 3), np.uint8)).scores, [0.9, 0.6], atol=1e-6)
    # metadata saying end2end over an output that is not: a clear error
    wrong = model_onnx(tmp_path / "wrong.onnx", [("output0", np.zeros((1, 300, 56), np.float32))], YOLO26_PROPS, (64, 64))
    with pytest.raises(ModelError, match=r"says end2end.*\(batch, N, 57\)"):
        PoseEstimator(str(wrong))


def test_end2end_through_predict_bench_eval_track_and_batch(tmp_path):
    from click.testing import CliRunner

    from _known_detections import IMG_H, IMG_W, gt_annotation, make_dataset, scene
    from yolopose.cli import main

    (p_box, p_kp), (r_box, r_kp), _ = scene()
    model = known_e2e(tmp_path, [(p_box, p_kp, 0.9), (r_box, r_kp, 0.6)])
    data, images = make_dataset(tmp_path / "set", [gt_annotation(1, 100, p_box, p_kp), gt_annotation(2, 100, r_box, r_kp),
                                                   gt_annotation(3, 101, p_box, p_kp), gt_annotation(4, 101, r_box, r_kp)], 2)
    run = CliRunner()

    res = run.invoke(main, ["predict", str(images), "--model", str(model), "--json", "--max-det", "1"])
    assert res.exit_code == 0, res.output
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(records) == 2 and all(len(r["poses"]) == 1 for r in records)
    np.testing.assert_allclose(records[0]["poses"][0]["box"], p_box, atol=1e-3)
    assert (records[0]["width"], records[0]["height"]) == (IMG_W, IMG_H)

    res = run.invoke(main, ["bench", str(model), "--runs", "3", "--warmup", "1", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "yolo26n-pose.onnx" in res.output and "onnxruntime" in res.output

    metrics = tmp_path / "metrics.json"
    res = run.invoke(main, ["eval", str(model), "--data", str(data), "--images", str(images), "--metrics", str(metrics),
                            "--metrics-backend", "numpy", "--no-progress"])
    assert res.exit_code == 0, res.output
    m = json.loads(metrics.read_text())["metrics"]
    assert m["AP"] == pytest.approx(1.0) and m["box_AP"] == pytest.approx(1.0)

    res = run.invoke(main, ["track", str(images), "--model", str(model), "--json", "--no-smooth"])
    assert res.exit_code == 0, res.output
    frames = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(frames) == 2 and all(len(f["people"]) == 2 for f in frames)
    assert {p["id"] for p in frames[0]["people"]} == {p["id"] for p in frames[1]["people"]}

    out = tmp_path / "batch"
    res = run.invoke(main, ["batch", str(images), "--model", str(model), "--out", str(out), "--executor", "local",
                            "--format", "jsonl", "--no-progress"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for part in sorted(out.glob("*.jsonl")) for line in part.read_text().splitlines()]
    assert len(rows) == 2 and all(len(r["scores"]) == 2 and r["error"] in (None, "") for r in rows)
    np.testing.assert_allclose(sorted(rows[0]["scores"], reverse=True), [0.9, 0.6], atol=1e-6)


def test_end2end_matches_the_same_poses_through_the_raw_layout(tmp_path):
    """The same people given as an end-to-end output and as our raw head outputs score the same."""
    pytest.importorskip("pycocotools")
    from _known_detections import mixed_case, scene, write_onnx

    from yolopose.evaluate import evaluate_model

    raw, data, images = mixed_case(tmp_path / "set")
    (p_box, p_kp), (r_box, r_kp), _ = scene()
    ours = evaluate_model(write_onnx(tmp_path / "raw.onnx", raw), data, images).metrics
    e2e = evaluate_model(known_e2e(tmp_path, [(p_box, p_kp, 0.9), (r_box, r_kp, 0.3)]), data, images).metrics
    assert 0.2 < ours["AP"] < 1.0
    for key in ("AP", "AP50", "box_AP"):
        assert e2e[key] == pytest.approx(ours[key], abs=1e-3), key
