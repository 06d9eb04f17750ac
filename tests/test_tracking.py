"""Tracking: Kalman box filter, assignment, OKS, PoseTracker ids, One Euro smoothing, metrics, video I/O."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from yolopose.core.errors import ConfigError, VideoError
from yolopose.tracking import (
    KalmanBoxFilter,
    KeypointSmoother,
    OneEuroFilter,
    PoseTracker,
    TrackedPoses,
    greedy_assignment,
    jitter_metrics,
    linear_sum_assignment,
    mot_metrics,
    oks_matrix,
)

# A 17-keypoint standing figure in a unit box (x right, y down), COCO order.
_TEMPLATE = np.array([
    [.50, .05], [.55, .03], [.45, .03], [.60, .05], [.40, .05], [.70, .20], [.30, .20], [.80, .35], [.20, .35],
    [.85, .50], [.15, .50], [.62, .50], [.38, .50], [.63, .75], [.37, .75], [.64, .98], [.36, .98],
])


def _person(cx: float, cy: float, h: float, conf: float = 0.9):
    w = 0.4 * h
    kp = np.c_[(_TEMPLATE[:, 0] - 0.5) * w + cx, (_TEMPLATE[:, 1] - 0.5) * h + cy, np.full(17, conf)]
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]), kp


def _frame(people, rng=None, box_noise=0.0, kpt_noise=0.0, score=0.9):
    boxes, kpts = zip(*[_person(*p) for p in people]) if people else ((), ())
    boxes = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    kpts = np.array(kpts, dtype=np.float64).reshape(-1, 17, 3)
    if rng is not None:
        boxes = boxes + rng.normal(0, box_noise, boxes.shape)
        kpts[..., :2] += rng.normal(0, kpt_noise, kpts[..., :2].shape)
    return boxes, np.full(len(boxes), score), kpts


# ---------------------------------------------------------------------------------------- Kalman
def test_kalman_learns_constant_velocity_and_filters_noise():
    rng = np.random.default_rng(1)
    truth = [np.array([10 + 3 * t, 50 - 1 * t, 60 + 3 * t, 150 - 1 * t], dtype=float) for t in range(60)]
    kf = KalmanBoxFilter(truth[0])
    meas_err, filt_err = [], []
    for t in range(1, 60):
        kf.predict()
        z = truth[t] + rng.normal(0, 3.0, 4)
        est = kf.update(z)
        if t > 20:
            meas_err.append(np.abs(z - truth[t]).mean())
            filt_err.append(np.abs(est - truth[t]).mean())
    assert np.allclose(kf.velocity, [3.0, -1.0, 0.0, 0.0], atol=0.6)
    assert np.mean(filt_err) < 0.8 * np.mean(meas_err)
    before, v = kf.box, kf.velocity
    ahead = kf.predict(5.0)  # five frames without measurements: straight-line extrapolation
    expected = before + 5 * np.r_[v[:2] - v[2:] / 2, v[:2] + v[2:] / 2]
    assert np.allclose(ahead, expected)
    assert np.abs(ahead - (truth[59] + 5 * np.array([3, -1, 3, -1]))).max() < 8.0


def test_kalman_low_confidence_moves_less_and_bad_input_fails():
    a, b = KalmanBoxFilter([0, 0, 10, 20]), KalmanBoxFilter([0, 0, 10, 20])
    a.predict(), b.predict()
    moved_sure = a.update([5, 0, 15, 20], confidence=1.0)[0]
    moved_unsure = b.update([5, 0, 15, 20], confidence=0.1)[0]
    assert 0 < moved_unsure < moved_sure
    with pytest.raises(ConfigError):
        KalmanBoxFilter([0, 0, 0, 10])
    with pytest.raises(ConfigError):
        KalmanBoxFilter([0, 0, np.nan, 10])
    with pytest.raises(ConfigError):
        a.predict(-1.0)
    assert a.mahalanobis(a.box) < a.mahalanobis(a.box + 20)


# ---------------------------------------------------------------------------------------- assignment
def _brute_force(cost: np.ndarray) -> float:
    n, m = cost.shape
    if min(n, m) == 0:
        return 0.0
    if n <= m:
        return min(cost[np.arange(n), list(p)].sum() for p in itertools.permutations(range(m), n))
    return min(cost[list(p), np.arange(m)].sum() for p in itertools.permutations(range(n), m))


@pytest.mark.parametrize("seed", range(6))
def test_hungarian_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n, m = rng.integers(0, 6, size=2)
        cost = rng.integers(0, 4, size=(n, m)).astype(float) if rng.random() < 0.5 else rng.normal(size=(n, m)) * 10
        rows, cols = linear_sum_assignment(cost)
        assert len(rows) == len(cols) == min(n, m)
        assert len(set(rows.tolist())) == len(rows) and len(set(cols.tolist())) == len(cols)
        assert np.all(np.diff(rows) > 0)
        assert cost[rows, cols].sum() == pytest.approx(_brute_force(cost), abs=1e-9)
        r2, c2 = linear_sum_assignment(cost, maximize=True)
        assert cost[r2, c2].sum() == pytest.approx(-_brute_force(-cost), abs=1e-9)
        rg, cg = greedy_assignment(cost)
        assert len(set(cg.tolist())) == len(cg) and len(rg) == min(n, m)
        assert cost[rg, cg].sum() >= cost[rows, cols].sum() - 1e-9


def test_assignment_rejects_bad_matrices_and_greedy_threshold():
    with pytest.raises(ConfigError, match="NaN or inf"):
        linear_sum_assignment(np.array([[1.0, np.inf]]))
    with pytest.raises(ConfigError, match="2-D"):
        linear_sum_assignment(np.zeros(3))
    rows, cols = greedy_assignment(np.array([[0.1, 0.9], [0.8, 0.95]]), max_cost=0.5)
    assert rows.tolist() == [0] and cols.tolist() == [0]


# ---------------------------------------------------------------------------------------- OKS
def test_oks_values():
    _, kp = _person(100, 100, 100)
    area = np.array([40.0 * 100.0])
    oks, counted = oks_matrix(kp[None], kp[None], area)
    assert oks[0, 0] == pytest.approx(1.0) and counted[0, 0] == 17
    moved = kp.copy()
    moved[:, 0] += 5.0
    sig = np.asarray([0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
                      0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089])
    expected = np.exp(-25.0 / (2 * area[0] * (2 * sig) ** 2)).mean()
    oks, _ = oks_matrix(kp[None], moved[None], area)
    assert oks[0, 0] == pytest.approx(expected)
    moved[:10, 2] = 0.0  # unsure keypoints do not count
    oks, counted = oks_matrix(kp[None], moved[None], area)
    assert counted[0, 0] == 7
    assert oks[0, 0] == pytest.approx(np.exp(-25.0 / (2 * area[0] * (2 * sig[10:]) ** 2)).mean())
    assert oks_matrix(kp[None], np.zeros((0, 17, 3)), area)[0].shape == (1, 0)


# ---------------------------------------------------------------------------------------- tracker
def _run(tracker, frames, size=(480, 640)):
    return [tracker.update(f, image_size=size) for f in frames]


def test_tracker_keeps_ids_through_crossing_with_noise_and_drops():
    rng = np.random.default_rng(0)
    tracker = PoseTracker()
    gt, pred = [], []
    for t in range(90):
        people = [(80 + 5 * t, 240, 160), (560 - 5 * t, 250, 150), (320, 100 + 0.5 * t, 120)]
        boxes, scores, kpts = _frame(people, rng, box_noise=2.0, kpt_noise=3.0)
        keep = rng.random(3) > 0.1  # 10 % of detections missed
        if 40 <= t <= 44:  # at the crossing the person behind is hidden
            keep[1] = False
        out = tracker.update((boxes[keep], scores[keep], kpts[keep]), image_size=(480, 640))
        gt.append((np.arange(3), _frame(people)[0]))
        pred.append((out.ids, out.boxes))
    m = mot_metrics(gt, pred)
    assert m.id_switches == 0
    assert m.pred_tracks == 3
    assert m.idf1 > 0.85 and m.mota > 0.8
    assert m.false_positives == 0


def test_tracker_reentry_within_memory_keeps_id_and_later_gets_a_new_one():
    tracker = PoseTracker(memory=1.0, fps=30.0)
    ids = []
    for t in range(60):
        if 20 <= t < 35:  # left through the right border, comes back where it left
            out = tracker.update(_frame([]), image_size=(480, 640))
            assert len(out) == 0
            continue
        x = 560 + (t if t < 20 else 35 - t + 20)  # walking right, then back
        out = tracker.update(_frame([(x, 240, 160)]), image_size=(480, 640))
        ids.extend(out.ids.tolist())
    assert set(ids) == {1}
    for _ in range(40):  # gone for longer than the memory
        tracker.update(_frame([]), image_size=(480, 640))
    assert tracker.num_tracks == 0
    tracker.update(_frame([(560, 240, 160)]), image_size=(480, 640))
    out = tracker.update(_frame([(562, 240, 160)]), image_size=(480, 640))
    assert out.ids.tolist() == [2]


def test_tracker_low_score_extends_but_does_not_start_and_min_hits():
    tracker = PoseTracker(min_hits=3)
    out = tracker.update(_frame([(100, 100, 100)]))  # first frame: reported at once
    assert out.ids.tolist() == [1]
    b, s, k = _frame([(102, 100, 100), (400, 300, 100)])
    s[0] = 0.3  # partly occluded person scores low: the track goes on
    out = tracker.update((b, s, k))
    assert out.ids.tolist() == [1]  # the new person is tentative
    out = tracker.update(_frame([(104, 100, 100), (402, 300, 100)]))
    assert out.ids.tolist() == [1]
    out = tracker.update(_frame([(106, 100, 100), (404, 300, 100)]))
    assert out.ids.tolist() == [1, 2]
    assert out.detection_index.tolist() == [0, 1]
    b, s, k = _frame([(500, 50, 80)])
    s[:] = 0.3  # low-score detections never start a track
    tracker.update((b, s, k))
    assert tracker.num_tracks == 2


def test_tracker_reports_the_right_tracks_when_others_are_dropped_in_the_same_frame():
    tracker = PoseTracker(min_hits=2)
    tracker.update(_frame([(100, 100, 100)]))
    tracker.update(_frame([(102, 100, 100), (300, 100, 100), (500, 100, 100)]))  # two tentative tracks
    b, s, k = _frame([(104, 100, 100), (502, 100, 100)])  # the middle one vanishes, the last is confirmed
    out = tracker.update((b, s, k))
    assert out.ids.tolist() == [1, 2] and out.detection_index.tolist() == [0, 1]
    assert out.boxes[1, 0] > 400 and tracker.num_tracks == 2


def test_tracker_smooths_keypoints_and_reports_raw_when_asked():
    rng = np.random.default_rng(3)
    smooth, plain = PoseTracker(), PoseTracker(smooth=False)
    truth, got_s, got_p = [], [], []
    for t in range(80):
        frame = _frame([(100 + 3 * t, 240, 160)], rng, box_noise=2.0, kpt_noise=3.0)
        truth.append(_frame([(100 + 3 * t, 240, 160)])[2][0, :, :2])
        got_s.append(smooth.update(frame).keypoints[0, :, :2])
        p = plain.update(frame)
        assert np.array_equal(p.keypoints[0], frame[2][0].astype(np.float32))
        got_p.append(p.keypoints[0, :, :2])
    raw = jitter_metrics(np.array(truth)[10:], np.array(got_p)[10:])
    smo = jitter_metrics(np.array(truth)[10:], np.array(got_s)[10:])
    assert smo.jitter < 0.5 * raw.jitter
    assert smo.rmse < raw.rmse
    assert smo.lag <= 1


def test_tracker_inputs_and_results():
    tracker = PoseTracker()
    with pytest.raises(ConfigError, match="inconsistent"):
        tracker.update((np.zeros((2, 4)), np.zeros(3), np.zeros((2, 17, 3))))
    with pytest.raises(ConfigError, match="Poses"):
        tracker.update("not detections")
    with pytest.raises(ConfigError):
        PoseTracker(low_conf=0.6, high_conf=0.5)
    with pytest.raises(ConfigError):
        PoseTracker(smoother={"min_conf": 0.9, "full_conf": 0.5})

    class Detections:  # anything with boxes, scores and keypoints works (e.g. yolopose.Poses)
        boxes, scores, keypoints = _frame([(50, 50, 60)])

    out = tracker.update(Detections(), timestamp=1.0)
    assert len(out) == 1 and out.to_records()[0]["id"] == 1
    assert len(out.to_records()[0]["keypoints"]) == 17
    with pytest.raises(ConfigError, match="increase"):
        tracker.update(Detections(), timestamp=1.0)
    assert len(tracker.update(_frame([]), timestamp=2.0)) == 0
    assert len(out[0]) == 1 and out.labels() == ["#1"]
    with pytest.raises(ConfigError, match="must have shape"):
        TrackedPoses(np.zeros(2, dtype=np.int64), np.zeros((1, 4)), np.zeros(1), np.zeros((1, 17, 3)), np.zeros(1))
    # zero-size boxes are ignored, not tracked
    out = PoseTracker().update((np.array([[5.0, 5, 5, 9]]), np.array([0.9]), np.zeros((1, 17, 3))))
    assert len(out) == 0


# ---------------------------------------------------------------------------------------- One Euro
def test_one_euro_reduces_jitter_and_lags_little():
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    truth = np.stack([40 * np.sin(2 * np.pi * 0.25 * t) + 300, 20 * np.cos(2 * np.pi * 0.2 * t) + 200], -1)[:, None]
    meas = truth + rng.normal(0, 2.0, truth.shape)
    f = KeypointSmoother()
    out = np.stack([f(np.c_[meas[i], [0.9]], t=t[i], scale=150.0)[:, :2] for i in range(len(t))])
    raw, smo = jitter_metrics(truth, meas), jitter_metrics(truth, out)
    assert smo.jitter < 0.4 * raw.jitter
    assert smo.lag <= 2
    # a still point is held almost perfectly still
    still = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    vals = [still(200.0 + rng.normal(0, 2.0), t=i / 30) for i in range(120)]
    assert np.std(vals[30:]) < 0.5
    # a step is followed quickly when beta is large (fast motion opens the filter)
    fast, slow = OneEuroFilter(beta=5.0), OneEuroFilter(beta=0.0)
    for i in range(10):
        fast(0.0, t=i / 30), slow(0.0, t=i / 30)
    assert float(fast(100.0, t=10 / 30)) > float(slow(100.0, t=10 / 30))


def test_one_euro_confidence_and_reset():
    f = KeypointSmoother(min_conf=0.2, full_conf=0.6, reset_after=0.2)
    kp = np.array([[10.0, 10.0, 0.9], [20.0, 20.0, 0.9]])
    f(kp, t=0.0)
    out = f(np.array([[50.0, 50.0, 0.1], [24.0, 20.0, 0.9]]), t=1 / 30)
    assert out[0, :2].tolist() == [10.0, 10.0]  # unsure keypoint: position held
    assert out[0, 2] == pytest.approx(0.1)  # its confidence is reported as measured
    assert 20.0 < out[1, 0] < 24.0
    half = KeypointSmoother(min_conf=0.2, full_conf=0.6)
    full = KeypointSmoother(min_conf=0.2, full_conf=0.6)
    half(kp, t=0.0), full(kp, t=0.0)
    a = half(np.array([[20.0, 10.0, 0.4], [20, 20, 0.9]]), t=1 / 30)[0, 0]
    b = full(np.array([[20.0, 10.0, 0.9], [20, 20, 0.9]]), t=1 / 30)[0, 0]
    assert 10.0 < a < b
    for i in range(2, 20):  # keypoint 0 unseen for more than reset_after
        f(np.array([[0.0, 0.0, 0.0], [24.0, 20.0, 0.9]]), t=i / 30)
    out = f(np.array([[80.0, 80.0, 0.9], [24.0, 20.0, 0.9]]), t=20 / 30)
    assert out[0, :2].tolist() == [80.0, 80.0]  # restarts at the measurement, no slide
    with pytest.raises(ConfigError):
        OneEuroFilter(min_cutoff=0.0)
    with pytest.raises(ConfigError):
        f(kp, t=0.1)  # time went backwards
    with pytest.raises(ConfigError):
        f(np.zeros((17, 2)), t=5.0)


# ---------------------------------------------------------------------------------------- metrics
def test_mot_metrics_counts_switches_and_misses():
    box = lambda x: [x, 0, x + 10, 10]  # noqa: E731
    gt = [(np.array([1, 2]), np.array([box(0), box(50)]))] * 4
    pred = [
        (np.array([7, 8]), np.array([box(0), box(50)])),
        (np.array([7, 8]), np.array([box(0), box(50)])),
        (np.array([8, 7]), np.array([box(0), box(50)])),  # ids swapped: two switches
        (np.array([8, 9]), np.array([box(0), box(200)])),  # one miss, one false positive
    ]
    m = mot_metrics(gt, pred)
    assert (m.num_gt, m.matches, m.id_switches, m.false_negatives, m.false_positives) == (8, 7, 2, 1, 1)
    assert m.mota == pytest.approx(1 - 4 / 8)
    assert m.idf1 == pytest.approx(2 * 4 / 16)
    with pytest.raises(ConfigError):
        mot_metrics(gt, pred[:2])


# ---------------------------------------------------------------------------------------- video
def _frames(n=12, h=48, w=64):
    out = []
    for i in range(n):
        img = np.zeros((h, w, 3), dtype=np.uint8)
        img[:, :, 0] = 20 * i
        img[:, :, 1] = 200 - 10 * i
        img[8:24, 4 * i : 4 * i + 16, 2] = 255
        out.append(img)
    return out


def test_video_round_trip(tmp_path: Path):
    pytest.importorskip("cv2")
    from yolopose.video import VideoSource, VideoWriter

    frames = _frames()
    path = tmp_path / "clip.avi"
    with VideoWriter(path, fps=12.0) as writer:
        for f in frames:
            writer.write(f)
    assert path.exists() and [p.name for p in tmp_path.iterdir()] == ["clip.avi"]
    with VideoSource(path) as src:
        assert src.size == (48, 64) and src.fps == pytest.approx(12.0) and src.kind == "file"
        got = list(src)
    assert [g.index for g in got] == list(range(12))
    assert got[3].timestamp == pytest.approx(3 / 12)
    for f, g in zip(frames, got):  # MJPG is lossy: compare mean colour per channel (RGB order kept)
        assert np.abs(f.reshape(-1, 3).mean(0) - g.image.reshape(-1, 3).mean(0)).max() < 6
    with VideoSource(path, stride=4, max_frames=2) as src:
        assert src.expected_frames == 2
        assert [g.index for g in src] == [0, 4]
    mp4 = tmp_path / "clip.mp4"
    with VideoWriter(mp4, fps=25) as writer:
        for f in frames[:5]:
            writer.write(f)
    with VideoSource(mp4) as src:
        assert len(list(src)) == 5


def test_video_writer_is_atomic_and_checks_frames(tmp_path: Path):
    pytest.importorskip("cv2")
    from yolopose.video import VideoWriter

    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(path) as w:
            w.write(_frames(1)[0])
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    w = VideoWriter(path)
    w.write(_frames(1)[0])
    with pytest.raises(ConfigError, match="64x48"):
        w.write(np.zeros((10, 10, 3), dtype=np.uint8))
    with pytest.raises(ConfigError, match="uint8"):
        w.write(np.zeros((48, 64), dtype=np.uint8))
    assert w.close() == path and path.stat().st_size > 0
    with pytest.raises(ConfigError, match="unsupported video type"):
        VideoWriter(tmp_path / "x.gif")
    with pytest.raises(VideoError, match="no frames"):
        VideoWriter(tmp_path / "empty.mp4").close()
    assert not (tmp_path / "empty.mp4").exists()


def test_video_sources_errors_and_folders(tmp_path: Path):
    from PIL import Image

    from yolopose.video import VideoSource, draw_fps

    with pytest.raises(VideoError, match="no such file"):
        VideoSource(tmp_path / "missing.mp4")
    with pytest.raises(VideoError, match="no images"):
        VideoSource(tmp_path)
    for i, f in enumerate(_frames(5)):
        Image.fromarray(f).save(tmp_path / f"{i:03d}.png")
    with VideoSource(tmp_path, fps=10) as src:
        got = list(src)
        assert src.kind == "folder" and src.size == (48, 64) and not src.is_live
    assert [g.index for g in got] == [0, 1, 2, 3, 4] and got[2].timestamp == pytest.approx(0.2)
    assert np.array_equal(got[4].image, _frames(5)[4])
    with pytest.raises(ConfigError):
        VideoSource(tmp_path, stride=0)
    img = draw_fps(_frames(1)[0], 29.97)
    assert img.shape == (48, 64, 3) and not np.array_equal(img, _frames(1)[0])
    pytest.importorskip("cv2")
    (tmp_path / "bad.mp4").write_bytes(b"\x00not a video" * 50)
    with pytest.raises(VideoError, match="bad.mp4"):
        list(VideoSource(tmp_path / "bad.mp4"))
    with pytest.raises(VideoError) as err:
        VideoSource("rtsp://user:secret@127.0.0.1:9/stream")
    assert "secret" not in str(err.value)


# ---------------------------------------------------------------------------------------- stream and CLI
@pytest.fixture()
def tiny_model(tiny_onnx: Path) -> Path:
    pytest.importorskip("onnxruntime")
    return tiny_onnx


def _image_folder(folder: Path, n: int = 6) -> Path:
    from PIL import Image

    folder.mkdir()
    for i, f in enumerate(_frames(n)):
        Image.fromarray(f).save(folder / f"{i:03d}.png")
    return folder


def test_estimator_stream_yields_frames_and_tracked_poses(tmp_path: Path, tiny_model: Path):
    from yolopose import PoseEstimator, Poses

    est = PoseEstimator(tiny_model)
    folder = _image_folder(tmp_path / "frames")
    plain = list(est.stream(folder, max_frames=3))
    assert len(plain) == 3 and plain[0][0].shape == (48, 64, 3) and isinstance(plain[0][1], Poses)
    tracked = list(est.stream(folder, stride=2, track=True))
    assert len(tracked) == 3
    ids = [p.ids.tolist() for _, p in tracked]
    assert ids[0] and all(i == ids[0] for i in ids)  # the same people every frame: the same ids
    assert all(isinstance(p, TrackedPoses) for _, p in tracked)


def test_track_cli_json_lines_and_video(tmp_path: Path, tiny_model: Path):
    import json

    from click.testing import CliRunner

    from yolopose.cli import main

    folder = _image_folder(tmp_path / "frames")
    result = CliRunner().invoke(main, ["track", str(folder), "--model", str(tiny_model), "--json", "--max-frames", "4", "--fps", "10"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [line["frame"] for line in lines] == [0, 1, 2, 3]
    assert lines[1]["time"] == pytest.approx(0.1)
    person = lines[0]["people"][0]
    assert set(person) == {"id", "box", "score", "keypoints"} and len(person["keypoints"]) == 17
    assert [p["id"] for p in lines[3]["people"]] == [p["id"] for p in lines[0]["people"]]
    missing = CliRunner().invoke(main, ["track", str(tmp_path / "nope.mp4"), "--model", str(tiny_model)])
    assert missing.exit_code != 0 and "no such file" in missing.output
    pytest.importorskip("cv2")
    from yolopose.video import VideoSource

    out = tmp_path / "tracked.mp4"
    result = CliRunner().invoke(main, ["track", str(folder), "--model", str(tiny_model), "--save", str(out)])
    assert result.exit_code == 0, result.output
    with VideoSource(out) as src:
        assert len(list(src)) == 6
