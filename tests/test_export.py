"""Export a tiny model to every format and precision, run each artifact through the SDK, and
compare the decoded keypoints with torch; bad checkpoints; interrupted exports."""
from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

import yolopose  # noqa: E402
from yolopose.core.errors import CheckpointError, ConfigError  # noqa: E402
from yolopose.core.metadata import ModelMetadata  # noqa: E402
from yolopose.export import get_format, list_formats  # noqa: E402
from yolopose.training.checkpoint import save_checkpoint  # noqa: E402

from _tiny_pose import tiny_config, tiny_model  # noqa: E402

IMGSZ = 64


def _torch_raw(model, images: np.ndarray):
    from yolopose.training.models.raw_outputs import RawOutputs

    with torch.no_grad():
        outs = RawOutputs(model, "NHWC").eval()(torch.from_numpy(images.astype(np.float32) / 255.0))
    return [o.numpy() for o in outs]


def _artifact_file(path: Path) -> Path:
    return next(path.glob("*.xml")) if path.is_dir() else path


def _sdk_raw(path: Path, images: np.ndarray):
    """Raw outputs of the artifact through yolopose.PoseEstimator (its own runtime adapters), in
    metadata order."""
    options = {"config": {"INFERENCE_PRECISION_HINT": "f32"}} if path.is_dir() else None
    est = yolopose.PoseEstimator(str(_artifact_file(path)), runtime_options=options)
    try:
        x, _ = est.preprocess(list(images))
        return est.infer(x), est.metadata
    finally:
        est.close()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from yolopose.export import export

    out = tmp_path_factory.mktemp("export")
    model = tiny_model("silu")
    ckpt = save_checkpoint(out / "tiny.pt", model=model, imgsz=IMGSZ)
    results = []
    for precisions, formats in _formats_by_precisions().items():  # one export per precision set: calibrated once
        results += export(ckpt, formats, imgsz=IMGSZ, precisions=precisions, calib_images=8, out=out / "artifacts",
                          trained_on="synthetic figures, not COCO")
    return model, results


@pytest.fixture(scope="module")
def exported_full(tmp_path_factory, exported):
    """The same model's int8 artifacts with the ``full`` recipe (every layer int8)."""
    from yolopose.export import export

    model, _ = exported
    out = tmp_path_factory.mktemp("export-full")
    return model, export(model, INT8_FORMATS, imgsz=IMGSZ, int8=True, int8_recipe="full", calib_images=8, out=out)


#: every registered export format, and each (format, precision) it writes: a new format is tested
#: by the tests below without editing them
FORMATS = tuple(list_formats())
PAIRS = [(f, p) for f in FORMATS for p in get_format(f).precisions]
INT8_FORMATS = [f for f in FORMATS if "int8" in get_format(f).precisions]


def _formats_by_precisions():
    groups = {}
    for name in FORMATS:
        groups.setdefault(tuple(get_format(name).precisions), []).append(name)
    return groups


def test_the_built_in_formats_are_registered():
    assert {"onnx", "openvino", "tflite"} <= set(FORMATS)


def _result(results, fmt, precision):
    (r,) = [r for r in results if (r.format, r.precision) == (fmt, precision)]
    return r


@pytest.mark.slow
def test_export_all_writes_every_format_and_precision(exported):
    _, results = exported
    assert sorted((r.format, r.precision) for r in results) == sorted(PAIRS)


@pytest.mark.slow
@pytest.mark.parametrize("fmt, precision", PAIRS)
def test_artifact_matches_torch_through_the_sdk(exported, fmt, precision):
    from yolopose.core.cpu import int8_dot_saturates
    from yolopose.export import get_format
    from yolopose.export.verify import compare_keypoints

    model, results = exported
    r = _result(results, fmt, precision)
    # images the exporter never saw: square letterbox input of the right size
    images = np.random.default_rng(7).integers(0, 256, (1, IMGSZ, IMGSZ, 3), dtype=np.uint8)
    reference = _torch_raw(model, images)
    tolerance = {"fp32": 1e-2, "fp16": 0.5, "int8": 6.0}  # pixels at 64x64 input
    assert r.path.exists() and r.size_bytes > 0 and r.verified
    raw, meta = _sdk_raw(r.path, images)
    assert meta.precision == r.precision and meta.model == tiny_config().name
    assert meta.trained_on == "synthetic figures, not COCO"
    assert meta.quantization == ("ptq" if r.precision == "int8" else None)
    assert len(raw) == 9 and [a.shape for a in raw] == list(meta.raw_output_shapes(1).values())
    if r.precision == "int8" and get_format(fmt).int8_saturates_without_vnni and int8_dot_saturates():
        pytest.skip(f"{fmt} int8 on x86 without VNNI: its convolutions saturate 16-bit pair sums here "
                    "(yolopose.core.cpu.int8_dot_saturates; measured 12.5 px, 1.0 px with the weights in 7 bits)")
    err_max = compare_keypoints(raw, reference, model.strides, model.anchors).max_px
    assert err_max < tolerance[r.precision], (r.path.name, err_max)
    assert r.kpt_err_max_px < tolerance[r.precision]
    if r.precision == "fp32":
        assert r.kpt_err_max_px < 1e-2


@pytest.mark.slow
@pytest.mark.parametrize("fmt", INT8_FORMATS)
def test_full_recipe_int8_matches_torch_through_the_sdk(exported_full, fmt):
    from yolopose.core.cpu import int8_dot_saturates
    from yolopose.export import get_format
    from yolopose.export.verify import compare_keypoints

    model, results = exported_full
    (r,) = [r for r in results if r.format == fmt]
    images = np.random.default_rng(7).integers(0, 256, (1, IMGSZ, IMGSZ, 3), dtype=np.uint8)
    raw, meta = _sdk_raw(r.path, images)
    assert meta.precision == "int8" and meta.extra["int8_recipe"] == "full"
    if get_format(fmt).int8_saturates_without_vnni and int8_dot_saturates():
        pytest.skip(f"{fmt} int8 on x86 without VNNI saturates (yolopose.core.cpu.int8_dot_saturates)")
    assert compare_keypoints(raw, _torch_raw(model, images), model.strides, model.anchors).max_px < 6.0


@pytest.mark.slow
@pytest.mark.parametrize("fmt, precision", [(f, p) for f, p in PAIRS if p != "fp32" and (f, "fp32") in PAIRS])
def test_fp16_and_int8_artifacts_are_smaller(exported, fmt, precision):
    _, results = exported
    # a tiny net's graph weighs as much as its weights (real sizes: ~3.8x, see int8_speed.py)
    assert _result(results, fmt, precision).size_bytes < 0.9 * _result(results, fmt, "fp32").size_bytes


def _tflite_meta(path: Path) -> ModelMetadata:
    with zipfile.ZipFile(path) as zf:
        return ModelMetadata.from_json(zf.read("yolopose.json").decode())


def _check_int8_input(it) -> None:
    inp = it.get_input_details()
    assert len(inp) == 1 and tuple(inp[0]["shape"]) == (1, IMGSZ, IMGSZ, 3)
    assert inp[0]["dtype"] == np.int8
    scale, zero_point = inp[0]["quantization"]
    assert zero_point == -128 and abs(scale - 1 / 255) < 1e-9


@pytest.mark.slow
def test_full_recipe_int8_tflite_is_full_integer_with_nhwc_input(exported_full):
    from ai_edge_litert.interpreter import Interpreter

    _, results = exported_full
    (r,) = [r for r in results if r.format == "tflite"]
    assert r.int8_recipe == "full"
    it = Interpreter(model_path=str(r.path))
    _check_int8_input(it)
    outs = it.get_output_details()
    assert len(outs) == 9 and all(o["dtype"] == np.int8 and o["quantization"][0] > 0 for o in outs)
    assert len({o["quantization"] for o in outs}) > 1  # each output has its own range
    assert r.float_ops == () and "DEQUANTIZE" not in r.ops
    assert r.ops["LOGISTIC"] > 0 and r.ops["MUL"] > 0  # SiLU as int8 sigmoid * x
    meta = _tflite_meta(r.path)
    assert meta.input_layout == "NHWC" and meta.input_dtype == "int8" and meta.precision == "int8"
    assert meta.extra["int8_recipe"] == "full" and meta.extra["float_layers"] == []


@pytest.mark.slow
def test_mixed_recipe_int8_tflite_keeps_the_head_float_and_says_so(exported):
    """The default recipe: int8 input and int8 backbone/neck, the pose head and the neck layers
    feeding it in float, so every output is float32; the metadata lists those layers."""
    from ai_edge_litert.interpreter import Interpreter

    model, results = exported
    r = _result(results, "tflite", "int8")
    assert r.int8_recipe == "mixed"
    it = Interpreter(model_path=str(r.path))
    _check_int8_input(it)
    assert all(o["dtype"] == np.float32 for o in it.get_output_details())
    assert r.ops["DEQUANTIZE"] > 0 and r.float_ops  # the float layers, after a dequantize
    ops = it._get_ops_details()
    tensors = {t["index"]: t for t in it.get_tensor_details()}
    int8_convs = [op for op in ops if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")
                  and tensors[op["outputs"][0]]["dtype"] == np.int8]
    float_convs = [op for op in ops if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")
                   and tensors[op["outputs"][0]]["dtype"] == np.float32]
    floats = model.head_and_its_inputs()
    n_float = sum(1 for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)
                  and any(name == f or name.startswith(f + ".") for f in floats))
    assert len(float_convs) == n_float and len(int8_convs) > n_float
    meta = _tflite_meta(r.path)
    assert meta.extra["int8_recipe"] == "mixed" and meta.extra["float_layers"] == list(floats)
    from click.testing import CliRunner

    from yolopose.cli import main

    shown = CliRunner().invoke(main, ["info", str(r.path)])
    assert shown.exit_code == 0 and f"int8:      recipe mixed; float layers: {', '.join(floats)}" in shown.output


@pytest.mark.slow
def test_int8_onnx_carries_the_tflite_ranges(exported_full):
    """The int8 ONNX is the QDQ form of the graph the int8 TFLite comes from: its output
    quantization and its integer weights are the TFLite's, so the two agree much more closely
    with each other than either does with fp32 (full recipe: every output int8)."""
    import onnx
    from onnx import numpy_helper

    from yolopose.core.cpu import int8_dot_saturates

    model, results = exported_full
    by = {(r.format, r.precision): r for r in results}
    proto = onnx.load(str(by[("onnx", "int8")].path))
    ops = {n.op_type for n in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    int8_weights = [i for i in proto.graph.initializer if numpy_helper.to_array(i).dtype == np.int8 and i.dims and len(i.dims) == 4]
    assert int8_weights, "weights should be stored as int8 initializers"
    if int8_dot_saturates():
        pytest.skip("onnxruntime's int8 convolutions saturate on x86 without VNNI (yolopose.core.cpu.int8_dot_saturates)")
    images = np.random.default_rng(11).integers(0, 256, (1, IMGSZ, IMGSZ, 3), dtype=np.uint8)
    fp32 = _torch_raw(model, images)
    onnx_q, _ = _sdk_raw(by[("onnx", "int8")].path, images)
    tflite_q, _ = _sdk_raw(by[("tflite", "int8")].path, images)
    for a, b, ref in zip(onnx_q, tflite_q, fp32):
        between = np.abs(a - b).mean()
        to_float = np.abs(b - ref).mean()
        assert between <= 0.5 * to_float + 1e-3, (between, to_float)


def _float_layer_convs(model, floats) -> int:
    return sum(1 for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)
               and any(name == f or name.startswith(f + ".") for f in floats))


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["mixed", "full"])
def test_int8_onnx_runs_integer_kernels_in_onnxruntime(exported, exported_full, recipe, tmp_path):
    """onnxruntime turns every int8 convolution of the int8 ONNX into a ``QLinearConv`` (an int8
    activation layout or a float bias would leave float ``Conv`` nodes between Q/DQ pairs, slower
    than the fp32 model); only the recipe's float layers stay ``Conv``."""
    import onnx
    import onnxruntime as ort

    model, results = exported if recipe == "mixed" else exported_full
    path = next(r.path for r in results if (r.format, r.precision) == ("onnx", "int8"))
    source = [n.op_type for n in onnx.load(str(path)).graph.node]
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    optimized = [n.op_type for n in onnx.load(str(tmp_path / "optimized.onnx")).graph.node]
    floats = model.head_and_its_inputs() if recipe == "mixed" else ()
    n_float = _float_layer_convs(model, floats)
    assert optimized.count("Conv") == n_float and (n_float > 0) == (recipe == "mixed")
    assert optimized.count("QLinearConv") == source.count("Conv") - n_float > 0


@pytest.mark.slow
def test_mixed_recipe_openvino_quantizes_nothing_in_the_float_layers(exported):
    """NNCF's ignored_scope holds the recipe's float layers: no FakeQuantize feeds one of their
    nodes, while the rest of the network is quantized."""
    import openvino as ov

    from yolopose.export.scopes import module_of

    model, results = exported
    ir = ov.Core().read_model(str(_artifact_file(_result(results, "openvino", "int8").path)))
    floats = model.head_and_its_inputs()
    fed = [t.get_node().get_friendly_name() for op in ir.get_ops() if op.get_type_name() == "FakeQuantize"
           for out in op.outputs() for t in out.get_target_inputs()]
    in_float = [n for n in fed if any(module_of(n) == f or module_of(n).startswith(f + ".") for f in floats)]
    assert fed and not in_float, in_float
    meta = ModelMetadata.from_json(str(ir.get_rt_info(["yolopose"]).astype(str)))
    assert meta.extra["int8_recipe"] == "mixed" and meta.extra["float_layers"] == list(floats)


@pytest.mark.slow
def test_metadata_in_onnx_and_openvino(exported):
    import onnx
    import openvino as ov

    _, results = exported
    for r in results:
        if r.format == "onnx":
            model = onnx.load(str(r.path))
            props = {p.key: p.value for p in model.metadata_props}
            meta = ModelMetadata.from_json(props["yolopose"])
            assert model.opset_import[0].version >= 17
            onnx.checker.check_model(model)
        elif r.format == "openvino":
            xml = _artifact_file(r.path)
            assert xml.with_suffix(".bin").exists()
            meta = ModelMetadata.from_json(str(ov.Core().read_model(str(xml)).get_rt_info(["yolopose"]).astype(str)))
        else:
            continue
        assert meta.precision == r.precision and meta.input_layout == "NCHW"
        assert json.loads(meta.to_json())["strides"] == [8, 16, 32]


def test_dynamic_batch_onnx(tmp_path):
    from yolopose.export import export

    model = tiny_model("relu")
    (r,) = export(model, "onnx", imgsz=IMGSZ, dynamic=True, out=tmp_path)
    assert r.kpt_err_max_px < 1e-2 and "bdyn" in r.path.name
    images = np.random.default_rng(1).integers(0, 256, (3, IMGSZ, IMGSZ, 3), dtype=np.uint8)
    outs, _ = _sdk_raw(r.path, images)
    assert len(outs) == 9 and all(o.shape[0] == 3 for o in outs)
    with pytest.raises(ConfigError, match="fixed batch"):
        export(model, "tflite", imgsz=IMGSZ, dynamic=True, out=tmp_path)


def test_corrupt_checkpoint_gives_clear_error(tmp_path):
    from yolopose.export import export

    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"PK\x03\x04 this is not a checkpoint")
    with pytest.raises(CheckpointError, match="broken.pt"):
        export(bad, "onnx", out=tmp_path)
    with pytest.raises(CheckpointError, match="missing.pt"):
        export(tmp_path / "missing.pt", "onnx", out=tmp_path)
    with pytest.raises(ConfigError, match="neither a checkpoint file nor a registered model"):
        export("no-such-model", "onnx", out=tmp_path)


def test_wrong_architecture_checkpoint_gives_clear_error(tmp_path):
    from yolopose.export import export

    other = tiny_model("silu")
    # weights of the tiny net stored under the config of a twice as wide architecture
    wider = dataclasses.replace(tiny_config("silu"), width_multiple=0.125)
    path = save_checkpoint(tmp_path / "mismatch.pt", model=other.state_dict(), config=wider)
    with pytest.raises(CheckpointError, match="mismatch.pt"):
        export(path, "onnx", out=tmp_path)
    with pytest.raises(ConfigError, match="QAT checkpoint"):
        export(save_checkpoint(tmp_path / "plain.pt", model=other), "tflite", int8=True, qat=True, out=tmp_path)


def test_interrupted_export_leaves_no_partial_file(tmp_path, monkeypatch):
    from yolopose.export import export

    model = tiny_model("relu")
    real_write = Path.write_bytes

    def half_then_crash(self, data):
        real_write(self, data[: len(data) // 2])
        raise KeyboardInterrupt("simulated crash mid-write")

    monkeypatch.setattr(Path, "write_bytes", half_then_crash)
    with pytest.raises(KeyboardInterrupt):
        export(model, "onnx", imgsz=IMGSZ, out=tmp_path / "a")
    assert not any((tmp_path / "a").iterdir())

    import openvino as ov

    monkeypatch.setattr(Path, "write_bytes", real_write)

    def save_then_crash(model, path, **kwargs):
        Path(path).write_text("<net>partial")
        raise RuntimeError("simulated crash while saving the IR")

    monkeypatch.setattr(ov, "save_model", save_then_crash)
    with pytest.raises(Exception, match="simulated crash"):
        export(model, "openvino", imgsz=IMGSZ, out=tmp_path / "b")
    assert not any((tmp_path / "b").iterdir())


def test_a_registered_extra_format_is_exported_and_verified(tmp_path):
    """The format registry is open: a format defined outside the package is found by name,
    listed, written and verified through the runtimes like the built-in ones."""
    from yolopose.export import Format, export, get_format, list_formats, register_format
    from yolopose.export._registry import _FORMATS

    @register_format
    class OnnxCopy(Format):
        name = "onnx-copy"
        precisions = ("fp32",)
        verify_with = {"backend": "onnxruntime"}

        def artifact_path(self, job, precision):
            return job.out_path(job.stem(precision) + "_copy.onnx")

        def write(self, job, precision, path):
            return get_format("onnx").write(job, precision, path)

    try:
        assert "onnx-copy" in list_formats() and isinstance(get_format("onnx-copy"), OnnxCopy)
        (r,) = export(tiny_model("relu"), "onnx-copy", imgsz=IMGSZ, out=tmp_path)
        assert r.format == "onnx-copy" and r.path.name.endswith("_copy.onnx")
        assert r.verified and r.kpt_err_max_px < 1e-2
        with pytest.raises(ConfigError, match="does not support precision"):
            export(tiny_model("relu"), "onnx-copy", imgsz=IMGSZ, int8=True, out=tmp_path)
    finally:
        _FORMATS.unregister("onnx-copy")
    with pytest.raises(ConfigError, match="unknown export format 'onnx-copy'"):
        get_format("onnx-copy")


@pytest.mark.slow
def test_7bit_weights_keep_int8_onnx_and_openvino_on_every_x86(tmp_path):
    """``int8_weight_bits=7``: the int8 ONNX weights lie on a 7-bit grid (within half a 7-bit step
    of the 8-bit ones), the metadata says so, and the ONNX and OpenVINO artifacts agree with torch
    as closely as int8 should, also on x86 without VNNI, where 8-bit weights saturate
    (test_artifact_matches_torch_through_the_sdk skips there; measured 12.5 px)."""
    import onnx
    from onnx import numpy_helper

    from yolopose.export import export
    from yolopose.export.verify import compare_keypoints

    model = tiny_model("silu")
    ckpt = save_checkpoint(tmp_path / "tiny.pt", model=model, imgsz=IMGSZ)
    results = {r.format: r for r in export(ckpt, ["onnx", "openvino"], imgsz=IMGSZ, int8=True, calib_images=8,
                                           int8_weight_bits=7, out=tmp_path / "out")}
    proto = onnx.load(str(results["onnx"].path))
    weights = [numpy_helper.to_array(i) for i in proto.graph.initializer if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4]
    assert weights and all(w.min() >= -64 and w.max() <= 63 for w in weights)
    assert max(int(np.abs(w).max()) for w in weights) > 32  # the grid is used, not squeezed further
    images = np.random.default_rng(7).integers(0, 256, (1, IMGSZ, IMGSZ, 3), dtype=np.uint8)
    reference = _torch_raw(model, images)
    for fmt, r in results.items():
        raw, meta = _sdk_raw(r.path, images)
        assert meta.extra["int8_weight_bits"] == 7
        err = compare_keypoints(raw, reference, model.strides, model.anchors).max_px
        assert err < 6.0, (fmt, err)  # the int8 tolerance of test_artifact_matches_torch_through_the_sdk


def test_int8_weight_bits_must_be_7_or_8():
    from yolopose.export.options import ExportOptions

    with pytest.raises(ConfigError, match="int8_weight_bits"):
        ExportOptions(int8_weight_bits=4)


def test_a_qat_checkpoint_exports_with_its_own_recipe_only(tmp_path):
    """A QAT checkpoint records the recipe it was tuned under and refuses another one before
    anything is written; an unknown recipe names the known ones."""
    from yolopose.export import export
    from yolopose.training.qat import build_quant_graph, save_qat_checkpoint

    model = tiny_model("relu")
    graph = build_quant_graph(model, IMGSZ, qat=True, recipe="full")
    ckpt = save_qat_checkpoint(tmp_path / "qat.pt", graph, model.config)
    assert torch.load(ckpt, weights_only=True)["int8_recipe"] == "full"
    with pytest.raises(ConfigError, match="QAT-tuned with int8 recipe 'full'.*asked: 'mixed'"):
        export(ckpt, "onnx", imgsz=IMGSZ, int8=True, qat=True, int8_recipe="mixed", out=tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    with pytest.raises(ConfigError, match="unknown int8 recipe 'fast'.*mixed, full"):
        export(model, "onnx", imgsz=IMGSZ, int8=True, int8_recipe="fast", out=tmp_path / "out")


@pytest.mark.slow
def test_openvino_runs_fp32_and_the_float_layers_of_mixed_int8_in_f32(exported):
    """On CPUs with bf16 OpenVINO would compute float layers in bf16: an fp32 artifact and the float
    layers of a mixed int8 one run in f32 unless the user's config says otherwise."""
    from yolopose.runtimes import load_runtime
    from yolopose.training.trainer.precision import cpu_has_native_bf16

    _, results = exported
    cases = [(None, "f32")] + ([({"INFERENCE_PRECISION_HINT": "bf16"}, "bf16")] if cpu_has_native_bf16() else [])
    for precision in ("fp32", "int8"):
        path = _artifact_file(_result(results, "openvino", precision).path)
        for config, want in cases:
            rt = load_runtime(path, backend="openvino", config=config)
            try:
                hint = rt._compiled.get_property("INFERENCE_PRECISION_HINT")
                hint = hint.to_string() if hasattr(hint, "to_string") else str(hint)
                assert hint == want, (precision, config)
            finally:
                rt.close()
