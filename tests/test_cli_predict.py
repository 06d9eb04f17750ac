"""``yolopose predict`` and ``yolopose info`` through click's runner, on tiny real models."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from PIL import Image

import _graphs as g
from yolopose.cli import main

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def model(tiny_onnx):
    return tiny_onnx


@pytest.fixture()
def images(tmp_path):
    folder = tmp_path / "imgs"
    (folder / "sub").mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(folder / "a.jpg")
    Image.new("RGB", (128, 128)).save(folder / "sub" / "a.png")  # same stem, other folder
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_predict_writes_drawn_images_and_json(model, images, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["predict", str(images), "--model", str(model), "--save-dir", str(out), "--labels"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "a.json", "a_1.jpg", "a_1.json"]
    rec = json.loads((out / "a.json").read_text())
    assert rec["width"] == 64 and len(rec["poses"]) == 2
    assert rec["poses"][0]["box"] == pytest.approx([4, 15, 44, 64], abs=0.01)
    big = json.loads((out / "a_1.json").read_text())
    assert big["poses"][0]["box"] == pytest.approx([8, 30, 88, 128], abs=0.02)
    assert Image.open(out / "a_1.jpg").size == (128, 128)


def test_predict_json_to_stdout(model, images, tmp_path):
    res = CliRunner().invoke(main, ["predict", str(images / "a.jpg"), "-m", str(model), "--json", "--conf", "0.7"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1 and len(lines[0]["poses"]) == 1 and lines[0]["source"].endswith("a.jpg")


def test_predict_errors(model, images, tmp_path):
    (images / "bad.jpg").write_bytes(b"junk")
    res = CliRunner().invoke(main, ["predict", str(images), "-m", str(model), "--save-dir", str(tmp_path / "o")])
    assert res.exit_code == 1 and "bad.jpg" in res.output and "1 of 3" in res.output
    res = CliRunner().invoke(main, ["predict", str(images / "a.jpg"), "-m", str(tmp_path / "nope.onnx")])
    assert res.exit_code == 1 and "nope.onnx" in res.output
    res = CliRunner().invoke(main, ["predict", str(images / "a.jpg"), "-m", str(model), "--conf", "2"])
    assert res.exit_code == 2


def test_info_text_and_json(model):
    res = CliRunner().invoke(main, ["info", str(model)])
    assert res.exit_code == 0, res.output
    assert "tiny-test" in res.output and "onnxruntime" in res.output and "kpt_xy0" in res.output
    res = CliRunner().invoke(main, ["info", str(g.FIXTURES / "tiny_raw_int8.tflite"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout[res.stdout.index("{"):])
    assert data["backend"] == "tflite" and data["quantization"]["images"]["zero_point"] == -128
    assert data["metadata"]["precision"] == "int8" and data["embedded_metadata"] is True
    assert any(b["backend"] == "tflite" and b["installed"] for b in data["backends"])
    res = CliRunner().invoke(main, ["info", "missing.onnx"])
    assert res.exit_code == 1 and "missing.onnx" in res.output
