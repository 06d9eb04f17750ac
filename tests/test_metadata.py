"""The artifact metadata: validation, round trips, derived shapes."""
from __future__ import annotations

import json

import pytest

from yolopose.core.errors import MetadataError
from yolopose.core.metadata import ModelMetadata, OutputSpec

P5_ANCHORS = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]


def make(**kw):
    base = dict(model="yolov5n-pose", imgsz=(320, 256), strides=(8, 16, 32), anchors=P5_ANCHORS)
    base.update(kw)
    return ModelMetadata.from_dict(base)


def test_round_trip_json_is_identical():
    meta = make(outputs=[{"level": lvl, "kind": k, "name": f"{k}_{lvl}"} for lvl in range(3) for k in ("det", "kpt_xy", "kpt_conf")])
    again = ModelMetadata.from_json(meta.to_json())
    assert again == meta
    assert again.anchors[2][1] == (156.0, 198.0)
    assert isinstance(again.outputs[0], OutputSpec)


def test_raw_output_shapes_follow_strides_anchors_and_keypoints():
    shapes = make().raw_output_shapes(batch=2)
    assert shapes[(0, "det")] == (2, 40, 32, 18)
    assert shapes[(1, "kpt_xy")] == (2, 20, 16, 102)
    assert shapes[(2, "kpt_conf")] == (2, 10, 8, 51)
    assert len(set(shapes.values())) == len(shapes), "every output must be identifiable by its shape"


def test_unknown_keys_are_kept_in_extra():
    meta = ModelMetadata.from_dict({"model": "x", "imgsz": 64, "output_format": "decoded", "author": "me"})
    assert meta.imgsz == (64, 64)
    assert meta.extra["author"] == "me"


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(imgsz=(320, 250)), "not a multiple of stride"),
        (dict(anchors=P5_ANCHORS[:2]), "one anchor set per stride"),
        (dict(precision="int4"), "precision"),
        (dict(input_layout="CHW"), "input_layout"),
        (dict(num_keypoints=5, keypoint_names=["a"] * 4), "keypoint names"),
        (dict(flip_index=[0] * 17), "permutation"),
        (dict(outputs=[{"level": 0, "kind": "heatmap"}]), "kind"),
        (dict(anchors=[[1, 2, 3]] * 3), "odd number"),
    ],
)
def test_invalid_metadata_is_a_clear_error(change, message):
    with pytest.raises(MetadataError, match=message):
        make(**change)


def test_bad_json_names_the_source():
    with pytest.raises(MetadataError, match="model.onnx.*not valid JSON"):
        ModelMetadata.from_json("{nope", source="model.onnx")
    with pytest.raises(MetadataError, match="lacks 'model'"):
        ModelMetadata.from_json(json.dumps({"imgsz": 64}), source="m")


def test_custom_keypoint_count_gets_generic_names():
    meta = ModelMetadata.from_dict({"model": "hand", "imgsz": 64, "strides": [8], "anchors": [[4, 4]], "num_keypoints": 21})
    assert meta.keypoint_names[20] == "kpt_20" and meta.flip_index == tuple(range(21))
    assert meta.channels("kpt_xy") == 42
