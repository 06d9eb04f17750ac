"""Random and mutated bytes as model files, random arrays through predict: only yolopose errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import _graphs as g
from yolopose import PoseEstimator
from yolopose.core.errors import YoloPoseError

pytest.importorskip("onnx")

SEEDS = {".tflite": (g.FIXTURES / "tiny_raw_int8.tflite").read_bytes()}


@pytest.fixture(scope="module")
def onnx_bytes(tiny_onnx):
    return tiny_onnx.read_bytes()


def _try_load(path):
    try:
        est = PoseEstimator(path)
    except YoloPoseError:
        return
    try:
        est.predict(np.zeros((64, 64, 3), np.uint8))
    except YoloPoseError:
        pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=1024), st.sampled_from([".onnx", ".tflite", ".xml"]))
def test_fuzz_random_model_files(tmp_path, data, suffix):
    path = tmp_path / f"m{suffix}"
    path.write_bytes(data)
    if suffix == ".xml":
        path.with_suffix(".bin").write_bytes(data[::-1])
    _try_load(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([".onnx", ".tflite"]), st.data())
def test_fuzz_mutated_real_models(tmp_path, onnx_bytes, suffix, data):
    seed = bytearray(onnx_bytes if suffix == ".onnx" else SEEDS[suffix])
    cut = data.draw(st.integers(8, len(seed)))
    blob = seed[:cut]
    for _ in range(data.draw(st.integers(0, 6))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path / f"mut{suffix}"
    path.write_bytes(bytes(blob))
    _try_load(path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=9)))
def test_fuzz_arrays_through_predict(onnx_bytes, tmp_path_factory, arr):
    path = tmp_path_factory.getbasetemp() / "fuzz_arrays.onnx"
    if not path.exists():
        path.write_bytes(onnx_bytes)
    est = PoseEstimator(path)
    try:
        poses = est.predict(arr)
    except YoloPoseError:
        return
    assert poses.keypoints.shape[1:] == (17, 3)
