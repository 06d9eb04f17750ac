"""The SDK runs ONNX files written by the authors' own exporter (raw levels and --export-nms),
made from the ti_lite fixture model (see tests/fixtures/official/make_official_fixtures.py)."""
from __future__ import annotations

import numpy as np
import pytest

from yolopose import PoseEstimator

from _official import FIXTURES, fixture_input, official_candidates

pytest.importorskip("onnxruntime")

NAME = "official_s6_ti_lite_tiny"


def _match(poses, ref, tol):
    """Every returned pose equals the official candidate with the same score."""
    assert len(poses) > 10
    h, w = fixture_input().shape[:2]
    boxes = np.clip(ref["boxes"], 0, [w, h, w, h])  # the SDK clips boxes to the image
    for box, score, kpts in zip(poses.boxes, poses.scores, poses.keypoints):
        i = int(np.argmin(np.abs(ref["scores"] - score)))
        assert abs(ref["scores"][i] - score) < 1e-5
        assert np.abs(boxes[i] - box).max() < tol
        assert np.abs(ref["keypoints"][i] - kpts).max() < tol


def test_raw_level_outputs_of_their_exporter():
    est = PoseEstimator(str(FIXTURES / f"{NAME}.onnx"), conf=0.3, iou=0.99)
    meta = est.metadata
    assert meta.output_format == "raw" and meta.strides == (8, 16, 32, 64) and meta.imgsz == (64, 128)
    assert meta.extra["official_export"] == "raw"
    poses = est.predict(fixture_input())
    # their ONNX is the fused float32 model; ours decodes with their YAML anchors, as the file's
    _match(poses, official_candidates(NAME), tol=1e-2)


def test_nms_detections_output_of_their_exporter():
    est = PoseEstimator(str(FIXTURES / f"{NAME}_nms.onnx"), conf=0.01)
    meta = est.metadata
    assert meta.output_format == "decoded" and meta.extra["official_export"] == "nms"
    poses = est.predict(fixture_input())
    ref = official_candidates(NAME)
    _match(poses, ref, tol=1e-2)
    # their NMS (IoU 0.45) already ran: ours (0.65) keeps every detection of theirs above 0.01
    assert len(poses) < int((ref["scores"] > 0.01).sum())


def test_predict_cli_on_their_onnx(tmp_path):
    import json

    from click.testing import CliRunner
    from PIL import Image

    from yolopose.cli import main

    Image.fromarray(fixture_input()).save(tmp_path / "frame.png")
    res = CliRunner().invoke(main, ["predict", str(tmp_path / "frame.png"), "--model", str(FIXTURES / f"{NAME}_nms.onnx"),
                                    "--json", "--conf", "0.5"])
    assert res.exit_code == 0, res.output
    record = json.loads(res.stdout.splitlines()[0])
    assert len(record["poses"]) > 0 and "demo" not in res.stderr
