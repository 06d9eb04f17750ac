"""The engine adapters and the registry, on tiny real ONNX / OpenVINO / TFLite models."""
from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import _graphs as g
from yolopose.core.errors import BackendNotAvailableError, ConfigError, DeviceNotAvailableError, MetadataError, ModelError
from yolopose.runtimes import BackendSpec, backends_for, get_backend, list_backends, load_runtime, register_backend, select_backend
from yolopose.runtimes import registry as registry_module
from yolopose.runtimes import Runtime, check_model
from yolopose.runtimes.model_checks import list_model_checks
from yolopose.runtimes.registry import _BACKENDS

FIX = g.FIXTURES
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory):
    return g.make_raw_onnx(tmp_path_factory.mktemp("onnx") / "tiny.onnx", batch=None)


@pytest.fixture(scope="module")
def ir_path(onnx_path, tmp_path_factory):
    pytest.importorskip("openvino")
    return g.save_openvino_ir(onnx_path, tmp_path_factory.mktemp("ir") / "tiny.xml")


def _zeros_input(rt, batch=1):
    info = rt.inputs[0]
    shape = [batch if d is None else d for d in info.shape]
    if info.quant is not None:
        return np.full(shape, info.quant.zero_point, info.dtype)
    return np.zeros(shape, info.dtype)


def _check_constants(rt, outputs, dequantize=False):
    consts = g.raw_constants()
    by_shape = {v.shape[1:]: v for v in consts.values()}
    for info, y in zip(rt.outputs, outputs):
        if info.quant is not None:
            y = (y.astype(np.float32) - info.quant.zero_point) * info.quant.scale
        tol = 1e-6 if info.quant is None else info.quant.scale
        np.testing.assert_allclose(y[:1], by_shape[y.shape[1:]], atol=tol)


#: (backend, file type) for every registered backend and every file type it reads
READERS = [(spec.name, suffix) for spec in list_backends() for suffix in spec.suffixes]
ONNX_READERS = [spec.name for spec in backends_for("model.onnx")]


def _tiny_artifact(suffix, request):
    """A tiny raw-output model of the file type ``suffix``."""
    if suffix == ".onnx":
        return request.getfixturevalue("onnx_path")
    if suffix == ".xml":
        return request.getfixturevalue("ir_path")
    return FIX / "tiny_raw_fp32.tflite"


def _require(backend):
    if not get_backend(backend).installed():
        pytest.skip(f"backend {backend} is not installed")


def test_every_built_in_backend_is_covered():
    assert {name for name, _ in READERS} >= {"onnxruntime", "openvino", "tflite"}
    assert set(suffix for _, suffix in READERS) == {".onnx", ".xml", ".tflite"}


@pytest.mark.parametrize("backend, suffix", READERS)
def test_runtime_runs_and_reports(backend, suffix, request):
    _require(backend)
    path = _tiny_artifact(suffix, request)
    with load_runtime(path, backend=backend) as rt:
        assert rt.name == backend and rt.path.suffix == suffix
        assert rt.metadata is not None and rt.metadata.model == "tiny-test"
        assert len(rt.outputs) == 6 and len(rt.inputs) == 1
        _check_constants(rt, rt.run(_zeros_input(rt)))
        desc = rt.describe()
        assert desc["backend"] == rt.name and len(desc["outputs"]) == 6


def test_int8_tflite_reports_its_quantization():
    _require("tflite")
    # built-in kernels: XNNPACK computes the fixture's int8 MEAN 0.66 off on an AVX2-only EPYC
    # (exact with VNNI); real int8 models under XNNPACK: test_default_model, test_export
    with load_runtime(FIX / "tiny_raw_int8.tflite", xnnpack=False) as rt:
        _check_constants(rt, rt.run(_zeros_input(rt)))
        assert rt.inputs[0].quant.zero_point == -128 and abs(rt.inputs[0].quant.scale - 1 / 255) < 1e-9
        assert len(rt.quantization) == 7


def test_registry_auto_choice_and_aliases(onnx_path):
    assert select_backend(onnx_path).name == "onnxruntime"
    if get_backend("openvino").installed():  # e.g. not on an aarch64 board without yolopose[openvino]
        assert select_backend(onnx_path, device="npu").name == "openvino"  # the only .onnx reader with NPUs
    assert select_backend(FIX / "tiny_raw_fp32.tflite").name == "tflite"
    assert get_backend("ORT").name == "onnxruntime" and get_backend("litert").name == "tflite"
    assert [s.name for s in list_backends()][:3] == ["onnxruntime", "openvino", "tflite"]
    with pytest.raises(ConfigError, match="unknown backend"):
        get_backend("tensorflow")
    with pytest.raises(ConfigError, match="cannot read .tflite"):
        select_backend(FIX / "tiny_raw_fp32.tflite", backend="openvino")
    with pytest.raises(ModelError, match="unsupported model file type"):
        select_backend("model.pt")


def test_missing_engine_names_the_extra(tmp_path):
    spec = BackendSpec("fake", "nowhere:Nothing", (".fake",), ("no_such_engine_module",), "fakeextra", ("cpu",))
    register_backend(spec)
    try:
        with pytest.raises(ConfigError, match="already registered"):
            register_backend(spec)
        model = tmp_path / "m.fake"
        model.write_bytes(b"x")
        with pytest.raises(BackendNotAvailableError, match=r'pip install "yolopose\[fakeextra\]"'):
            load_runtime(model)
        with pytest.raises(BackendNotAvailableError, match="fakeextra"):
            load_runtime(model, backend="fake")
    finally:
        registry_module._BACKENDS.unregister("fake")
    with pytest.raises(ConfigError, match="unknown backend 'fake'"):
        get_backend("fake")


def test_device_errors_list_available_devices(onnx_path):
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(DeviceNotAvailableError, match="available here: cpu"):
            load_runtime(onnx_path, backend="onnxruntime", device="cuda")
    with pytest.raises(DeviceNotAvailableError, match="onnxruntime has no device 'npu'"):
        load_runtime(onnx_path, backend="onnxruntime", device="npu")
    pytest.importorskip("openvino")
    import openvino as ov

    if "NPU" not in ov.Core().available_devices:
        with pytest.raises(DeviceNotAvailableError, match="cpu"):
            load_runtime(onnx_path, backend="openvino", device="npu")
    with pytest.raises(DeviceNotAvailableError, match="delegate"):
        load_runtime(FIX / "tiny_raw_fp32.tflite", device="edgetpu")
    with pytest.raises(DeviceNotAvailableError, match="delegate"):
        load_runtime(FIX / "tiny_raw_fp32.tflite", delegate=str(FIX / "no_such_delegate.so"), device="npu")
    with pytest.raises(DeviceNotAvailableError):
        select_backend(onnx_path, device="quantum")


def test_tflite_options_threads_and_plain_kernels():
    with load_runtime(FIX / "tiny_raw_int8.tflite", threads=2, xnnpack=False) as rt:
        _check_constants(rt, rt.run(_zeros_input(rt)))
    with pytest.raises(ConfigError, match="bad option"):
        load_runtime(FIX / "tiny_raw_int8.tflite", nonsense=1)


@pytest.mark.parametrize("suffix", [".onnx", ".tflite", ".xml"])
def test_corrupt_and_truncated_models_are_model_errors(tmp_path, onnx_path, suffix):
    source = {".onnx": onnx_path, ".tflite": FIX / "tiny_raw_fp32.tflite", ".xml": None}[suffix]
    if source is None:
        pytest.importorskip("openvino")
        source = g.save_openvino_ir(onnx_path, tmp_path / "ok.xml")
    data = source.read_bytes()
    for name, blob in {"truncated": data[: len(data) // 3], "garbage": bytes(range(256)) * 8, "empty": b""}.items():
        bad = tmp_path / f"{name}{suffix}"
        bad.write_bytes(blob)
        if suffix == ".xml":
            (tmp_path / f"{name}.bin").write_bytes(source.with_suffix(".bin").read_bytes())
        with pytest.raises(ModelError, match=name):
            load_runtime(bad)
    with pytest.raises(ModelError, match="does not exist"):
        load_runtime(tmp_path / f"missing{suffix}")


def test_openvino_ir_without_bin(tmp_path, ir_path):
    xml = tmp_path / "lonely.xml"
    xml.write_bytes(ir_path.read_bytes())
    with pytest.raises(ModelError, match="lonely.bin"):
        load_runtime(xml)


def _external_onnx(folder, location):
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((1, 3, 1, 1), np.float32), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "12")):
        e = w.external_data.add()
        e.key, e.value = k, v
    node = helper.make_node("Mul", ["images", "w"], ["out"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 4, 4])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    path = folder / "ext.onnx"
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize("backend", ONNX_READERS)
@pytest.mark.parametrize("location", ["../secret.bin", "/etc/passwd", "sub/../../secret.bin", "link.bin", "hard.bin", "missing.bin"])
def test_external_data_outside_the_model_folder_is_refused(tmp_path, location, backend):
    outside = tmp_path / "secret.bin"
    outside.write_bytes(np.ones(3, np.float32).tobytes())
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "sub").mkdir()
    os.symlink(outside, folder / "link.bin")
    os.link(outside, folder / "hard.bin")
    path = _external_onnx(folder, location)
    _require(backend)
    with pytest.raises(ModelError, match="external data"):
        load_runtime(path, backend=backend)


def test_external_data_inside_the_folder_loads(tmp_path):
    (tmp_path / "w.bin").write_bytes(np.full(3, 2, np.float32).tobytes())
    path = _external_onnx(tmp_path, "w.bin")
    with load_runtime(path) as rt:
        (y,) = rt.run(np.ones((1, 3, 4, 4), np.float32))
    np.testing.assert_array_equal(y, 2.0)
    assert rt.metadata is None


def test_bad_metadata_is_a_metadata_error(tmp_path):
    path = g.make_raw_onnx(tmp_path / "m.onnx", meta=False, extra_props={"yolopose": "{not json"})
    with load_runtime(path) as rt:
        with pytest.raises(MetadataError, match="m.onnx"):
            rt.metadata
        assert "metadata_error" in rt.describe()


def test_model_folder_resolution(tmp_path, onnx_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "tiny.onnx").write_bytes(onnx_path.read_bytes())
    with load_runtime(folder) as rt:
        assert rt.path.name == "tiny.onnx"
    (folder / "second.onnx").write_bytes(onnx_path.read_bytes())
    with pytest.raises(ModelError, match="exactly one"):
        load_runtime(folder)


@pytest.mark.parametrize("backend, suffix", [*READERS, ("tflite", "int8")])
def test_runtime_run_is_thread_safe(backend, suffix, request):
    _require(backend)
    path = FIX / "tiny_raw_int8.tflite" if suffix == "int8" else _tiny_artifact(suffix, request)
    with load_runtime(path, backend=backend) as rt:
        ref = rt.run(_zeros_input(rt))
        errors = []

        def work():
            try:
                for _ in range(20):
                    for a, b in zip(rt.run(_zeros_input(rt)), ref):
                        np.testing.assert_array_equal(a, b)
            except Exception as exc:  # collected and re-raised in the main thread
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors


def test_committed_tflite_fixtures_are_current():
    pytest.importorskip("ai_edge_litert")
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_tflite_fixtures", FIX / "make_tflite_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, build in mod.FIXTURES.items():
        assert (FIX / name).read_bytes() == build(), f"{name} is stale: run python tests/fixtures/make_tflite_fixtures.py"


# ---------------------------------------------------------------------- the model-check registry
class _Recorder(Runtime):
    """An adapter that only records that it was built (for the check-before-adapter test)."""

    name = "recorder"
    built: list = []

    def __init__(self, model, device="cpu", threads=None):
        _Recorder.built.append(model)
        super().__init__(model, device)

    def run(self, x):
        return []


@pytest.mark.parametrize("suffix", list_model_checks())
@pytest.mark.parametrize("content", [b"", b"\x08\x07not a model file at all, just bytes" * 4], ids=["empty", "garbage"])
def test_every_model_check_refuses_a_bad_file_before_any_adapter_is_built(suffix, content, tmp_path, monkeypatch):
    """For every file type with a check of its own: an empty or garbage file is a ModelError naming
    it, raised by load_runtime before any engine adapter (here one registered for that file type)
    is built. A new file type's check is tested without editing this test."""
    path = tmp_path / f"bad_model{suffix}"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="bad_model"):
        check_model(path)
    spec = BackendSpec(name="recorder", target="unused:unused", suffixes=(suffix,), modules=("json",), extra="none",
                       devices=("cpu",), priority=0)
    original = BackendSpec.runtime_class
    monkeypatch.setattr(BackendSpec, "runtime_class", lambda self: _Recorder if self.name == "recorder" else original(self))
    register_backend(spec)
    _Recorder.built = []
    try:
        with pytest.raises(ModelError, match="bad_model"):
            load_runtime(path, backend="recorder")
        assert _Recorder.built == []
    finally:
        _BACKENDS.unregister("recorder")


def test_a_file_type_without_a_check_of_its_own_is_still_checked_to_be_a_file(tmp_path):
    missing = tmp_path / "nothing.engine"
    with pytest.raises(ModelError, match="does not exist"):
        check_model(missing)
    missing.write_bytes(b"")
    with pytest.raises(ModelError, match="is empty"):
        check_model(missing)
    missing.write_bytes(b"x")
    assert check_model(missing).path == missing
