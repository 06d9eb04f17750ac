"""Quantization-aware training: a few fake-quantized steps on generated data, a checkpoint that
loads with weights_only, and an int8 TFLite from it whose integer arithmetic matches the graph."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from yolopose.training.checkpoint import save_checkpoint  # noqa: E402
from yolopose.training.int8_recipes import list_recipes  # noqa: E402
from yolopose.training.loss import PoseLoss  # noqa: E402

from _tiny_pose import tiny_model  # noqa: E402

IMGSZ = 64


def _generated_batches(n_batches: int, batch: int = 2, seed: int = 0):
    """Images with bright person-shaped boxes and matching targets (contract of the loss)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        images = torch.from_numpy(rng.integers(0, 80, (batch, 3, IMGSZ, IMGSZ), dtype=np.uint8))
        rows = []
        for b in range(batch):
            cx, cy, w, h = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.3), rng.uniform(0.3, 0.5)
            x0, y0 = int((cx - w / 2) * IMGSZ), int((cy - h / 2) * IMGSZ)
            images[b, :, y0 : y0 + int(h * IMGSZ), x0 : x0 + int(w * IMGSZ)] = 220
            kx = rng.uniform(cx - w / 2, cx + w / 2, 17)
            ky = rng.uniform(cy - h / 2, cy + h / 2, 17)
            kpts = np.stack([kx, ky, np.full(17, 2.0)], 1).ravel()
            rows.append([b, 0, cx, cy, w, h, *kpts])
        out.append((images, torch.tensor(rows, dtype=torch.float32), None))
    return out


@pytest.mark.slow
def test_qat_steps_checkpoint_and_int8_tflite(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from yolopose.export import export
    from yolopose.training.models.raw_outputs import RawOutputs
    from yolopose.training.qat import (
        QATSettings, build_quant_graph, convert_to_int8, load_qat_graph, qat_finetune, qat_float_model, save_qat_checkpoint,
        set_training,
    )

    model = tiny_model("silu")
    graph = build_quant_graph(model, IMGSZ, qat=True, recipe="full")  # every layer fake-quantized
    fake_quants = [m for m in graph.module.modules() if "FakeQuantize" in type(m).__name__]
    assert len(fake_quants) > 20
    before = {k: v.clone() for k, v in graph.float_state_dict().items()}
    seen = []
    metrics = qat_finetune(graph, model, _generated_batches(3), QATSettings(epochs=2, lr=1e-3),
                           on_step=lambda e, i, terms: seen.append(terms))
    assert len(seen) == 6 and all(np.isfinite(v) for v in metrics.values())
    assert set(metrics) == set(PoseLoss.TERMS)
    after = graph.float_state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the weights were trained

    # fake quantization is active: close to, but not equal to, the float network
    x = torch.rand(1, IMGSZ, IMGSZ, 3)
    set_training(graph, False)
    with torch.no_grad():
        fq = graph.module(x)
        ref = RawOutputs(qat_float_model(graph, model.config), "NHWC")(x)
    diffs = [float((a - b).abs().max()) for a, b in zip(fq, ref)]
    assert 0 < max(diffs) < 0.5 * max(float(r.abs().max()) for r in ref)

    # the checkpoint loads with weights_only and rebuilds the same graph
    path = save_qat_checkpoint(tmp_path / "qat.pt", graph, model.config, epoch=1)
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["qat"] is True and raw["format"] == "yolopose-checkpoint" and raw["int8_recipe"] == "full"
    graph2, _, _ = load_qat_graph(path)
    set_training(graph2, False)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(graph2.module(x), fq))

    # int8 TFLite from the QAT ranges: integer arithmetic equals the Q/DQ torch graph within 1-2 steps
    (r,) = export(path, "tflite", int8=True, qat=True, imgsz=IMGSZ, out=tmp_path / "out")
    assert r.quantization == "qat" and r.float_ops == () and "int8-qat" in r.path.name
    images = np.random.default_rng(3).integers(0, 256, (1, IMGSZ, IMGSZ, 3), dtype=np.uint8)
    it = Interpreter(model_path=str(r.path))
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    it.set_tensor(inp["index"], (images.astype(np.int16) - 128).astype(np.int8))
    it.invoke()
    qdq = convert_to_int8(graph2)
    with torch.no_grad():
        expected = {tuple(t.shape): t.numpy() for t in qdq(torch.from_numpy(images.astype(np.float32) / 255.0))}
    for d in it.get_output_details():
        scale, zp = d["quantization"]
        got = (it.get_tensor(d["index"]).astype(np.float32) - zp) * scale
        assert np.abs(got - expected[tuple(d["shape"])]).max() <= 2.01 * scale


def test_mixed_recipe_qat_leaves_the_float_layers_unquantized_and_exports_float_outputs(tmp_path):
    """The default recipe fake-quantizes the backbone and neck only: the head and the neck layers
    feeding it train in float, the checkpoint says so, and its int8 TFLite computes them in float."""
    from ai_edge_litert.interpreter import Interpreter

    from yolopose.export import export
    from yolopose.training.qat import build_quant_graph, convert_to_int8, save_qat_checkpoint, set_training

    model = tiny_model("silu")
    full = build_quant_graph(model, IMGSZ, qat=True, recipe="full")
    graph = build_quant_graph(model, IMGSZ, qat=True)
    assert graph.recipe == "mixed" and graph.float_layers == model.head_and_its_inputs()
    count = lambda g: sum("FakeQuantize" in type(m).__name__ for m in g.module.modules())  # noqa: E731
    assert 0 < count(graph) < count(full)

    def float_convs(g) -> int:  # convolutions whose input is not a dequantized int8 tensor
        convs = [n for n in convert_to_int8(g).graph.nodes if n.target == torch.ops.aten.conv2d.default]
        return sum("dequantize" not in str(getattr(n.args[0], "target", "")) for n in convs)

    n_float = sum(isinstance(m, torch.nn.Conv2d) and any(name == f or name.startswith(f + ".") for f in graph.float_layers)
                  for name, m in model.named_modules())
    assert float_convs(full) == 0 and float_convs(graph) == n_float > 0
    set_training(graph, True)  # let the fake quantizers see data: their ranges start empty
    with torch.no_grad():
        for x in _generated_batches(3):
            graph.module(x[0].permute(0, 2, 3, 1).float() / 255.0)
    path = save_qat_checkpoint(tmp_path / "qat.pt", graph, model.config)
    assert torch.load(path, weights_only=True)["int8_recipe"] == "mixed"
    (r,) = export(path, "tflite", int8=True, qat=True, imgsz=IMGSZ, out=tmp_path / "out")
    assert r.int8_recipe == "mixed" and r.float_ops
    it = Interpreter(model_path=str(r.path))
    it.allocate_tensors()
    assert it.get_input_details()[0]["dtype"] == np.int8
    assert all(d["dtype"] == np.float32 for d in it.get_output_details())
    images = np.random.default_rng(3).integers(0, 256, (1, IMGSZ, IMGSZ, 3), dtype=np.uint8)
    it.set_tensor(it.get_input_details()[0]["index"], (images.astype(np.int16) - 128).astype(np.int8))
    it.invoke()
    set_training(graph, False)
    with torch.no_grad():
        x = torch.from_numpy(images.astype(np.float32) / 255.0)
        expected = {tuple(t.shape): t.numpy() for t in convert_to_int8(graph)(x)}
        fake = {tuple(t.shape): t.numpy() for t in graph.module(x)}
    for d in it.get_output_details():
        got, want = it.get_tensor(d["index"]), expected[tuple(d["shape"])]
        assert np.abs(want - fake[tuple(d["shape"])]).max() < 0.01 * np.abs(want).max()  # the QAT graph's arithmetic
        assert np.abs(got - want).mean() < 0.05 * np.abs(want).mean() + 1e-3, d["name"]


def test_qat_command_on_a_checkpoint(tmp_path):
    from click.testing import CliRunner

    from yolopose.training.cli import main

    base = save_checkpoint(tmp_path / "base.pt", model=tiny_model("relu"), imgsz=IMGSZ)
    runner = CliRunner()
    result = runner.invoke(main, ["synth", "--out", str(tmp_path / "data"), "--train", "4", "--val", "2",
                                  "--imgsz", str(IMGSZ), "--workers", "1", "--preview", "0"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "qat" / "qat.pt"
    result = runner.invoke(main, ["qat", "--weights", str(base), "--data", str(tmp_path / "data"), "--epochs", "1",
                                  "--batch", "2", "--workers", "0", "--max-steps", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    ckpt = torch.load(out, map_location="cpu", weights_only=True)
    assert ckpt["qat"] is True and ckpt["imgsz"] == [IMGSZ, IMGSZ]
    assert set(ckpt["metrics"]) == {f"train/{k}" for k in PoseLoss.TERMS}
    again = runner.invoke(main, ["qat", "--weights", str(out), "--data", str(tmp_path / "data"), "--out", str(out)])
    assert again.exit_code != 0 and "already a QAT checkpoint" in again.output


@pytest.mark.parametrize("name", list_recipes())
def test_every_int8_recipe_names_real_layers_and_is_offered(name):
    """Every registered int8 recipe (a new one too, without editing this test) names modules the
    model has, keeps float layers exactly when it is not full-integer, and is a choice of both
    commands that take a recipe, with its summary in yolopose-export --help."""
    from click.testing import CliRunner

    from yolopose.export.cli import main as export_main
    from yolopose.training.cli import main as train_main
    from yolopose.training.int8_recipes import get_recipe

    recipe = get_recipe(name)
    layers = recipe.float_layers(tiny_model("silu"))
    assert recipe.full_integer == (len(layers) == 0)
    export_help = " ".join(CliRunner().invoke(export_main, ["--help"]).output.split())
    assert name in export_help and " ".join(recipe.summary.split())[:40] in export_help
    assert name in CliRunner().invoke(train_main, ["qat", "--help"]).output


def test_image_range_observer_keeps_a_percentile_of_each_images_extremes():
    """PTQ activation ranges: the 90th percentile of the per-image maxima (10th of the minima),
    the same whatever the memory layout of the activation (NHWC views are not contiguous)."""
    from yolopose.training.qat.quantizer import ImageRangeObserver

    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.normal(size=(40, 3, 5, 7)).astype(np.float32))
    images[3] *= 50.0  # one outlier image must not set the range
    plain, permuted = ImageRangeObserver(percentile=90.0), ImageRangeObserver(percentile=90.0)
    for start in range(0, 40, 8):
        batch = images[start : start + 8]
        plain(batch)
        permuted(batch.permute(0, 2, 3, 1))  # same values, not contiguous
    maxs, mins = images.flatten(1).amax(1), images.flatten(1).amin(1)
    assert torch.isclose(plain.max_val, torch.quantile(maxs, 0.9)) and torch.isclose(plain.min_val, torch.quantile(mins, 0.1))
    assert torch.equal(plain.max_val, permuted.max_val) and torch.equal(plain.min_val, permuted.min_val)
    assert float(plain.max_val) < 0.2 * float(maxs.max())  # the outlier image is clipped
    with pytest.raises(ValueError, match="percentile"):
        ImageRangeObserver(percentile=30.0)
