"""Frames are never lost silently (issue 30, case 1): a corrupt frame is an error row (batch) or a
warning naming it (track, stream) and reading goes on after it; a file that ends before the frame
count its header announces is reported, and the command exits non-zero because rows are missing.

The videos are made here: a 20-frame Motion-JPEG AVI written with OpenCV, one copy with frame 10's
JPEG data wiped, one cut off where frame 10 starts (its header still says 20 frames). The CLI
runs in a child process (FFmpeg decodes there: a crash or a hang fails the test, not pytest).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from _batch_inputs import SAMPLES  # noqa: E402
from yolopose.video import FrameError, FrameWarning, VideoSource  # noqa: E402

N, BAD = 20, 10
SOI = b"\xff\xd8\xff"


def _write(path: Path) -> Path:
    from PIL import Image

    image = np.asarray(Image.open(sorted(SAMPLES.glob("*.jpg"))[0]).convert("RGB").resize((128, 96)))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (128, 96))
    for i in range(N):
        writer.write(np.ascontiguousarray(np.roll(image, 6 * i, axis=1)[:, :, ::-1]))
    writer.release()
    return path


def _frame_starts(data: bytes):
    starts, at = [], data.find(SOI)
    while at >= 0:
        starts.append(at)
        at = data.find(SOI, at + 1)
    assert len(starts) == N, f"expected one JPEG per frame, found {len(starts)}"
    return starts


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    good = _write(folder / "good.avi")
    data = good.read_bytes()
    starts = _frame_starts(data)
    start, end = starts[BAD], starts[BAD + 1]
    corrupt = bytearray(data)
    corrupt[start + 2 : end - 16] = bytes(end - 18 - start)  # frame 10's JPEG data wiped (its chunk stays)
    (folder / "corrupt.avi").write_bytes(bytes(corrupt))
    (folder / "cut.avi").write_bytes(data[:start])  # the header still announces 20 frames
    return folder


def _cli(*args: str, timeout: float = 300):
    proc = subprocess.run([sys.executable, "-c", "from yolopose.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {proc.stderr[-2000:]}"
    return proc


def test_reading_goes_on_after_a_corrupt_frame(videos):
    with VideoSource(videos / "good.avi") as src:
        reference = {f.index: f.image for f in src}
    with VideoSource(videos / "corrupt.avi") as src:
        items = list(src)
    errors = [f for f in items if isinstance(f, FrameError)]
    assert [(e.index, e.kind) for e in errors] == [(BAD, "undecodable")] and "frame 10" in errors[0].message
    frames = [f for f in items if not isinstance(f, FrameError)]
    assert [f.index for f in frames] == [i for i in range(N) if i != BAD]
    for f in frames:  # every frame after the bad one is the right frame, not its neighbour
        assert np.abs(f.image.astype(int) - reference[f.index]).mean() < 3, f.index


@pytest.mark.parametrize("stride", [1, 3])
def test_a_file_that_ends_early_says_how_many_frames_are_missing(videos, stride):
    with VideoSource(videos / "cut.avi", stride=stride) as src:
        items = list(src)
    *frames, last = items
    assert [f.index for f in frames] == list(range(0, BAD, stride))
    want = len(range(BAD + (-BAD) % stride, N, stride))
    assert isinstance(last, FrameError) and last.kind == "ended" and last.missing == want
    assert "ends at frame 10 of the 20" in last.message


def test_batch_writes_an_error_row_for_the_corrupt_frame(videos, tmp_path):
    out = tmp_path / "out"
    proc = _cli("batch", str(videos / "corrupt.avi"), "--executor", "local", "--format", "jsonl", "--out", str(out),
                "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for p in sorted(out.glob("part-*.jsonl")) for line in p.read_text().splitlines()]
    assert sorted(r["frame"] for r in rows) == list(range(N))
    bad = [r for r in rows if r["error"]]
    assert [r["frame"] for r in bad] == [BAD] and "frame 10 could not be decoded" in bad[0]["error"]
    assert json.loads((out / "summary.json").read_text())["errors"] == 1


def test_batch_on_a_cut_file_reports_the_missing_rows_and_fails(videos, tmp_path):
    out = tmp_path / "out"
    args = ("batch", str(videos / "cut.avi"), "--executor", "local", "--format", "jsonl", "--out", str(out), "--no-progress")
    proc = _cli(*args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "ended early" in proc.stderr and "Traceback" not in proc.stderr
    rows = [json.loads(line) for p in sorted(out.glob("part-*.jsonl")) for line in p.read_text().splitlines()]
    assert sorted(r["frame"] for r in rows) == [-2, *range(BAD)]
    (ended,) = [r for r in rows if r["frame"] == -2]
    assert "10 frames missing" in ended["error"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ended_early"] == 1 and summary["missing"] == [str(videos / "cut.avi")]
    again = _cli(*args, "--resume")  # the video counts as done: nothing more to read
    assert again.returncode == 0 and "1 inputs already done" in again.stdout, again.stdout + again.stderr


def test_track_warns_with_the_frame_index_and_goes_on(videos):
    proc = _cli("track", str(videos / "corrupt.avi"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr and "frame 10 could not be decoded" in proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["frame"] for line in lines] == list(range(N))
    assert [line["frame"] for line in lines if "error" in line] == [BAD]


def test_track_on_a_cut_file_exits_non_zero(videos):
    proc = _cli("track", str(videos / "cut.avi"), "--json")
    assert proc.returncode == 1 and "ends at frame 10 of the 20" in proc.stderr, proc.stderr
    assert len([line for line in proc.stdout.splitlines() if '"error"' not in line]) == BAD


def test_stream_warns_for_each_lost_frame(videos):
    from yolopose import PoseEstimator

    est = PoseEstimator()
    with pytest.warns(FrameWarning, match="frame 10 could not be decoded"):
        got = [frame for frame, _ in est.stream(videos / "corrupt.avi")]
    assert len(got) == N - 1
    with pytest.warns(FrameWarning, match="10 frames missing"):
        assert len(list(est.stream(videos / "cut.avi"))) == BAD


def test_an_unreadable_image_in_a_folder_source_is_a_marker(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (32, 24), (40 * i, 0, 0)).save(tmp_path / f"f{i}.png")
    (tmp_path / "f1.png").write_bytes(b"not a png")
    (tmp_path / "f3.png").symlink_to("f3.png")  # a link to itself
    with VideoSource(tmp_path) as src:
        items = list(src)
    assert [type(i).__name__ for i in items] == ["Frame", "FrameError", "Frame", "FrameError"]
    assert "f3.png" in items[3].message
