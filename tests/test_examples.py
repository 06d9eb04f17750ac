"""Every example in ``examples/`` runs on bundled or generated data, so none goes stale.

Examples run with the default model bundled in the package (ONNX and int8 TFLite).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import List, Optional

import numpy as np
import pytest

from yolopose._assets import default_model_candidates

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def _bundled(suffix: str) -> Path:
    found = [p for p in default_model_candidates() if p.suffix == suffix]
    assert found, f"the package ships no default {suffix} model"
    return found[0]


def _run(args: List[str], timeout: float = 300, cwd: Optional[Path] = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)
    assert proc.returncode == 0, f"{args[0]} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def onnx_model() -> Path:
    pytest.importorskip("onnxruntime")
    return _bundled(".onnx")


@pytest.fixture(scope="module")
def walking_frames() -> List[np.ndarray]:
    """Twelve 160x120 frames of two synthetic people walking past each other."""
    from yolopose.training.synth import PersonState, render, sample_appearance, sample_scene, walking_pose

    rng = np.random.default_rng(3)
    scene = replace(sample_scene(rng, 160, num_people=0), size=(120, 160))
    looks = [sample_appearance(rng) for _ in range(2)]
    frames = []
    for t in range(12):
        people = (
            PersonState(x=30 + 4 * t, y=62, height=80, pose=walking_pose(0.5 * t), appearance=looks[0], yaw=1.57, depth=-1),
            PersonState(x=130 - 4 * t, y=58, height=70, pose=walking_pose(0.5 * t + 2), appearance=looks[1], yaw=-1.57),
        )
        image, _ = render(replace(scene, persons=people), np.random.default_rng(t))
        frames.append(image)
    return frames


def test_01_predict_image(tmp_path: Path, onnx_model: Path, walking_frames):
    from PIL import Image

    image = tmp_path / "people.jpg"
    Image.fromarray(walking_frames[0]).save(image)
    out = tmp_path / "drawn.jpg"
    proc = _run([str(EXAMPLES / "01_predict_image.py"), str(image), "--model", str(onnx_model), "--out", str(out)])
    assert "people; drawing saved to" in proc.stdout
    assert Image.open(out).size == (160, 120)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("person ")]
    assert len(lines) == int(proc.stdout.split(" people;")[0].split()[-1])


def test_01_without_model_uses_the_bundled_one(tmp_path: Path, walking_frames):
    from PIL import Image

    image = tmp_path / "people.png"
    Image.fromarray(walking_frames[0]).save(image)
    proc = _run([str(EXAMPLES / "01_predict_image.py"), str(image), "--out", str(tmp_path / "d.jpg")])
    assert "drawing saved" in proc.stdout


def _frame_lines(stdout: str) -> List[str]:
    return [line for line in stdout.splitlines() if line.startswith("frame ")]


def test_02_tracking_on_an_image_folder(tmp_path: Path, onnx_model: Path, walking_frames):
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(walking_frames):
        Image.fromarray(f).save(folder / f"{i:04d}.png")
    proc = _run([str(EXAMPLES / "02_video_tracking.py"), str(folder), "--model", str(onnx_model), "--max-frames", "8"])
    lines = _frame_lines(proc.stdout)
    assert len(lines) == 8 and "FPS" in lines[-1]
    assert "different people seen" in proc.stdout


def test_02_tracking_on_a_video_file_writes_annotated_video(tmp_path: Path, onnx_model: Path, walking_frames):
    pytest.importorskip("cv2")
    from yolopose.video import VideoSource, VideoWriter

    video = tmp_path / "walk.mp4"
    with VideoWriter(video, fps=10) as w:
        for f in walking_frames:
            w.write(f)
    out = tmp_path / "tracked.avi"
    proc = _run([str(EXAMPLES / "02_video_tracking.py"), str(video), "--model", str(onnx_model), "--save", str(out), "--stride", "2"])
    assert len(_frame_lines(proc.stdout)) == 6
    with VideoSource(out) as src:
        got = list(src)
        assert src.fps == pytest.approx(5.0)
    assert len(got) == 6 and got[0].image.shape == (120, 160, 3)
    assert not np.array_equal(got[0].image, walking_frames[0])  # boxes, skeletons and the FPS box are drawn


def test_03_raspberry_pi_imports_no_other_engine(tmp_path: Path, walking_frames):
    from PIL import Image

    from yolopose.runtimes import get_backend

    if not get_backend("tflite").installed():
        pytest.skip("no TFLite interpreter (ai-edge-litert or tflite-runtime) installed")
    model = _bundled(".tflite")
    for i, f in enumerate(walking_frames[:3]):
        Image.fromarray(f).save(tmp_path / f"cam_{i}.jpg")
    script = EXAMPLES / "03_raspberry_pi.py"
    check = (  # the Pi has no OpenCV (the letterbox uses it when installed): block it as not installed
        "import runpy, sys\n"
        "sys.modules['cv2'] = None\n"
        f"sys.argv = [{str(script)!r}, {str(tmp_path)!r}, '--model', {str(model)!r}, '--threads', '1']\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
        "bad = sorted(m for m in ('onnxruntime', 'openvino', 'torch', 'cv2', 'tensorflow') if sys.modules.get(m) is not None)\n"
        "assert not bad, f'imported {bad}'\n"
    )
    proc = _run(["-c", check])
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["image"] for r in records] == ["cam_0.jpg", "cam_1.jpg", "cam_2.jpg"]
    assert all(isinstance(r["people"], list) for r in records)
    assert "median preprocess" in proc.stdout and "int8" in proc.stdout.splitlines()[0]


@pytest.mark.slow
@pytest.mark.torch
def test_04_finetune_qat_export_bench_quick(tmp_path: Path):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    out = tmp_path / "run"
    proc = _run([str(EXAMPLES / "04_finetune_qat_export.py"), "--quick", "--out", str(out)], timeout=600)
    for step in ("yolopose-train synth", "yolopose-train train", "yolopose-train qat", "yolopose-export", "yolopose bench", "yolopose eval"):
        assert f"$ {step}" in proc.stdout
    assert (out / "train" / "best.pt").is_file() and (out / "qat.pt").is_file()
    assert list((out / "export").glob("*int8*.onnx"))
    bench = json.loads((out / "bench.json").read_text())
    assert bench  # one record per artifact, written by `yolopose bench --json`
    assert (out / "eval.json").is_file()
