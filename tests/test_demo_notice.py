"""The bundled demo model says once, on stderr, that it is a demo when it meets real images."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner
from PIL import Image

from yolopose._demo_notice import DEMO_NOTICE, demo_notice, is_bundled_sample
from yolopose._assets import default_model_candidates
from yolopose.cli import main

SAMPLES = sorted((default_model_candidates()[0].parent / "samples").glob("*.jpg")) if default_model_candidates() else []

needs_default = pytest.mark.skipif(not SAMPLES, reason="no bundled default model in this installation")


def test_samples_are_recognised_by_place_and_by_content(tmp_path):
    if not SAMPLES:
        pytest.skip("no bundled samples")
    copy = tmp_path / "mine.jpg"
    shutil.copyfile(SAMPLES[0], copy)
    assert is_bundled_sample(SAMPLES[0]) and is_bundled_sample(copy)
    other = tmp_path / "street.jpg"
    Image.new("RGB", (32, 32), (90, 90, 90)).save(other)
    assert not is_bundled_sample(other) and not is_bundled_sample(tmp_path / "missing.jpg")
    assert demo_notice(None, [SAMPLES[0], copy]) is None
    assert demo_notice(None, [SAMPLES[0], other]) == DEMO_NOTICE
    assert demo_notice("my_model.onnx", [other]) is None


@needs_default
@pytest.mark.parametrize("real", [True, False])
def test_predict_with_the_default_model_prints_the_notice_once_for_real_images(tmp_path, real):
    pytest.importorskip("onnxruntime")
    folder = tmp_path / "imgs"
    folder.mkdir()
    if real:
        for i in range(2):
            Image.new("RGB", (96, 64), (40 * i, 120, 200)).save(folder / f"photo{i}.jpg")
    else:
        shutil.copyfile(SAMPLES[0], folder / SAMPLES[0].name)
    runner = CliRunner()
    res = runner.invoke(main, ["predict", str(folder), "--json", "--backend", "onnxruntime"])
    assert res.exit_code == 0, res.output
    assert res.stderr.count("bundled default model is a demo") == (1 if real else 0)
    if real:
        assert "yolopose-train convert" in res.stderr
    for line in res.stdout.splitlines():  # stdout stays machine-readable JSON
        json.loads(line)


@needs_default
def test_no_notice_for_inputs_that_are_not_photographs(tmp_path):
    """A missing path or a file that is not an image gets its error, not the demo-model note."""
    pytest.importorskip("onnxruntime")
    assert demo_notice(None, [tmp_path / "missing.jpg"]) is None
    runner = CliRunner()
    res = runner.invoke(main, ["predict", str(tmp_path / "missing.jpg"), "--json", "--backend", "onnxruntime"])
    assert res.exit_code == 1 and "missing.jpg" in res.output
    assert "bundled default model is a demo" not in res.stderr
    (tmp_path / "notes.jpg").write_text("not an image")
    res = runner.invoke(main, ["predict", str(tmp_path / "notes.jpg"), "--json", "--backend", "onnxruntime"])
    assert res.exit_code == 1 and "notes.jpg" in res.stderr
    assert "bundled default model is a demo" not in res.stderr
    res = runner.invoke(main, ["track", str(tmp_path / "nothing_here"), "--json"])
    assert res.exit_code == 1 and "bundled default model is a demo" not in res.stderr
