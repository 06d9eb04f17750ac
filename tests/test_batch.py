"""``yolopose batch`` with the local executor (no Ray): sources, rows, error rows, formats, resume."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from _batch_inputs import SAMPLES, make_archive
from yolopose import PoseEstimator
from yolopose.batch import FORMATS, execute, expand_sources, read_rows, row_poses, run
from yolopose.batch.predictor import BatchPredictor
from yolopose.cli import main
from yolopose.core.errors import ConfigError


@pytest.fixture(scope="module")
def estimator():
    with PoseEstimator() as est:
        yield est


@pytest.fixture()
def archive(tmp_path):
    return make_archive(tmp_path / "archive")


def test_sources_folders_globs_lists_once(tmp_path, archive):
    listing = tmp_path / "list.txt"
    listing.write_text("# inputs\narchive/synthetic_1.jpg\n\narchive/missing.jpg\n" + str(archive / "sub") + "\n")
    items = expand_sources([str(archive / "*.jpg"), str(listing), str(archive)])
    names = [Path(i.source).name for i in items]
    assert names == ["broken.jpg", "synthetic_1.jpg", "synthetic_2.jpg", "missing.jpg", "synthetic_3.jpg", "broken.mp4"]
    assert [i.kind for i in items][-1] == "video" and all(Path(i.source).is_absolute() for i in items)
    with pytest.raises(ConfigError, match="matches no file"):
        expand_sources([str(tmp_path / "nothing*.png")])


@pytest.mark.parametrize("fmt", FORMATS.names())
def test_local_rows_equal_predict_and_errors_are_rows(archive, tmp_path, estimator, fmt):
    """Every registered output format (a new one too, without editing this test) gives back the
    rows of every input, predictions equal to ``predict`` and errors as rows."""
    summary = execute([archive], tmp_path / "out", format=fmt, executor="local", batch_size=2)
    rows = read_rows(summary.output)
    by_name = {Path(r["source"]).name: r for r in rows}
    assert sorted(by_name) == ["broken.jpg", "broken.mp4", "synthetic_1.jpg", "synthetic_2.jpg", "synthetic_3.jpg"]
    assert len(rows) == 5 and summary.inputs == 5 and summary.errors == 2
    assert "broken.jpg" in by_name["broken.jpg"]["error"] and by_name["broken.jpg"]["frame"] == 0
    assert "broken.mp4" in by_name["broken.mp4"]["error"] and by_name["broken.mp4"]["frame"] == -1
    for path in SAMPLES.glob("*.jpg"):
        row = by_name[path.name]
        expected = estimator.predict(path)
        got = row_poses(row)
        with Image.open(path) as im:
            assert (row["width"], row["height"]) == im.size
        assert row["error"] is None and len(got) == len(expected) > 0
        np.testing.assert_allclose(got.boxes, expected.boxes, atol=1e-3)  # jsonl and coco round to 3 decimals
        np.testing.assert_allclose(got.keypoints, expected.keypoints, atol=1e-3)
    assert summary.people == sum(len(r["scores"]) for r in rows)
    saved = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert saved["rows"] == 5 and saved["errors"] == 2


def test_parquet_rows_are_exact(archive, tmp_path, estimator):
    pytest.importorskip("pyarrow")
    out = run([archive / "synthetic_1.jpg"], tmp_path / "pq", executor="local")
    (row,) = read_rows(out)
    expected = estimator.predict(archive / "synthetic_1.jpg")
    poses = row_poses(row)
    assert np.array_equal(poses.boxes, expected.boxes) and np.array_equal(poses.keypoints, expected.keypoints)
    assert np.array_equal(poses.scores, expected.scores)


def test_existing_output_needs_resume_or_overwrite(archive, tmp_path):
    out = tmp_path / "out"
    execute([archive / "synthetic_1.jpg"], out, format="jsonl", executor="local")
    with pytest.raises(ConfigError, match="--resume"):
        execute([archive / "synthetic_1.jpg"], out, format="jsonl", executor="local")
    with pytest.raises(ConfigError, match="not parquet"):
        execute([archive / "synthetic_1.jpg"], out, format="parquet", executor="local", resume=True)
    again = execute([archive / "synthetic_1.jpg"], out, format="jsonl", executor="local", overwrite=True)
    assert again.images == 1 and len(read_rows(out)) == 1


def test_resume_after_a_killed_run_writes_each_input_once(archive, tmp_path, monkeypatch):
    out = tmp_path / "out"
    calls = {"n": 0}
    real = BatchPredictor.process

    def dies_on_third_batch(self, items):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the job is killed here
        return real(self, items)

    monkeypatch.setattr(BatchPredictor, "process", dies_on_third_batch)
    with pytest.raises(KeyboardInterrupt):
        execute([archive], out, format="jsonl", executor="local", batch_size=1, rows_per_part=1)
    monkeypatch.setattr(BatchPredictor, "process", real)
    first = read_rows(out)
    assert len(first) == 2 and not list(out.glob(".*tmp"))  # whole parts only
    summary = execute([archive], out, format="jsonl", executor="local", resume=True)
    assert summary.skipped == 2 and summary.rows == 3
    rows = read_rows(out)
    assert len(rows) == 5 and len({(r["source"], r["frame"]) for r in rows}) == 5


def test_coco_output_lists_every_input(archive, tmp_path):
    path = run([archive], tmp_path / "coco", format="coco", executor="local")
    doc = json.loads(Path(path).read_text())
    assert Path(path).name == "poses_coco.json" and len(doc["images"]) == 5
    errors = [im for im in doc["images"] if im["error"]]
    assert len(errors) == 2
    ann = doc["annotations"][0]
    assert len(ann["keypoints"]) == 51 and len(ann["keypoint_scores"]) == 17 and ann["score"] > 0
    assert set(ann["keypoints"][2::3]) <= {0, 2}


def test_video_rows_every_n_frames(tmp_path):
    pytest.importorskip("cv2")
    archive = make_archive(tmp_path / "archive", video=True)
    summary = execute([archive / "clip.avi"], tmp_path / "out", format="jsonl", executor="local", every=2)
    rows = read_rows(summary.output)
    assert [r["frame"] for r in rows] == [0, 2, 4] and all(r["error"] is None for r in rows)
    assert summary.frames == 3 and summary.images == 0


def test_resume_continues_a_video_where_it_stopped(tmp_path):
    pytest.importorskip("cv2")
    archive = make_archive(tmp_path / "archive", video=True)
    out = tmp_path / "out"
    execute([archive / "clip.avi"], out, format="jsonl", executor="local")
    (part,) = out.glob("part-*.jsonl")
    part.write_text("".join(part.read_text().splitlines(keepends=True)[:3]))  # as if killed after frame 2
    summary = execute([archive / "clip.avi"], out, format="jsonl", executor="local", resume=True)
    assert summary.rows == 2 and [r["frame"] for r in read_rows(out)] == [0, 1, 2, 3, 4]


def test_cli_batch_local(archive, tmp_path):
    out = tmp_path / "cli"
    res = CliRunner().invoke(main, ["batch", str(archive), "--executor", "local", "--out", str(out), "--format", "jsonl",
                                    "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "4 images, 0 video frames" in res.output and "2 errors" in res.output
    res = CliRunner().invoke(main, ["batch", str(archive), "--executor", "local", "--out", str(out), "--format", "jsonl"])
    assert res.exit_code != 0 and "--resume" in res.output


def test_eval_local_executor_gives_the_in_process_metrics():
    from yolopose.evaluate import evaluate_model

    model = PoseEstimator().model_path
    args = (model, SAMPLES / "annotations.json", SAMPLES)
    here = evaluate_model(*args, metrics_backend="numpy")
    local = evaluate_model(*args, metrics_backend="numpy", executor="local")
    assert local.detections == here.detections and local.metrics == here.metrics


def test_batch_import_is_light():
    import subprocess
    import sys

    code = ("import sys, yolopose.batch, yolopose.batch.executors, yolopose.cli.batch;"
            "heavy = [m for m in ('ray', 'pyarrow', 'torch', 'cv2', 'pandas') if m in sys.modules];"
            "print(heavy); sys.exit(1 if heavy else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_batch_executor_choices_come_from_the_registry(tmp_path, archive):
    """``--executor`` lists the registered executors; an executor registered from outside is
    accepted without editing the command; the old spelling ``--engine`` still works."""
    from yolopose.batch.executors import EXECUTORS, LocalExecutor, register_executor

    @register_executor
    class EchoExecutor(LocalExecutor):
        name = "echo"

    try:
        res = CliRunner().invoke(main, ["batch", "--help"])
        assert all(name in res.output for name in EXECUTORS.names())
        res = CliRunner().invoke(main, ["batch", str(archive / "synthetic_1.jpg"), "--executor", "echo",
                                        "--out", str(tmp_path / "a"), "--format", "jsonl", "--no-progress"])
        assert res.exit_code == 0, res.output
        assert "x echo" in res.output
    finally:
        EXECUTORS.unregister("echo")
    res = CliRunner().invoke(main, ["batch", str(archive / "synthetic_1.jpg"), "--engine", "local",
                                    "--out", str(tmp_path / "b"), "--format", "jsonl", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "x local" in res.output
