"""Hostile and broken model files (issue: no native crash, no escape): each is refused with a
yolopose error naming the file and the problem, through the API and the CLI. Cases where an
engine could crash the process load in a child process (``_hostile.load_in_child``)."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

import _graphs as g
import _hostile as h
from yolopose import PoseEstimator
from yolopose.core.errors import ConfigError, ModelError
from yolopose.core.metadata import METADATA_KEY
from yolopose.runtimes import load_runtime
from yolopose.runtimes._engine import engine_message

onnx = pytest.importorskip("onnx")
FIX = g.FIXTURES


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


ONNX_BACKENDS = [b for b, m in (("onnxruntime", "onnxruntime"), ("openvino", "openvino")) if _has(m)]


def _externalize(model, name: str, **entries) -> None:
    """Make initializer ``name`` external with the given entries (location, offset, length)."""
    for t in model.graph.initializer:
        if t.name == name:
            t.ClearField("raw_data")
            t.ClearField("float_data")
            t.data_location = onnx.TensorProto.EXTERNAL
            for key, value in entries.items():
                e = t.external_data.add()
                e.key, e.value = key, str(value)
            return
    raise KeyError(name)


def _pose_onnx(folder, name="m.onnx", **entries):
    folder.mkdir(parents=True, exist_ok=True)
    model = onnx.load(str(g.make_raw_onnx(folder / name)))
    if entries:
        _externalize(model, "const_det0", **entries)
    onnx.save(model, str(folder / name))
    return folder / name


DET0_BYTES = 4 * 4 * 12 * 4  # (1, 4, 4, 12) float32


# ----------------------------------------------------------------------------- native crashes
def test_ort_memory_marker_is_refused_before_any_engine(tmp_path):
    """OpenVINO reads the offset of onnxruntime's in-memory marker as an address (SIGSEGV)."""
    assert ONNX_BACKENDS
    marker = tmp_path / "*" / "_ORT_MEM_ADDR_"
    marker.mkdir(parents=True)
    (marker / "*").write_bytes(b"\0" * 4096)  # a real file at that path inside the model's folder
    path = _pose_onnx(tmp_path, location="*/_ORT_MEM_ADDR_/*", offset=0xDEADBEEF000, length=DET0_BYTES)
    for backend in ONNX_BACKENDS:
        (result,) = h.load_in_child([path], backend=backend)
        assert result.get("error") == "ModelError", result
        assert "_ORT_MEM_ADDR_" in result["message"] and str(path) in result["message"]
    h.assert_one_line_error(h.cli("info", str(path)), "_ORT_MEM_ADDR_", str(path))


@pytest.mark.parametrize("inputs", [["images"], ["images", ""], []])
def test_onnx_node_without_a_required_input_is_refused(tmp_path, inputs):
    """OpenVINO's ONNX reader dies (SIGSEGV) on a Conv without its weights."""
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((1, 3, 1, 1), np.float32), "w")
    node = helper.make_node("Conv", inputs, ["out"], name="conv0")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    path = tmp_path / "conv.onnx"
    path.write_bytes(model.SerializeToString())
    for backend in ONNX_BACKENDS:
        (result,) = h.load_in_child([path], backend=backend)
        assert result.get("error") == "ModelError", result
        assert f"node 0 (Conv 'conv0') lacks its input {len([i for i in inputs if i])}; Conv needs 2 inputs" in result["message"]


def _tiny_tflite():
    return (FIX / "tiny_raw_int8.tflite").read_bytes()


def _set(obj, attr, index, value):
    getattr(obj, attr)[index] = value


# name -> (edit(model, subgraph0), words the message must hold). The tiny model: operator 0
# (MEAN) writes tensor 2 from the input (tensor 0); operators 1..6 (ADD) write the outputs
# 4, 6, ..., 14 from a constant (3, 5, ..., 13) and tensor 2.
TFLITE_BREAKS = {
    "two_writers": (lambda m, s: _set(s.operators[2], "outputs", 0, 4), ["operator 2 (ADD)", "tensor 4", "operator 1 already writes"]),
    "writes_constant": (lambda m, s: _set(s.operators[1], "outputs", 0, 3), ["operator 1 (ADD)", "tensor 3", "constant"]),
    "writes_input": (lambda m, s: _set(s.operators[1], "outputs", 0, 0), ["operator 1 (ADD)", "tensor 0", "graph input"]),
    "out_of_order": (lambda m, s: s.operators.insert(6, s.operators.pop(0)), ["operator 0 (ADD)", "tensor 2", "later by operator 6"]),
    "reads_own_output": (lambda m, s: _set(s.operators[1], "inputs", 1, 4), ["operator 1 (ADD)", "tensor 4", "its own output"]),
    "input_index_out_of_range": (lambda m, s: _set(s.operators[3], "inputs", 0, 99), ["operator 3 (ADD)", "tensor 99", "15 tensors"]),
    "output_index_negative": (lambda m, s: _set(s.operators[3], "outputs", 0, -7), ["operator 3 (ADD)", "tensor -7"]),
    "omitted_output": (lambda m, s: _set(s.operators[3], "outputs", 0, -1), ["operator 3 (ADD)", "omitted (-1) output"]),
    "omitted_required_input": (lambda m, s: _set(s.operators[3], "inputs", 0, -1), ["operator 3 (ADD)", "omits its input 0"]),
    "graph_input_out_of_range": (lambda m, s: _set(s, "inputs", 0, 15), ["graph input", "tensor 15"]),
    "opcode_out_of_range": (lambda m, s: setattr(s.operators[3], "opcodeIndex", 9), ["operator 3", "operator code 9"]),
    "buffer_out_of_range": (lambda m, s: setattr(s.tensors[3], "buffer", 1000), ["tensor 3", "buffer 1000"]),
    "buffer_past_the_file": (lambda m, s: (setattr(m.buffers[1], "offset", 1 << 40), setattr(m.buffers[1], "size", 64)), ["buffer 1", "past the end"]),
}


def test_tflite_graph_structure_is_checked_before_the_interpreter(tmp_path):
    """Wrong but in-range operator tensor indices abort the interpreter (SIGABRT) unless refused first."""
    pytest.importorskip("ai_edge_litert")
    paths = []
    for name, (edit, _) in TFLITE_BREAKS.items():
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(h.edit_tflite(_tiny_tflite(), edit))
        paths.append(path)
    for path, result, (_, words) in zip(paths, h.load_in_child(paths), TFLITE_BREAKS.values()):
        assert result.get("error") == "ModelError", (path.name, result)
        for word in [str(path)] + words:
            assert word in result["message"], (path.name, word, result["message"])
    h.assert_one_line_error(h.cli("info", str(paths[0])), "operator 2 (ADD)", str(paths[0]))


def test_tflite_check_accepts_every_shipped_model():
    from yolopose._assets import default_model_candidates
    from yolopose.runtimes._tflite_file import check_tflite_bytes

    models = [p for p in default_model_candidates() if p.suffix == ".tflite"] + sorted(FIX.glob("*.tflite"))
    assert models
    for path in models:
        check_tflite_bytes(path.read_bytes(), path)


def test_tflite_external_buffers_and_garbage_tables_are_refused(tmp_path):
    from yolopose.runtimes._tflite_file import check_tflite_bytes

    with pytest.raises(ModelError, match="corrupt flatbuffer"):
        check_tflite_bytes(b"\xff\xff\xff\x7fTFL3" + bytes(64), tmp_path / "wild.tflite")
    data = h.edit_tflite(_tiny_tflite(), lambda m, s: setattr(s.tensors[3], "externalBuffer", 1))
    with pytest.raises(ModelError, match="tensor 3 .*external buffer"):
        check_tflite_bytes(data, tmp_path / "ext.tflite")


# ----------------------------------------------------------------------------- untyped errors
@pytest.mark.parametrize("case", ["batch", "side", "metadata_imgsz", "output"])
def test_huge_inputs_and_outputs_are_refused_at_load(tmp_path, case):
    """A fixed batch of 10**12 used to end in numpy's MemoryError ("Unable to allocate 698. PiB")."""
    path = tmp_path / f"{case}.onnx"
    if case == "batch":
        g.make_raw_onnx(path, batch=10**12, meta=g.metadata(batch=10**12))
        words = ["input batch 1000000000000", "1..256"]
    elif case == "side":
        model = onnx.load(str(g.make_raw_onnx(path)))
        model.graph.input[0].type.tensor_type.shape.dim[2].dim_value = 10**6
        onnx.save(model, str(path))
        words = ["input size 1000000x64", "1..8192"]
    elif case == "metadata_imgsz":
        text = json.loads(g.metadata(batch=None).to_json())
        text["imgsz"] = [64 * 10**4, 64]  # refused by the metadata schema now, with the same message
        g.make_raw_onnx(path, batch=None, meta=False, extra_props={METADATA_KEY: json.dumps(text)})
        model = onnx.load(str(path))
        for d in model.graph.input[0].type.tensor_type.shape.dim[2:]:
            d.dim_param = "size"
        onnx.save(model, str(path))
        words = ["input size 640000x64", "8192"]
    else:
        model = onnx.load(str(g.make_raw_onnx(path)))  # plus an output the engine knows is huge
        model.graph.initializer.append(onnx.numpy_helper.from_array(np.array([1, 10**5, 10**5, 12], np.int64), "huge_shape"))
        model.graph.node.append(onnx.helper.make_node("Expand", ["m", "huge_shape"], ["huge"]))
        model.graph.output.append(onnx.helper.make_tensor_value_info("huge", onnx.TensorProto.FLOAT, [1, 10**5, 10**5, 12]))
        onnx.save(model, str(path))
        words = ["output 'huge'", "more than the limit"]
    with pytest.raises(ModelError) as err:
        PoseEstimator(path)
    for word in [str(path)] + words:
        assert word in str(err.value)
    h.assert_one_line_error(h.cli("predict", str(FIX / "pose_tiny/images/train/p1.jpg"), "-m", str(path), "--json"), str(path))


def test_imgsz_argument_beyond_the_limit_is_a_config_error(tmp_path):
    path = g.make_raw_onnx(tmp_path / "dyn.onnx", batch=None, meta=g.metadata(batch=None))
    model = onnx.load(str(path))
    for d in model.graph.input[0].type.tensor_type.shape.dim[2:]:
        d.dim_param = "size"
    onnx.save(model, str(path))
    with pytest.raises(ConfigError, match="imgsz: input size 65536x65536"):
        PoseEstimator(path, imgsz=65536)


def test_model_bytes_run_like_files(tmp_path):
    onnx_path = g.make_raw_onnx(tmp_path / "m.onnx")
    black = np.zeros((64, 64, 3), np.uint8)
    for path in [onnx_path, FIX / "tiny_raw_int8.tflite"]:
        engine = "onnxruntime" if path.suffix == ".onnx" else "ai_edge_litert"
        if not _has(engine):
            continue
        want = PoseEstimator(path).predict(black)
        for blob in (path.read_bytes(), bytearray(path.read_bytes()), memoryview(path.read_bytes())):
            est = PoseEstimator(blob)
            got = est.predict(black)
            np.testing.assert_allclose(got.keypoints, want.keypoints, atol=1e-6)
            assert str(est.model_path) == f"<model bytes>{path.suffix}" and est.metadata.model == "tiny-test"
    if _has("openvino"):
        got = PoseEstimator(onnx_path.read_bytes(), backend="openvino").predict(black)
        np.testing.assert_allclose(got.boxes, PoseEstimator(onnx_path).predict(black).boxes, atol=1e-4)


def test_model_bytes_that_cannot_be_loaded(tmp_path):
    (tmp_path / "w.bin").write_bytes(b"\0" * DET0_BYTES)
    ext = _pose_onnx(tmp_path, location="w.bin")
    with pytest.raises(ModelError, match=r"<model bytes>\.onnx references external data \('w.bin' for tensor 'const_det0'\).*load it from its file"):
        PoseEstimator(ext.read_bytes())
    with pytest.raises(ModelError, match="model bytes are empty"):
        PoseEstimator(b"")
    with pytest.raises(ModelError, match=r"neither a TFLite flatbuffer \('TFL3'\) nor an ONNX model"):
        PoseEstimator(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(ConfigError, match="OpenVINO IR cannot be loaded from bytes"):
        PoseEstimator(b'<?xml version="1.0"?>\n<net name="x"></net>')
    with pytest.raises(ConfigError, match="model must be a path .* the bytes of an ONNX or TFLite model.*got int"):
        PoseEstimator(42)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- escapes
def _ir(folder, onnx_path):
    pytest.importorskip("openvino")
    folder.mkdir(parents=True, exist_ok=True)
    return g.save_openvino_ir(onnx_path, folder / "m.xml")


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_openvino_bin_outside_the_model_folder_is_refused(tmp_path, link):
    """The same rule as ONNX external data: weights resolve inside the model's folder."""
    made = _ir(tmp_path / "made", g.make_raw_onnx(tmp_path / "m.onnx"))
    outside = tmp_path / "elsewhere" / "weights.bin"
    outside.parent.mkdir()
    shutil.copy(made.with_suffix(".bin"), outside)
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(made, folder / "m.xml")
    (os.symlink if link == "symlink" else os.link)(outside, folder / "m.bin")
    words = "outside the model's folder" if link == "symlink" else "hard link"
    with pytest.raises(ModelError, match=rf"m.xml' reads its weights from 'm.bin', which .*{words}.*allow_weights_outside=True"):
        PoseEstimator(folder / "m.xml")
    h.assert_one_line_error(h.cli("info", str(folder / "m.xml")), "m.bin", words)
    est = PoseEstimator(folder / "m.xml", runtime_options={"allow_weights_outside": True})  # the explicit opt-in
    assert len(est.predict(np.zeros((64, 64, 3), np.uint8))) == 2


def test_onnx_external_data_links_and_the_opt_in(tmp_path):
    """Links out of the folder are refused; with the opt-in a hard link loads (the engines have
    their own rule against symbolic links that escape, without an opt-in)."""
    outside = tmp_path / "cache" / "blob"
    outside.parent.mkdir()
    outside.write_bytes(g.raw_constants()[(0, "det")].tobytes())
    for link in ("symlink", "hardlink"):
        folder = tmp_path / link
        folder.mkdir()
        (os.symlink if link == "symlink" else os.link)(outside, folder / "w.bin")
        path = _pose_onnx(folder, location="w.bin")
        for backend in ONNX_BACKENDS:
            with pytest.raises(ModelError, match="outside the model's folder" if link == "symlink" else "hard link"):
                PoseEstimator(path, backend=backend)
            if link == "symlink":
                with pytest.raises(ModelError, match="outside|escapes"):
                    PoseEstimator(path, backend=backend, runtime_options={"allow_weights_outside": True})
                continue
            est = PoseEstimator(path, backend=backend, runtime_options={"allow_weights_outside": True})
            assert len(est.predict(np.zeros((64, 64, 3), np.uint8))) == 2


@pytest.mark.parametrize(
    "entries, words",
    [
        ({"location": "w.bin", "offset": 1 << 40, "length": DET0_BYTES}, "past the end of that file"),
        ({"location": "w.bin", "offset": 0, "length": 4}, "with length 4, but its shape and type need 768 bytes"),
        ({"location": "w.bin", "offset": "-8"}, "offset '-8' is not a non-negative number"),
        ({"location": "w.bin", "offset": "0x10"}, "offset '0x10' is not a non-negative number"),
        ({"offset": "0"}, "is stored externally but names no file"),
        ({"location": "sub\\..\\..\\w.bin"}, "only relative locations"),
    ],
)
def test_external_data_must_fit_its_file(tmp_path, entries, words):
    """An engine that maps the weights file must never read past its end (refused before any
    engine opens the model, so no child process is needed)."""
    (tmp_path / "w.bin").write_bytes(b"\0" * 16)
    path = _pose_onnx(tmp_path, **entries)
    for backend in ONNX_BACKENDS:
        with pytest.raises(ModelError) as err:
            load_runtime(path, backend=backend)
        assert words in str(err.value) and "const_det0" in str(err.value) and str(path) in str(err.value)


# ----------------------------------------------------------------------------- messages
def test_openvino_load_errors_keep_the_cause(tmp_path):
    """OpenVINO's first line is only a source location ("Exception from src/...core.cpp:84:")."""
    made = _ir(tmp_path / "made", g.make_raw_onnx(tmp_path / "m.onnx"))
    xml = made.read_text()
    cases = {
        "short_bin": (xml, made.with_suffix(".bin").read_bytes()[:100], "Incorrect weights in bin file"),
        "negative_dim": (xml.replace("<dim>64</dim>", "<dim>-5</dim>", 1), made.with_suffix(".bin").read_bytes(), "dimension (-5)"),
    }
    for name, (text, weights, words) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "m.xml").write_text(text)
        (folder / "m.bin").write_bytes(weights)
        with pytest.raises(ModelError) as err:
            load_runtime(folder / "m.xml")
        message = str(err.value)
        assert words in message and str(folder / "m.xml") in message and not message.rstrip().endswith(":"), message
        assert "core.cpp" not in message and "\n" not in message


def test_engine_message_drops_source_locations():
    exc = RuntimeError(
        "Exception from src/inference/src/cpp/core.cpp:84:\n"
        "Exception from src/frontends/ir/src/ir_deserializer.cpp:120:\n"
        "Check 'dim >= -1' failed at src/core/src/dimension.cpp:7:\n"
        "dimension (-5) in node dim must be greater or equal to -1\n"
    )
    assert engine_message(exc) == "dimension (-5) in node dim must be greater or equal to -1"
    assert engine_message(RuntimeError("Exception from src/x.cpp:1:")) == "Exception from src/x.cpp:1:"
    assert engine_message(ValueError("")) == "ValueError"
    assert len(engine_message(RuntimeError("x" * 2000))) == 500


@pytest.mark.parametrize("suffix", [".onnx", ".xml"])
def test_openvino_checks_the_limits_before_compiling(tmp_path, suffix):
    """A fixed batch of 10**12 reached OpenVINO's compile_model, which ended in std::bad_alloc."""
    pytest.importorskip("openvino")
    path = g.make_raw_onnx(tmp_path / "batch.onnx", batch=10**12, meta=g.metadata(batch=10**12))
    if suffix == ".xml":
        path = g.save_openvino_ir(path, tmp_path / "batch.xml")
    (result,) = h.load_in_child([path], backend="openvino")
    assert result.get("error") == "ModelError", result
    assert "input batch 1000000000000 is outside 1..256" in result["message"] and "bad_alloc" not in result["message"]
