"""``yolopose eval`` (SDK, ONNX) and the training validator (torch) agree on the same model and data.

The "model" is the same fixed raw head output in both: a real ONNX graph for the SDK and a torch
module for the validator, so both paths run their own letterbox, decode, NMS, COCO conversion and
scoring on identical detections; results and metrics must be identical.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from _known_detections import ANCHORS, STRIDES, metadata, mixed_case, write_onnx  # noqa: E402


class _ConstantPoseModel(torch.nn.Module):
    """Returns the given raw outputs (NHWC numpy) as the training layout: per level NCHW tensors."""

    def __init__(self, raw) -> None:
        super().__init__()
        meta = metadata()
        self.strides = tuple(STRIDES)
        self.anchors = ANCHORS
        self.num_keypoints = meta.num_keypoints
        self.num_classes = meta.num_classes
        self.levels = [
            tuple(torch.from_numpy(np.ascontiguousarray(raw[(lvl, kind)].transpose(0, 3, 1, 2)))
                  for kind in ("det", "kpt_xy", "kpt_conf"))
            for lvl in range(len(STRIDES))
        ]

    def forward(self, x):
        b = x.shape[0]
        return [tuple(t.expand(b, -1, -1, -1) for t in level) for level in self.levels]


def test_eval_equals_validator(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("pycocotools")
    from yolopose.evaluate import evaluate_model
    from yolopose.training.data import build_dataset, collate
    from yolopose.training.validator import Validator

    raw, data, images = mixed_case(tmp_path)
    model = write_onnx(tmp_path / "known.onnx", raw)
    (tmp_path / "data.yaml").write_text(f"train: {data.name}\nval: {data.name}\nval_images: {images.name}\n")
    dataset = build_dataset(tmp_path / "data.yaml", imgsz=64, augment=False)
    validator = Validator(dataset, collate, ground_truth=data, batch=2, progress=False, backend="pycocotools")
    by_validator = validator(_ConstantPoseModel(raw))
    by_sdk = evaluate_model(model, data, images)

    key = lambda r: (r["image_id"], -r["score"])  # noqa: E731
    assert len(by_sdk.detections) == 6
    assert sorted(by_sdk.detections, key=key) == sorted(by_validator.results, key=key)
    assert by_sdk.metrics == by_validator.metrics
    assert 0.2 < by_sdk.metrics["AP"] < 1.0
